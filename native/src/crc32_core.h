// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, zlib convention) kernels and the runtime dispatcher.
#pragma once
#include <cstddef>
#include <cstdint>

namespace abu {

// "Raw" kernels work on the CRC register without zlib's pre/post inversion, so they chain:
// Raw(Raw(s, a), b) == Raw(s, a ++ b). Crc32() applies the inversions and matches zlib's crc32(crc, buf, len).
uint32_t Crc32RawTable(uint32_t state, const uint8_t* p, size_t n);   // slice-by-8, any CPU
uint32_t Crc32RawPclmul(uint32_t state, const uint8_t* p, size_t n);  // PCLMULQDQ folding, x86-64 only
bool Crc32PclmulAvailable();

/** zlib-compatible CRC-32: Crc32(Crc32(0, a), b) == Crc32(0, a ++ b). Uses PCLMUL when the CPU has it. */
uint32_t Crc32(uint32_t crc, const uint8_t* p, size_t n);
/** "pclmul" or "slice-by-8": which kernel Crc32() dispatches to on this CPU. */
const char* Crc32Kernel();

/** The fold constants used by the PCLMUL kernel, in order k1..k4 (see crc32_pclmul.cc for the derivation). */
struct Crc32FoldConstants { uint64_t k[4]; };
Crc32FoldConstants Crc32PclmulConstants();

}  // namespace abu
