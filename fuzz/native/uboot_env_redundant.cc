// libFuzzer target: a redundant U-Boot env pair (CONFIG_ENV_REDUNDANT: CRC, flags byte, data) through the addon's
// codec. Byte 0: bit 0 big-endian, bits 1-2 stamp a valid CRC on copy 0 / copy 1; the rest splits into two
// equal-size copies. Properties: the copy chosen has a valid CRC (-1 only when neither has), the choice follows
// U-Boot's serial counter (a newer copy wins, 255 -> 0 wraps), and a terminated choice round-trips with its flags.
#include <cstdint>
#include <string>
#include <vector>

#include "crc32_core.h"
#include "fuzz_check.h"
#include "uboot_env_codec.h"

using namespace abu;

static void StampCrc(std::vector<uint8_t>* c, const UbootLayout& l) {
  if (c->size() <= l.Header()) return;
  uint32_t crc = Crc32(0, c->data() + l.Header(), c->size() - l.Header());
  for (int i = 0; i < 4; i++) (*c)[l.bigEndian ? 3 - i : i] = static_cast<uint8_t>(crc >> (8 * i));
}

static void CheckChoice(int index, bool ok0, bool ok1, uint8_t f0, uint8_t f1) {
  FUZZ_CHECK((index == -1) == (!ok0 && !ok1), "no copy chosen while one is valid, or an invalid pair chosen");
  if (index == 0) FUZZ_CHECK(ok0, "chose copy 0 with a bad CRC");
  if (index == 1) FUZZ_CHECK(ok1, "chose copy 1 with a bad CRC");
  if (ok0 && ok1) {
    // The counter only moves forward by one per save, so "newer" is f1 == f0 + 1 (mod 256) or any larger f1.
    bool oneNewer = (f0 == 255 && f1 == 0) || (!(f1 == 255 && f0 == 0) && f1 > f0);
    FUZZ_CHECK(index == (oneNewer ? 1 : 0), "both valid: the choice does not follow the flags counter");
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  UbootLayout l;
  l.redundant = true;
  l.bigEndian = data[0] & 1;
  size_t half = (size - 1) / 2;
  std::vector<uint8_t> c0(data + 1, data + 1 + half), c1(data + 1 + half, data + 1 + 2 * half);
  if (data[0] & 2) StampCrc(&c0, l);
  if (data[0] & 4) StampCrc(&c1, l);
  bool ok0 = UbootCrcValid(c0.data(), c0.size(), l), ok1 = UbootCrcValid(c1.data(), c1.size(), l);
  uint8_t f0 = ok0 ? c0[4] : 0, f1 = ok1 ? c1[4] : 0;
  int index = UbootSelectCopy(ok0, ok1, f0, f1);
  CheckChoice(index, ok0, ok1, f0, f1);
  if (index < 0) return 0;
  const std::vector<uint8_t>& chosen = index == 0 ? c0 : c1;
  std::vector<std::string> entries, again;
  if (!UbootParseEntries(chosen.data() + l.Header(), chosen.size() - l.Header(), &entries)) return 0;
  std::vector<uint8_t> copy;
  size_t need = 0;
  UbootEncodeResult r = UbootEncode(entries, chosen.size(), l, chosen[4], &copy, &need);
  // Filled to the last byte (as fw_setenv may leave it): read, but abu's write needs the terminator's byte.
  if (need == chosen.size() - l.Header() + 1) {
    FUZZ_CHECK(r == UbootEncodeResult::kFull, "a full env re-encoded without its terminator");
    return 0;
  }
  FUZZ_CHECK(r == UbootEncodeResult::kOk, "entries do not re-encode");
  FUZZ_CHECK(copy[4] == chosen[4] && UbootCrcValid(copy.data(), copy.size(), l), "re-encoded copy lost its flags or CRC");
  FUZZ_CHECK(UbootParseEntries(copy.data() + l.Header(), copy.size() - l.Header(), &again) && again == entries,
             "entries changed across a round trip");
  return 0;
}
