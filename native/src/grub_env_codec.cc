// GRUB environment block codec without Node (see grub_env_codec.h): signature, lines, escapes, the tail.
//
// The rule, from grub-core/lib/envblk.c (grub_envblk_iterate), which GRUB's load_env and `grub-editenv list`
// both use: after the signature, a line starting with '#' is skipped to its '\n'. Any other line is a
// variable: its name is every byte up to the next '=' (newlines, backslashes and '#' included, so an empty
// line or a line without '=' becomes the start of the next variable's name); its value runs to the first
// '\n' not escaped by a '\', and `\x` stands for x. Name and value reach GRUB as C strings, so a NUL cuts
// them. Reading stops, keeping what came before, at a line with no '=' before the end, a value with no '\n'
// before the end, or a '#' line with no '\n' (the '#' padding): that rest of the block is the tail.
// Writing keeps every line abu did not change byte for byte, where it stood, adds new variables after the
// last line GRUB reads, and then the tail: a tail of padding only (NUL or space padding included) becomes
// the '#' padding that GRUB's save_env and grub-editenv need to find free space; any other tail is kept,
// shortened or lengthened only by padding bytes at its end, which never changes where GRUB stops.
#include "grub_env_codec.h"

#include <cstring>

namespace abu {
namespace {

const char kSignature[] = "# GRUB Environment Block\n";
const size_t kSignatureLen = sizeof(kSignature) - 1;

bool IsPad(char c) { return c == '#' || c == '\0' || c == ' '; }

std::string CString(const uint8_t* p, size_t n) {
  const void* nul = memchr(p, 0, n);
  return std::string(reinterpret_cast<const char*>(p), nul ? static_cast<const uint8_t*>(nul) - p : n);
}

// A variable line from `pos`; 0 when it runs off the end (GRUB stops there).
size_t ParseVariable(const uint8_t* p, size_t pos, size_t n, GrubItem* item) {
  size_t eq = pos;
  while (eq < n && p[eq] != '=') eq++;
  if (eq >= n) return 0;
  size_t i = eq + 1;
  while (i < n && p[i] != '\n') i += p[i] == '\\' ? 2 : 1;
  if (i >= n) return 0;
  std::string value;
  for (size_t j = eq + 1; j < i; j++) value.push_back(static_cast<char>(p[j] == '\\' ? p[++j] : p[j]));
  item->name = CString(p + pos, eq - pos);
  item->value = CString(reinterpret_cast<const uint8_t*>(value.data()), value.size());
  item->raw.assign(reinterpret_cast<const char*>(p + pos), i + 1 - pos);
  return i + 1;
}

std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '\n') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// Appends one item; kOk or why it cannot be written.
GrubEncodeResult AppendItem(const GrubItem& it, std::string* text, std::string* detail) {
  if (!it.raw.empty()) {
    if (it.raw.back() != '\n' || (it.comment && (it.raw[0] != '#' || it.raw.find('\n') != it.raw.size() - 1)))
      return it.comment ? GrubEncodeResult::kBadComment : (*detail = it.name, GrubEncodeResult::kBadName);
    *text += it.raw;
    return GrubEncodeResult::kOk;
  }
  if (it.comment) return GrubEncodeResult::kBadComment;
  if (it.name.empty() || it.name[0] == '#' || it.name.find_first_of(std::string("=\n\\\0", 4)) != std::string::npos)
    return *detail = it.name, GrubEncodeResult::kBadName;
  if (it.value.find('\0') != std::string::npos) return *detail = it.name, GrubEncodeResult::kBadValue;
  *text += it.name + "=" + Escape(it.value) + "\n";
  return GrubEncodeResult::kOk;
}

}  // namespace

bool GrubTailIsPadding(const std::string& tail) {
  for (char c : tail)
    if (!IsPad(c)) return false;
  return true;
}

bool GrubDecode(const uint8_t* p, size_t n, GrubEnv* out, std::string* err) {
  if (n < kSignatureLen || memcmp(p, kSignature, kSignatureLen) != 0)
    return *err = "missing signature \"# GRUB Environment Block\"", false;
  size_t pos = kSignatureLen;
  while (pos < n) {
    GrubItem item;
    size_t next = 0;
    if (p[pos] == '#') {
      const void* nl = memchr(p + pos, '\n', n - pos);
      if (nl == nullptr) break;  // the '#' padding, or a last comment without its newline
      next = static_cast<const uint8_t*>(nl) - p + 1;
      item.comment = true;
      item.raw.assign(reinterpret_cast<const char*>(p + pos), next - pos);
    } else {
      next = ParseVariable(p, pos, n, &item);
    }
    if (next == 0) break;
    out->items.push_back(std::move(item));
    pos = next;
  }
  out->tail.assign(reinterpret_cast<const char*>(p + pos), n - pos);
  return true;
}

GrubEncodeResult GrubEncode(const GrubEnv& env, size_t size, std::string* out, std::string* detail) {
  std::string text(kSignature);
  for (const auto& it : env.items) {
    GrubEncodeResult r = AppendItem(it, &text, detail);
    if (r != GrubEncodeResult::kOk) return r;
  }
  std::string tail = GrubTailIsPadding(env.tail) ? std::string() : env.tail;
  size_t trim = 0;
  while (trim < tail.size() && IsPad(tail[tail.size() - 1 - trim])) trim++;
  size_t need = text.size() + tail.size() - trim;
  if (need > size) return *detail = std::to_string(need), GrubEncodeResult::kFull;
  char pad = !tail.empty() && IsPad(tail.back()) ? tail.back() : '#';
  if (text.size() + tail.size() > size) tail.resize(size - text.size());
  text += tail;
  text.resize(size, pad);
  *out = std::move(text);
  return GrubEncodeResult::kOk;
}

}  // namespace abu
