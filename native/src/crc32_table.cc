// Slice-by-8 table CRC-32: the portable fallback and the tail handler of the PCLMUL kernel.
#include <array>
#include <cstring>

#include "crc32_core.h"

namespace abu {
namespace {

using Tables = std::array<std::array<uint32_t, 256>, 8>;

// T[0] is the classic byte-at-a-time table; T[k][i] is the CRC of byte i followed by k zero bytes,
// which lets eight table look-ups consume eight input bytes at once.
Tables BuildTables() {
  Tables t{};
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int b = 0; b < 8; b++) c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    t[0][i] = c;
  }
  for (int k = 1; k < 8; k++)
    for (uint32_t i = 0; i < 256; i++) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
  return t;
}

const Tables& T() {
  static const Tables tables = BuildTables();
  return tables;
}

inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);  // little-endian host assumed (x86-64, aarch64)
  return v;
}

}  // namespace

uint32_t Crc32RawTable(uint32_t c, const uint8_t* p, size_t n) {
  const Tables& t = T();
  while (n >= 8) {
    uint32_t one = Load32(p) ^ c;
    uint32_t two = Load32(p + 4);
    c = t[7][one & 0xFF] ^ t[6][(one >> 8) & 0xFF] ^ t[5][(one >> 16) & 0xFF] ^ t[4][one >> 24] ^
        t[3][two & 0xFF] ^ t[2][(two >> 8) & 0xFF] ^ t[1][(two >> 16) & 0xFF] ^ t[0][two >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFF];
  return c;
}

const Crc32Kernel* Crc32Kernels(size_t* count) {
  static const Crc32Kernel kernels[] = {
      {"vpclmul-avx512", Crc32RawVpclmul, Crc32VpclmulAvailable()},
      {"pclmul", Crc32RawPclmul, Crc32PclmulAvailable()},
      {"slice-by-8", Crc32RawTable, true},
  };
  *count = sizeof kernels / sizeof kernels[0];
  return kernels;
}

const Crc32Kernel& Crc32Best() {
  static const Crc32Kernel& best = [] () -> const Crc32Kernel& {
    size_t n = 0;
    const Crc32Kernel* k = Crc32Kernels(&n);
    size_t i = 0;
    while (!k[i].available) i++;  // terminates: slice-by-8 is always available
    return k[i];
  }();
  return best;
}

uint32_t Crc32(uint32_t crc, const uint8_t* p, size_t n) { return ~Crc32Best().raw(~crc, p, n); }

}  // namespace abu
