// libFuzzer target: the 32-byte Android bootloader_control through the addon's codec. Inputs are padded or cut
// to 32 bytes. Property: whatever decodes within the bitfields' ranges re-encodes, over the same bytes as base,
// to exactly the input (bar bytes after the suffix's NUL, which the field cannot carry) with a valid CRC.
#include <cstdint>
#include <cstring>

#include "android_boot_control_codec.h"
#include "fuzz_check.h"

using namespace abu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint8_t in[kBootControlSize] = {0};
  memcpy(in, data, size < kBootControlSize ? size : kBootControlSize);
  BootControl c;
  BootControlDecode(in, &c);
  FUZZ_CHECK(c.slotSuffix.size() <= 4, "suffix longer than its field");
  if (!BootControlCheck(c).empty()) return 0;  // nb_slot 5..7 or a 4-byte suffix: decodable, not writable
  uint8_t out[kBootControlSize];
  memcpy(out, in, kBootControlSize);
  BootControlEncode(c, out);
  uint8_t expect[kBootControlSize];
  memcpy(expect, in, kBootControlSize);
  memset(expect + c.slotSuffix.size(), 0, 4 - c.slotSuffix.size());
  FUZZ_CHECK(memcmp(out, expect, 28) == 0, "re-encoded fields differ from the decoded bytes");
  BootControl again;
  BootControlDecode(out, &again);
  FUZZ_CHECK(again.crcValid, "re-encoded struct has a bad CRC");
  // A struct that was already consistent comes back byte for byte, CRC included.
  if (c.crcValid && memcmp(expect, in, 4) == 0) FUZZ_CHECK(memcmp(out, in, kBootControlSize) == 0, "valid struct not reproduced");
  return 0;
}
