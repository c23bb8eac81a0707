// U-Boot environment codec without Node: CRC check, entry walk, encode and the redundant copy choice.
// Kept free of N-API so the libFuzzer harnesses (fuzz/native/) call exactly what the addon runs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace abu {

struct UbootLayout {
  bool redundant = false;
  bool bigEndian = false;
  size_t Header() const { return redundant ? 5 : 4; }
};

/** True when the copy is longer than its header and the stored CRC matches the data area. */
bool UbootCrcValid(const uint8_t* p, size_t n, const UbootLayout& l);

/** Entries of a data area (`k=v\0...\0\0`, or `k=v\0` up to the last byte); false when an entry has no NUL. */
bool UbootParseEntries(const uint8_t* d, size_t n, std::vector<std::string>* out);

enum class UbootEncodeResult { kOk, kBadEntry, kFull };

/**
 * Lays `entries` out in a copy of `size` bytes (0x00 padding, CRC, flags when redundant). kBadEntry: an entry is
 * empty or holds a NUL; kFull: they do not fit (`*need` is the byte count they need, terminator included: unlike fw_setenv,
 * abu never fills the area to its last byte, see the .cc).
 */
UbootEncodeResult UbootEncode(const std::vector<std::string>& entries, size_t size, const UbootLayout& l,
                              uint8_t flags, std::vector<uint8_t>* out, size_t* need);

/** env/common.c env_check_redund: which copy U-Boot loads (0, 1, or -1 when neither CRC is valid). */
int UbootSelectCopy(bool ok0, bool ok1, uint8_t f0, uint8_t f1);

}  // namespace abu
