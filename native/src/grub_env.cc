// GRUB environment block codec (grub-core/lib/envblk.c): signature, `name=value\n` lines, escapes, '#' padding.
#include <napi.h>

#include <cstring>
#include <string>

#include "bootenv_common.h"
#include "registry.h"

namespace abu {
namespace {

const char kSignature[] = "# GRUB Environment Block\n";
const size_t kSignatureLen = sizeof(kSignature) - 1;

bool Fail(Napi::Env env, const std::string& msg) {
  ThrowCoded(env, "ABU_ERR_BOOTENV_FORMAT", "GRUB environment block: " + msg);
  return false;
}

// A '#' line: kept as a comment unless it is the trailing '#' padding that runs to the end of the block.
size_t ParseComment(Napi::Env env, const uint8_t* p, size_t pos, size_t n, Napi::Array comments) {
  const void* nl = memchr(p + pos, '\n', n - pos);
  size_t end = nl ? static_cast<const uint8_t*>(nl) - p : n;
  bool padding = nl == nullptr;
  for (size_t i = pos; padding && i < end; i++) padding = p[i] == '#';
  if (!padding) comments.Set(comments.Length(), Latin1String(env, p + pos, end - pos));
  return nl ? end + 1 : n;
}

// `name=value\n`; in the value `\x` stands for x, which is how GRUB stores '\' and newlines.
size_t ParseVariable(Napi::Env env, const uint8_t* p, size_t pos, size_t n, Napi::Array vars) {
  size_t eq = pos;
  while (eq < n && p[eq] != '=' && p[eq] != '\n') eq++;
  if (eq >= n || p[eq] != '=') return Fail(env, "line at byte " + std::to_string(pos) + " has no '='"), 0;
  std::string value;
  size_t i = eq + 1;
  for (; i < n && p[i] != '\n'; i++) {
    if (p[i] == '\\' && i + 1 < n) i++;
    value.push_back(static_cast<char>(p[i]));
  }
  if (i >= n) return Fail(env, "value at byte " + std::to_string(eq + 1) + " runs to the end (block is broken)"), 0;
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, Latin1String(env, p + pos, eq - pos));
  pair.Set(1u, Latin1String(env, reinterpret_cast<const uint8_t*>(value.data()), value.size()));
  vars.Set(vars.Length(), pair);
  return i + 1;
}

/** grubEnvDecode(block) -> {entries: [name, value][], comments: string[]} (comments exclude the signature). */
Napi::Value Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) {
    Napi::TypeError::New(env, "grubEnvDecode(buffer)").ThrowAsJavaScriptException();
    return env.Null();
  }
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  const uint8_t* p = buf.Data();
  size_t n = buf.Length();
  if (n < kSignatureLen || memcmp(p, kSignature, kSignatureLen) != 0)
    return Fail(env, "missing signature \"# GRUB Environment Block\""), env.Null();
  Napi::Array vars = Napi::Array::New(env), comments = Napi::Array::New(env);
  for (size_t pos = kSignatureLen; pos < n;) {
    if (p[pos] == '\n') return Fail(env, "empty line at byte " + std::to_string(pos)), env.Null();
    pos = p[pos] == '#' ? ParseComment(env, p, pos, n, comments) : ParseVariable(env, p, pos, n, vars);
    if (env.IsExceptionPending()) return env.Null();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("entries", vars);
  out.Set("comments", comments);
  return out;
}

bool AppendVariable(Napi::Env env, const Napi::Value& pairValue, std::string* text) {
  Napi::Array pair = pairValue.As<Napi::Array>();
  std::string name, value;
  if (!pairValue.IsArray() || !Latin1Bytes(env, pair.Get(0u), &name) || !Latin1Bytes(env, pair.Get(1u), &value))
    return env.IsExceptionPending() ? false : Fail(env, "entries must be [name, value] pairs");
  if (name.empty() || name[0] == '#' || name.find_first_of("=\n\\") != std::string::npos)
    return Fail(env, "invalid variable name \"" + name + "\"");
  *text += name + "=";
  for (char c : value) {
    if (c == '\\' || c == '\n') text->push_back('\\');
    text->push_back(c);
  }
  text->push_back('\n');
  return true;
}

/** grubEnvEncode(entries, comments, size) -> Buffer(size) padded with '#', as grub-editenv lays it out. */
Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsArray() || !info[1].IsArray() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "grubEnvEncode(entries, comments, size)").ThrowAsJavaScriptException();
    return env.Null();
  }
  std::string text(kSignature);
  Napi::Array comments = info[1].As<Napi::Array>(), entries = info[0].As<Napi::Array>();
  for (uint32_t i = 0; i < comments.Length(); i++) {
    std::string c;
    if (!Latin1Bytes(env, comments.Get(i), &c)) return env.Null();
    if (c.empty() || c[0] != '#' || c.find('\n') != std::string::npos) return Fail(env, "bad comment line"), env.Null();
    text += c + "\n";
  }
  for (uint32_t i = 0; i < entries.Length(); i++)
    if (!AppendVariable(env, entries.Get(i), &text)) return env.Null();
  size_t size = info[2].As<Napi::Number>().Int64Value();
  if (text.size() > size) {
    ThrowCoded(env, "ABU_ERR_BOOTENV_FULL", "GRUB environment block too small: " + std::to_string(text.size()) +
                                                " bytes needed, block holds " + std::to_string(size));
    return env.Null();
  }
  text.resize(size, '#');
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(text.data()), size);
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("grubEnvDecode", Napi::Function::New(env, Decode));
  exports.Set("grubEnvEncode", Napi::Function::New(env, Encode));
}
ABU_REGISTER(Init);

}  // namespace
}  // namespace abu
