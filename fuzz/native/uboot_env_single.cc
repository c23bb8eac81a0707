// libFuzzer target: one U-Boot env copy (CONFIG_ENV_SIZE bytes, no flags byte) through the addon's codec.
// Byte 0 picks the layout: bit 0 big-endian CRC, bit 1 "stamp a valid CRC first" so mutations reach the entry
// walk instead of dying at the CRC. Property: a copy either fails its CRC, or is refused as unterminated, or its
// entries (unless they fill the area to its last byte, which abu reads but never writes) re-encode into a copy of the same size that decodes to the same entries.
#include <cstdint>
#include <string>
#include <vector>

#include "crc32_core.h"
#include "fuzz_check.h"
#include "uboot_env_codec.h"

using namespace abu;

static void RoundTrip(const std::vector<std::string>& entries, size_t size, const UbootLayout& l, uint8_t flags) {
  std::vector<uint8_t> copy;
  size_t need = 0;
  UbootEncodeResult r = UbootEncode(entries, size, l, flags, &copy, &need);
  // An env filled to its last byte (fw_setenv writes them) is read, but abu writes the terminator: one byte more.
  if (need == size - l.Header() + 1) {
    FUZZ_CHECK(r == UbootEncodeResult::kFull, "a full env re-encoded without its terminator");
    return;
  }
  FUZZ_CHECK(r == UbootEncodeResult::kOk, "decoded entries do not re-encode");
  FUZZ_CHECK(copy.size() == size && UbootCrcValid(copy.data(), copy.size(), l), "re-encoded copy has a bad CRC or size");
  std::vector<std::string> again;
  FUZZ_CHECK(UbootParseEntries(copy.data() + l.Header(), size - l.Header(), &again), "re-encoded copy unterminated");
  FUZZ_CHECK(again == entries, "entries changed across a round trip");
  if (l.redundant) FUZZ_CHECK(copy[4] == flags, "flags byte not kept");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  UbootLayout l;
  l.bigEndian = data[0] & 1;
  std::vector<uint8_t> copy(data + 1, data + size);
  if ((data[0] & 2) && copy.size() > l.Header()) {
    uint32_t crc = Crc32(0, copy.data() + l.Header(), copy.size() - l.Header());
    for (int i = 0; i < 4; i++) copy[l.bigEndian ? 3 - i : i] = static_cast<uint8_t>(crc >> (8 * i));
  }
  if (!UbootCrcValid(copy.data(), copy.size(), l)) return 0;
  std::vector<std::string> entries;
  if (!UbootParseEntries(copy.data() + l.Header(), copy.size() - l.Header(), &entries)) return 0;
  RoundTrip(entries, copy.size(), l, 0);
  return 0;
}
