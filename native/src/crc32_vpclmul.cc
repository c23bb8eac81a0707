// VPCLMULQDQ (AVX-512) folding CRC-32 kernel: the PCLMUL scheme on four 512-bit registers, 256 bytes per step.
//
// Each zmm holds four consecutive 128-bit lanes and folds them all at once with broadcast constants.
// Four zmm in flight fold over 2048 bits; they merge into one zmm (512 bits apart), which folds the
// remaining 64-byte blocks; its four lanes then collapse into one (lanes 0, 1, 2 are 384, 256, 128 bits
// before lane 3). Constants and their derivation: crc32_fold_constants.h.
#include <cstring>

#include "crc32_core.h"
#include "crc32_fold_constants.h"

#if defined(__x86_64__)
// GCC 12's AVX-512 headers build broadcasts and extracts from _mm512_undefined_*(), which
// -Wmaybe-uninitialized reports as a false positive wherever they inline; silence it for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

namespace abu {
namespace {

#define ABU_VPCLMUL __attribute__((target("avx512f,vpclmulqdq,pclmul,sse2")))

ABU_VPCLMUL inline __m512i Broadcast(const Crc32FoldPair& k) {
  return _mm512_broadcast_i32x4(_mm_set_epi64x(static_cast<long long>(k.high), static_cast<long long>(k.low)));
}

ABU_VPCLMUL inline __m512i Fold(__m512i lanes, __m512i next, __m512i k) {
  __m512i lo = _mm512_clmulepi64_epi128(lanes, k, 0x00);
  __m512i hi = _mm512_clmulepi64_epi128(lanes, k, 0x11);
  return _mm512_ternarylogic_epi64(next, lo, hi, 0x96);  // next ^ lo ^ hi
}

// One 128-bit lane moved D bits forward, with nothing to fold it into yet.
ABU_VPCLMUL inline __m128i Shift(__m128i lane, const Crc32FoldPair& k) {
  __m128i kk = _mm_set_epi64x(static_cast<long long>(k.high), static_cast<long long>(k.low));
  return _mm_xor_si128(_mm_clmulepi64_si128(lane, kk, 0x00), _mm_clmulepi64_si128(lane, kk, 0x11));
}

ABU_VPCLMUL inline __m512i Load(const uint8_t* p) { return _mm512_loadu_si512(p); }

ABU_VPCLMUL __m128i Collapse(__m512i z) {
  __m128i x = _mm512_extracti32x4_epi32(z, 3);
  x = _mm_xor_si128(x, Shift(_mm512_extracti32x4_epi32(z, 0), kFold384));
  x = _mm_xor_si128(x, Shift(_mm512_extracti32x4_epi32(z, 1), kFold256));
  return _mm_xor_si128(x, Shift(_mm512_extracti32x4_epi32(z, 2), kFold128));
}

}  // namespace

ABU_VPCLMUL uint32_t Crc32RawVpclmul(uint32_t state, const uint8_t* p, size_t n) {
  if (n < 256) return Crc32RawPclmul(state, p, n);
  __m512i z0 = _mm512_xor_si512(Load(p), _mm512_zextsi128_si512(_mm_cvtsi32_si128(static_cast<int>(state))));
  __m512i z1 = Load(p + 64), z2 = Load(p + 128), z3 = Load(p + 192);
  p += 256;
  n -= 256;
  const __m512i k2048 = Broadcast(kFold2048);
  for (; n >= 256; p += 256, n -= 256) {
    z0 = Fold(z0, Load(p), k2048);
    z1 = Fold(z1, Load(p + 64), k2048);
    z2 = Fold(z2, Load(p + 128), k2048);
    z3 = Fold(z3, Load(p + 192), k2048);
  }
  const __m512i k512 = Broadcast(kFold512);
  __m512i z = Fold(Fold(Fold(z0, z1, k512), z2, k512), z3, k512);
  for (; n >= 64; p += 64, n -= 64) z = Fold(z, Load(p), k512);
  // Fewer than 64 bytes left: finish lane ++ tail with the table kernel (as in crc32_pclmul.cc).
  alignas(16) uint8_t rest[16 + 64];
  _mm_store_si128(reinterpret_cast<__m128i*>(rest), Collapse(z));
  std::memcpy(rest + 16, p, n);
  return Crc32RawTable(0, rest, 16 + n);
}

bool Crc32VpclmulAvailable() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq") &&
                         Crc32PclmulAvailable();
  return ok;
}

}  // namespace abu

#else  // not x86-64

namespace abu {
uint32_t Crc32RawVpclmul(uint32_t state, const uint8_t* p, size_t n) { return Crc32RawTable(state, p, n); }
bool Crc32VpclmulAvailable() { return false; }
}  // namespace abu

#endif
