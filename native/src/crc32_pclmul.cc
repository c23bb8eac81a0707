// PCLMULQDQ folding CRC-32 kernel (x86-64), after Intel's "Fast CRC Computation Using PCLMULQDQ".
//
// Four 128-bit lanes fold 64 bytes per step (distance 512 bits), are merged into one lane (distance 128),
// which then folds the remaining 16-byte blocks. Constants and their derivation: crc32_fold_constants.h.
// Instead of a Barrett reduction, the last folded lane is fed to the table kernel with state 0: the lane
// has the same residue as the bytes it replaced, so Raw(0, lane ++ tail) is the CRC register.
#include "crc32_core.h"
#include "crc32_fold_constants.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace abu {
namespace {

#define ABU_PCLMUL __attribute__((target("pclmul,sse2")))

ABU_PCLMUL inline __m128i Pair(const Crc32FoldPair& k) {
  return _mm_set_epi64x(static_cast<long long>(k.high), static_cast<long long>(k.low));
}

ABU_PCLMUL inline __m128i Fold(__m128i lane, __m128i next, __m128i k) {
  __m128i lo = _mm_clmulepi64_si128(lane, k, 0x00);  // low qword * low multiplier
  __m128i hi = _mm_clmulepi64_si128(lane, k, 0x11);  // high qword * high multiplier
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
  const __m128i k512 = Pair(kFold512);
  for (; n >= 64; p += 64, n -= 64) {
    x0 = Fold(x0, Load(p), k512);
    x1 = Fold(x1, Load(p + 16), k512);
    x2 = Fold(x2, Load(p + 32), k512);
    x3 = Fold(x3, Load(p + 48), k512);
  }
  const __m128i k128 = Pair(kFold128);
  __m128i x = Fold(Fold(Fold(x0, x1, k128), x2, k128), x3, k128);
  for (; n >= 16; p += 16, n -= 16) x = Fold(x, Load(p), k128);
  alignas(16) uint8_t lane[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(lane), x);
  return Crc32RawTable(Crc32RawTable(0, lane, 16), p, n);
}

bool Crc32PclmulAvailable() {
  static const bool ok = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse2");
  return ok;
}

}  // namespace abu

#else  // not x86-64: the table kernel is the only one

namespace abu {
uint32_t Crc32RawPclmul(uint32_t state, const uint8_t* p, size_t n) { return Crc32RawTable(state, p, n); }
bool Crc32PclmulAvailable() { return false; }
}  // namespace abu

#endif
