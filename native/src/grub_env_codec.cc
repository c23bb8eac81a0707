// GRUB environment block codec without Node (see grub_env_codec.h): signature, `name=value\n`, escapes, padding.
#include "grub_env_codec.h"

#include <cstring>

namespace abu {
namespace {

const char kSignature[] = "# GRUB Environment Block\n";
const size_t kSignatureLen = sizeof(kSignature) - 1;

// A '#' line: kept as a comment unless it is the trailing '#' padding that runs to the end of the block.
size_t ParseComment(const uint8_t* p, size_t pos, size_t n, GrubEnv* out) {
  const void* nl = memchr(p + pos, '\n', n - pos);
  size_t end = nl ? static_cast<const uint8_t*>(nl) - p : n;
  bool padding = nl == nullptr;
  for (size_t i = pos; padding && i < end; i++) padding = p[i] == '#';
  if (!padding) out->comments.emplace_back(reinterpret_cast<const char*>(p + pos), end - pos);
  return nl ? end + 1 : n;
}

// `name=value\n`; in the value `\x` stands for x, which is how GRUB stores '\' and newlines. 0: malformed.
size_t ParseVariable(const uint8_t* p, size_t pos, size_t n, GrubEnv* out, std::string* err) {
  size_t eq = pos;
  while (eq < n && p[eq] != '=' && p[eq] != '\n') eq++;
  if (eq >= n || p[eq] != '=') return *err = "line at byte " + std::to_string(pos) + " has no '='", 0;
  std::string value;
  size_t i = eq + 1;
  for (; i < n && p[i] != '\n'; i++) {
    if (p[i] == '\\' && i + 1 < n) i++;
    value.push_back(static_cast<char>(p[i]));
  }
  if (i >= n) return *err = "value at byte " + std::to_string(eq + 1) + " runs to the end (block is broken)", 0;
  out->entries.emplace_back(std::string(reinterpret_cast<const char*>(p + pos), eq - pos), std::move(value));
  return i + 1;
}

}  // namespace

bool GrubDecode(const uint8_t* p, size_t n, GrubEnv* out, std::string* err) {
  if (n < kSignatureLen || memcmp(p, kSignature, kSignatureLen) != 0)
    return *err = "missing signature \"# GRUB Environment Block\"", false;
  for (size_t pos = kSignatureLen; pos < n;) {
    if (p[pos] == '\n') return *err = "empty line at byte " + std::to_string(pos), false;
    pos = p[pos] == '#' ? ParseComment(p, pos, n, out) : ParseVariable(p, pos, n, out, err);
    if (pos == 0) return false;
  }
  return true;
}

GrubEncodeResult GrubEncode(const GrubEnv& env, size_t size, std::string* out, std::string* detail) {
  std::string text(kSignature);
  for (const auto& c : env.comments) {
    if (c.empty() || c[0] != '#' || c.find('\n') != std::string::npos) return GrubEncodeResult::kBadComment;
    text += c + "\n";
  }
  for (const auto& [name, value] : env.entries) {
    if (name.empty() || name[0] == '#' || name.find_first_of("=\n\\") != std::string::npos)
      return *detail = name, GrubEncodeResult::kBadName;
    text += name + "=";
    for (char c : value) {
      if (c == '\\' || c == '\n') text.push_back('\\');
      text.push_back(c);
    }
    text.push_back('\n');
  }
  if (text.size() > size) return *detail = std::to_string(text.size()), GrubEncodeResult::kFull;
  text.resize(size, '#');
  *out = std::move(text);
  return GrubEncodeResult::kOk;
}

}  // namespace abu
