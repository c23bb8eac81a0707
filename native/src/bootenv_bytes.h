// Byte-order helpers shared by the boot-environment codecs (no Node dependency).
#pragma once
#include <cstdint>

namespace abu {

inline uint32_t ReadU32(const uint8_t* p, bool bigEndian) {
  return bigEndian ? (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]
                   : (uint32_t(p[3]) << 24) | (uint32_t(p[2]) << 16) | (uint32_t(p[1]) << 8) | p[0];
}

inline void WriteU32(uint8_t* p, uint32_t v, bool bigEndian) {
  for (int i = 0; i < 4; i++) p[bigEndian ? 3 - i : i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace abu
