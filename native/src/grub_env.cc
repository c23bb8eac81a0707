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

/** grubEnvDecode(block) -> {entries: [name, value][], comments: string[]} (comments exclude the signature). */
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
  Napi::Array vars = Napi::Array::New(env, block.entries.size()), comments = Napi::Array::New(env, block.comments.size());
  for (uint32_t i = 0; i < block.entries.size(); i++) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, Bytes(env, block.entries[i].first));
    pair.Set(1u, Bytes(env, block.entries[i].second));
    vars.Set(i, pair);
  }
  for (uint32_t i = 0; i < block.comments.size(); i++) comments.Set(i, Bytes(env, block.comments[i]));
  Napi::Object out = Napi::Object::New(env);
  out.Set("entries", vars);
  out.Set("comments", comments);
  return out;
}

bool CollectVariables(Napi::Env env, const Napi::Array& entries, GrubEnv* block) {
  for (uint32_t i = 0; i < entries.Length(); i++) {
    Napi::Value pairValue = entries.Get(i);
    std::string name, value;
    if (!pairValue.IsArray()) return Fail(env, "entries must be [name, value] pairs");
    Napi::Array pair = pairValue.As<Napi::Array>();
    if (!Latin1Bytes(env, pair.Get(0u), &name) || !Latin1Bytes(env, pair.Get(1u), &value)) return false;
    block->entries.emplace_back(std::move(name), std::move(value));
  }
  return true;
}

/** grubEnvEncode(entries, comments, size) -> Buffer(size) padded with '#', as grub-editenv lays it out. */
Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsArray() || !info[1].IsArray() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "grubEnvEncode(entries, comments, size)").ThrowAsJavaScriptException();
    return env.Null();
  }
  GrubEnv block;
  Napi::Array comments = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < comments.Length(); i++) {
    std::string c;
    if (!Latin1Bytes(env, comments.Get(i), &c)) return env.Null();
    block.comments.push_back(std::move(c));
  }
  size_t size;
  if (!CollectVariables(env, info[0].As<Napi::Array>(), &block) || !EnvSizeArg(env, info[2], &size)) return env.Null();
  std::string text, detail;
  switch (GrubEncode(block, size, &text, &detail)) {
    case GrubEncodeResult::kBadComment:
      return Fail(env, "bad comment line"), env.Null();
    case GrubEncodeResult::kBadName:
      return Fail(env, "invalid variable name \"" + detail + "\""), env.Null();
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
