// GRUB environment block codec without Node (grub-core/lib/envblk.c layout); grub_env.cc is its N-API glue,
// and fuzz/native/ calls these directly.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace abu {

/**
 * One line of the block as GRUB walks it. A variable has the name and value GRUB's hooks see (C strings: cut
 * at a NUL; the value unescaped); a comment is a '#' line. `raw` holds the stored bytes, ending in '\n': an
 * item with `raw` is written back byte for byte; a variable without it is laid out from name and value.
 */
struct GrubItem {
  bool comment = false;
  std::string name, value, raw;
};

struct GrubEnv {
  std::vector<GrubItem> items;
  /** Bytes from where GRUB stops reading (the '#' padding, or a broken last line) to the end of the block. */
  std::string tail;
};

/** Parses a block as grub_envblk_iterate does; false (with `*err`) only when the signature is missing. */
bool GrubDecode(const uint8_t* p, size_t n, GrubEnv* out, std::string* err);

enum class GrubEncodeResult { kOk, kBadComment, kBadName, kBadValue, kFull };

/**
 * Lays a block of exactly `size` bytes out: the items in order, then the tail fitted to the size (see
 * grub_env_codec.cc). On failure `*detail` holds the offending name (kBadName, kBadValue) or the byte count
 * needed (kFull).
 */
GrubEncodeResult GrubEncode(const GrubEnv& env, size_t size, std::string* out, std::string* detail);

/** True when the tail is only padding ('#', NUL, space): GRUB reads nothing there and abu may re-pad it. */
bool GrubTailIsPadding(const std::string& tail);

}  // namespace abu
