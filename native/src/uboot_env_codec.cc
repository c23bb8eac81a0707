// U-Boot environment codec without Node (see uboot_env_codec.h); uboot_env.cc is its N-API glue.
#include "uboot_env_codec.h"

#include <cstring>

#include "bootenv_bytes.h"
#include "crc32_core.h"

namespace abu {

// The CRC covers the whole data area, padding included (env_internal.h), stored in the target's byte order.
bool UbootCrcValid(const uint8_t* p, size_t n, const UbootLayout& l) {
  if (n <= l.Header()) return false;
  return ReadU32(p, l.bigEndian) == Crc32(0, p + l.Header(), n - l.Header());
}

// Entries end at NUL; the list ends at an empty entry or at the end of the data area, which an env filled to
// its last byte reaches with no empty entry (fw_setenv writes such envs; U-Boot's himport_r and fw_printenv
// read them). An entry running off the end without its NUL is an error.
bool UbootParseEntries(const uint8_t* d, size_t n, std::vector<std::string>* out) {
  size_t pos = 0;
  while (pos < n && d[pos] != 0) {
    const void* nul = memchr(d + pos, 0, n - pos);
    if (nul == nullptr) return false;  // the last entry runs off the end
    size_t end = static_cast<const uint8_t*>(nul) - d;
    out->emplace_back(reinterpret_cast<const char*>(d + pos), end - pos);
    pos = end + 1;
  }
  return true;
}

UbootEncodeResult UbootEncode(const std::vector<std::string>& entries, size_t size, const UbootLayout& l,
                              uint8_t flags, std::vector<uint8_t>* out, size_t* need) {
  *need = 1;
  for (const auto& e : entries) {
    if (e.empty() || e.find('\0') != std::string::npos) return UbootEncodeResult::kBadEntry;
    *need += e.size() + 1;
  }
  // Always room for the empty entry that ends the list, as U-Boot's saveenv (hexport_r) leaves it: fw_setenv may
  // fill the area to its last byte, but libubootenv's reader then looks one byte past the area and reads such an
  // env only when that byte happens to be NUL (seen both ways with libubootenv 0.3.2), so abu never writes one.
  if (size <= l.Header() || *need > size - l.Header()) return UbootEncodeResult::kFull;
  out->assign(size, 0);
  uint8_t* p = out->data();
  size_t pos = l.Header();
  for (const auto& e : entries) {
    memcpy(p + pos, e.data(), e.size());
    pos += e.size() + 1;
  }
  if (l.redundant) p[4] = flags;
  WriteU32(p, Crc32(0, p + l.Header(), size - l.Header()), l.bigEndian);
  return UbootEncodeResult::kOk;
}

// CRC first; then the serial flag counter, 255 -> 0 wraps; equal -> copy 1 (index 0).
int UbootSelectCopy(bool ok0, bool ok1, uint8_t f0, uint8_t f1) {
  if (!ok0 && !ok1) return -1;
  if (!ok1) return 0;
  if (!ok0) return 1;
  if (f0 == 255 && f1 == 0) return 1;
  if (f1 == 255 && f0 == 0) return 0;
  return f1 > f0 ? 1 : 0;
}

}  // namespace abu
