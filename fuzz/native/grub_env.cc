// libFuzzer target: a GRUB environment block (grubenv) through the addon's codec. Property: a block either is
// refused with a message, or decodes; when its names and comments are writable, it re-encodes at the same size
// into a block that decodes to the same variables and comments (escapes included).
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "grub_env_codec.h"

using namespace abu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  GrubEnv block;
  std::string err;
  if (!GrubDecode(data, size, &block, &err)) {
    FUZZ_CHECK(!err.empty(), "refused without a message");
    return 0;
  }
  std::string text, detail;
  // A name GRUB lists but abu cannot write back (empty, or holding '\') is refused on encode, never mangled.
  if (GrubEncode(block, size, &text, &detail) != GrubEncodeResult::kOk) return 0;
  FUZZ_CHECK(text.size() == size, "re-encoded block changed size");
  GrubEnv again;
  FUZZ_CHECK(GrubDecode(reinterpret_cast<const uint8_t*>(text.data()), text.size(), &again, &err), "re-encoded block refused");
  FUZZ_CHECK(again.entries == block.entries, "variables changed across a round trip");
  FUZZ_CHECK(again.comments == block.comments, "comments changed across a round trip");
  return 0;
}
