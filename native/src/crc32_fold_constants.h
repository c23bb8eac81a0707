// Fold constants for the PCLMULQDQ/VPCLMULQDQ CRC-32 kernels, with their derivation.
//
// P = 0x104C11DB7 (the IEEE polynomial with its x^32 term); the data is bit-reflected, as the IEEE CRC is.
// A 128-bit lane loaded little-endian holds, in register bit j, the coefficient of x^(127-j) measured from
// the lane's end. Split a lane into its low qword (value x^64*A) and high qword (value B). A constant
// b = reflect32(r) << 1 is r (degree < 32) reversed over 33 bits, so the carry-less product of a reflected
// qword A with b has bit m = coefficient of x^(95-m) of A*r; read as a 128-bit lane, that is x^32*A*r.
// Moving a lane D bits towards the end of the message must preserve its value mod P:
//   low qword:  x^32*A*r == x^(D+64)*A  =>  r = x^(D+32) mod P   (multiplier for the low qword)
//   high qword: x^32*B*r == x^D*B       =>  r = x^(D-32) mod P   (multiplier for the high qword)
// The values below were computed with a shift-and-xor loop for x^e mod P (multiply by x, xor P when the
// x^32 term appears), then reflected; test/unit/native/crc32-constants.test.ts re-derives every pair.
#pragma once
#include <cstdint>

namespace abu {

struct Crc32FoldPair {
  unsigned distanceBits;  // D
  uint64_t low;           // reflect32(x^(D+32) mod P) << 1
  uint64_t high;          // reflect32(x^(D-32) mod P) << 1
};

constexpr Crc32FoldPair kFold128{128, 0x1751997d0, 0x0ccaa009e};    // one lane to the next
constexpr Crc32FoldPair kFold256{256, 0x0f1da05aa, 0x15a546366};    // zmm lane 1 -> lane 3
constexpr Crc32FoldPair kFold384{384, 0x03db1ecdc, 0x174359406};    // zmm lane 0 -> lane 3
constexpr Crc32FoldPair kFold512{512, 0x154442bd4, 0x1c6e41596};    // 4 xmm lanes in flight, or zmm to zmm
constexpr Crc32FoldPair kFold2048{2048, 0x11542778a, 0x1322d1430};  // 4 zmm registers in flight

constexpr Crc32FoldPair kAllFoldPairs[] = {kFold128, kFold256, kFold384, kFold512, kFold2048};

}  // namespace abu
