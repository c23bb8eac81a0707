// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, zlib convention) kernels and the runtime dispatcher.
#pragma once
#include <cstddef>
#include <cstdint>

namespace abu {

// "Raw" kernels work on the CRC register without zlib's pre/post inversion, so they chain:
// Raw(Raw(s, a), b) == Raw(s, a ++ b). Crc32() applies the inversions and matches zlib's crc32(crc, buf, len).
using Crc32RawFn = uint32_t (*)(uint32_t state, const uint8_t* p, size_t n);
uint32_t Crc32RawTable(uint32_t state, const uint8_t* p, size_t n);    // slice-by-8, any CPU
uint32_t Crc32RawPclmul(uint32_t state, const uint8_t* p, size_t n);   // 128-bit PCLMULQDQ folding
uint32_t Crc32RawVpclmul(uint32_t state, const uint8_t* p, size_t n);  // 512-bit VPCLMULQDQ (AVX-512) folding

struct Crc32Kernel {
  const char* name;  // "vpclmul-avx512", "pclmul", "slice-by-8"
  Crc32RawFn raw;
  bool available;    // the CPU (and OS) support it
};

/** Every kernel, fastest first; the last one (slice-by-8) is always available. */
const Crc32Kernel* Crc32Kernels(size_t* count);
/** The kernel Crc32() uses: the first available one. */
const Crc32Kernel& Crc32Best();

/** zlib-compatible CRC-32: Crc32(Crc32(0, a), b) == Crc32(0, a ++ b). Uses the fastest kernel the CPU has. */
uint32_t Crc32(uint32_t crc, const uint8_t* p, size_t n);

bool Crc32PclmulAvailable();
bool Crc32VpclmulAvailable();

}  // namespace abu
