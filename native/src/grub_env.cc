// GRUB environment block codec, N-API glue: JS arguments in, grub_env_codec.h does the bytes, JS values out.
#include <napi.h>

#include <string>

#include "bootenv_common.h"
#include "grub_env_codec.h"
#include "registry.h"

namespace abu {
namespace {

bool Fail(Napi::Env env, const std::string& msg) {
  ThrowCoded(env, "ABU_ERR_BOOTENV_FORMAT", "GRUB environment block: " + msg);
  return false;
}

Napi::String Bytes(Napi::Env env, const std::string& s) {
  return Latin1String(env, reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

/**
 * grubEnvDecode(block) -> {items: [name|null, value|null, raw][], tail, entries: [name, value][], comments: string[]}.
 * items are every line GRUB walks (a comment has name and value null); entries and comments are views of them.
 */
Napi::Value Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) {
    Napi::TypeError::New(env, "grubEnvDecode(buffer)").ThrowAsJavaScriptException();
    return env.Null();
  }
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  GrubEnv block;
  std::string err;
  if (!GrubDecode(buf.Data(), buf.Length(), &block, &err)) return Fail(env, err), env.Null();
  Napi::Array items = Napi::Array::New(env), vars = Napi::Array::New(env), comments = Napi::Array::New(env);
  for (const auto& it : block.items) {
    Napi::Array item = Napi::Array::New(env, 3);
    item.Set(0u, it.comment ? env.Null() : Napi::Value(Bytes(env, it.name)));
    item.Set(1u, it.comment ? env.Null() : Napi::Value(Bytes(env, it.value)));
    item.Set(2u, Bytes(env, it.raw));
    items.Set(items.Length(), item);
    if (it.comment) {
      comments.Set(comments.Length(), Bytes(env, it.raw.substr(0, it.raw.size() - 1)));
      continue;
    }
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, Bytes(env, it.name));
    pair.Set(1u, Bytes(env, it.value));
    vars.Set(vars.Length(), pair);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("items", items);
  out.Set("tail", Bytes(env, block.tail));
  out.Set("entries", vars);
  out.Set("comments", comments);
  return out;
}

// [name|null, value|null, raw|null]: a null name is a comment (raw required); a null raw is laid out anew.
bool CollectItems(Napi::Env env, const Napi::Array& items, GrubEnv* block) {
  for (uint32_t i = 0; i < items.Length(); i++) {
    Napi::Value v = items.Get(i);
    if (!v.IsArray()) return Fail(env, "items must be [name, value, raw] arrays");
    Napi::Array a = v.As<Napi::Array>();
    GrubItem it;
    it.comment = a.Get(0u).IsNull() || a.Get(0u).IsUndefined();
    if (!it.comment && (!Latin1Bytes(env, a.Get(0u), &it.name) || !Latin1Bytes(env, a.Get(1u), &it.value))) return false;
    Napi::Value raw = a.Get(2u);
    if (!raw.IsNull() && !raw.IsUndefined() && !Latin1Bytes(env, raw, &it.raw)) return false;
    block->items.push_back(std::move(it));
  }
  return true;
}

/** grubEnvEncode(items, tail, size) -> Buffer(size): the items, then the tail fitted to the size (codec rule). */
Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsArray() || !info[1].IsString() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "grubEnvEncode(items, tail, size)").ThrowAsJavaScriptException();
    return env.Null();
  }
  GrubEnv block;
  size_t size;
  if (!CollectItems(env, info[0].As<Napi::Array>(), &block) || !Latin1Bytes(env, info[1], &block.tail) ||
      !EnvSizeArg(env, info[2], &size))
    return env.Null();
  std::string text, detail;
  switch (GrubEncode(block, size, &text, &detail)) {
    case GrubEncodeResult::kBadComment:
      return Fail(env, "a comment line must start with '#' and end with its only newline"), env.Null();
    case GrubEncodeResult::kBadName:
      return Fail(env, "invalid variable name \"" + detail + "\""), env.Null();
    case GrubEncodeResult::kBadValue:
      return Fail(env, "the value of \"" + detail + "\" holds a NUL byte, which GRUB would cut"), env.Null();
    case GrubEncodeResult::kFull:
      ThrowCoded(env, "ABU_ERR_BOOTENV_FULL",
                 "GRUB environment block too small: " + detail + " bytes needed, block holds " + std::to_string(size));
      return env.Null();
    case GrubEncodeResult::kOk:
      break;
  }
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("grubEnvDecode", Napi::Function::New(env, Decode));
  exports.Set("grubEnvEncode", Napi::Function::New(env, Encode));
}
ABU_REGISTER(Init);

}  // namespace
}  // namespace abu
