// PCLMULQDQ folding CRC-32 kernel (x86-64), after Intel's "Fast CRC Computation Using PCLMULQDQ".
//
// Derivation of the fold constants (P = 0x104C11DB7, data bit-reflected as the IEEE CRC is):
// a 128-bit lane loaded little-endian holds, in register bit j, the coefficient of x^(127-j) measured
// from the lane's end. Split a lane into its low qword (value x^64*A) and high qword (value B).
// A constant b = reflect32(r) << 1 is r (degree < 32) reversed over 33 bits, so the carry-less product
// of a reflected qword A with b has bit m = coefficient of x^(95-m) of A*r; read as a 128-bit lane that
// is the value x^32*A*r. Moving a lane D bits forward must preserve its value mod P:
//   low qword:  x^32*A*r == x^(D+64)*A  =>  r = x^(D+32) mod P
//   high qword: x^32*B*r == x^D*B       =>  r = x^(D-32) mod P
// D = 512 (four lanes in flight) gives k1, k2; D = 128 (one lane) gives k3, k4. The values below were
// computed with a shift-and-xor x^e mod P loop; test/unit/native/crc32-constants.test.ts re-derives
// them in BigInt and checks these exact numbers.
// Instead of a Barrett reduction, the last folded lane is fed to the table kernel with state 0: the
// lane has the same residue as the bytes it replaced, so Raw(0, lane ++ tail) is the CRC register.
#include "crc32_core.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace abu {
namespace {

constexpr uint64_t kK1 = 0x154442bd4;  // reflect32(x^(512+32) mod P) << 1
constexpr uint64_t kK2 = 0x1c6e41596;  // reflect32(x^(512-32) mod P) << 1
constexpr uint64_t kK3 = 0x1751997d0;  // reflect32(x^(128+32) mod P) << 1
constexpr uint64_t kK4 = 0x0ccaa009e;  // reflect32(x^(128-32) mod P) << 1

#define ABU_PCLMUL __attribute__((target("pclmul,sse2")))

ABU_PCLMUL inline __m128i Fold(__m128i lane, __m128i next, __m128i k) {
  __m128i lo = _mm_clmulepi64_si128(lane, k, 0x00);  // low qword * k1|k3
  __m128i hi = _mm_clmulepi64_si128(lane, k, 0x11);  // high qword * k2|k4
  return _mm_xor_si128(_mm_xor_si128(next, lo), hi);
}

ABU_PCLMUL inline __m128i Load(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }

}  // namespace

ABU_PCLMUL uint32_t Crc32RawPclmul(uint32_t state, const uint8_t* p, size_t n) {
  if (n < 64) return Crc32RawTable(state, p, n);  // folding only pays off past a few lanes
  __m128i x0 = _mm_xor_si128(Load(p), _mm_cvtsi32_si128(static_cast<int>(state)));
  __m128i x1 = Load(p + 16), x2 = Load(p + 32), x3 = Load(p + 48);
  p += 64;
  n -= 64;
  const __m128i k12 = _mm_set_epi64x(static_cast<long long>(kK2), static_cast<long long>(kK1));
  for (; n >= 64; p += 64, n -= 64) {
    x0 = Fold(x0, Load(p), k12);
    x1 = Fold(x1, Load(p + 16), k12);
    x2 = Fold(x2, Load(p + 32), k12);
    x3 = Fold(x3, Load(p + 48), k12);
  }
  const __m128i k34 = _mm_set_epi64x(static_cast<long long>(kK4), static_cast<long long>(kK3));
  __m128i x = Fold(Fold(Fold(x0, x1, k34), x2, k34), x3, k34);
  for (; n >= 16; p += 16, n -= 16) x = Fold(x, Load(p), k34);
  alignas(16) uint8_t lane[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(lane), x);
  return Crc32RawTable(Crc32RawTable(0, lane, 16), p, n);
}

bool Crc32PclmulAvailable() {
  static const bool ok = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse2");
  return ok;
}

Crc32FoldConstants Crc32PclmulConstants() { return {{kK1, kK2, kK3, kK4}}; }

}  // namespace abu

#else  // not x86-64: the table kernel is the only one

namespace abu {
uint32_t Crc32RawPclmul(uint32_t state, const uint8_t* p, size_t n) { return Crc32RawTable(state, p, n); }
bool Crc32PclmulAvailable() { return false; }
Crc32FoldConstants Crc32PclmulConstants() { return {{0x154442bd4, 0x1c6e41596, 0x1751997d0, 0x0ccaa009e}}; }
}  // namespace abu

#endif
