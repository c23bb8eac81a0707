// GRUB environment block codec without Node (grub-core/lib/envblk.c layout); grub_env.cc is its N-API glue,
// and fuzz/native/ calls these directly.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace abu {

struct GrubEnv {
  std::vector<std::pair<std::string, std::string>> entries;  // values unescaped
  std::vector<std::string> comments;                         // '#' lines other than signature and padding
};

/** Parses a block; false with `*err` saying where when it is malformed. */
bool GrubDecode(const uint8_t* p, size_t n, GrubEnv* out, std::string* err);

enum class GrubEncodeResult { kOk, kBadComment, kBadName, kFull };

/**
 * Lays a block of exactly `size` bytes out, '#'-padded, as grub-editenv does. On failure `*detail` holds the
 * offending name (kBadName) or the byte count needed (kFull).
 */
GrubEncodeResult GrubEncode(const GrubEnv& env, size_t size, std::string* out, std::string* detail);

}  // namespace abu
