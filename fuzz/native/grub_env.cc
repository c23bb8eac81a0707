// libFuzzer target: a GRUB environment block (grubenv) through the addon's codec. Property: a block either is
// refused with a message (no signature), or decodes; re-encoded at the same size it comes back byte for byte,
// except a tail of padding only, which becomes '#' padding; and the result decodes to the same lines.
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "grub_env_codec.h"

using namespace abu;

static bool SameItems(const GrubEnv& a, const GrubEnv& b) {
  if (a.items.size() != b.items.size()) return false;
  for (size_t i = 0; i < a.items.size(); i++) {
    const GrubItem &x = a.items[i], &y = b.items[i];
    if (x.comment != y.comment || x.name != y.name || x.value != y.value || x.raw != y.raw) return false;
  }
  return true;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  GrubEnv block;
  std::string err;
  if (!GrubDecode(data, size, &block, &err)) {
    FUZZ_CHECK(!err.empty(), "refused without a message");
    return 0;
  }
  std::string text, detail;
  FUZZ_CHECK(GrubEncode(block, size, &text, &detail) == GrubEncodeResult::kOk, "a decoded block does not re-encode");
  FUZZ_CHECK(text.size() == size, "re-encoded block changed size");
  std::string original(reinterpret_cast<const char*>(data), size);
  if (!GrubTailIsPadding(block.tail)) FUZZ_CHECK(text == original, "re-encoding changed the bytes");
  GrubEnv again;
  FUZZ_CHECK(GrubDecode(reinterpret_cast<const uint8_t*>(text.data()), text.size(), &again, &err), "re-encoded block refused");
  FUZZ_CHECK(SameItems(again, block), "lines changed across a round trip");
  // With a variable appended (when it fits), every earlier line is still read the same, and the new one too.
  GrubEnv more = block;
  more.items.push_back(GrubItem{false, "abu_fuzz", "v\\\n", ""});
  if (GrubEncode(more, size, &text, &detail) != GrubEncodeResult::kOk) return 0;
  GrubEnv grown;
  FUZZ_CHECK(GrubDecode(reinterpret_cast<const uint8_t*>(text.data()), text.size(), &grown, &err), "grown block refused");
  FUZZ_CHECK(!grown.items.empty() && grown.items.back().name == "abu_fuzz" && grown.items.back().value == "v\\\n",
             "the appended variable does not read back");
  grown.items.pop_back();
  FUZZ_CHECK(SameItems(grown, block), "an appended variable changed the lines before it");
  return 0;
}
