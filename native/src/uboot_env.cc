// U-Boot environment codec, N-API glue: JS arguments in, uboot_env_codec.h does the bytes, JS values out.
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "bootenv_common.h"
#include "registry.h"
#include "uboot_env_codec.h"

namespace abu {
namespace {

UbootLayout LayoutArg(const Napi::CallbackInfo& info, size_t i) {
  UbootLayout l;
  if (info.Length() > i && info[i].IsObject()) {
    Napi::Object o = info[i].As<Napi::Object>();
    l.redundant = o.Get("redundant").ToBoolean().Value();
    l.bigEndian = o.Get("bigEndian").ToBoolean().Value();
  }
  return l;
}

bool BufferArg(const Napi::CallbackInfo& info, size_t i, Napi::Buffer<uint8_t>* out) {
  if (info.Length() <= i || !info[i].IsBuffer()) {
    Napi::TypeError::New(info.Env(), "expected a Buffer").ThrowAsJavaScriptException();
    return false;
  }
  *out = info[i].As<Napi::Buffer<uint8_t>>();
  return true;
}

/** ubootEnvDecode(copy, {redundant, bigEndian}) -> {crcValid, flags, entries|null} */
Napi::Value Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Buffer<uint8_t> buf;
  if (!BufferArg(info, 0, &buf)) return env.Null();
  UbootLayout l = LayoutArg(info, 1);
  const uint8_t* p = buf.Data();
  size_t n = buf.Length();
  Napi::Object out = Napi::Object::New(env);
  bool valid = UbootCrcValid(p, n, l);
  out.Set("crcValid", valid);
  out.Set("flags", l.redundant && n > 4 ? Napi::Number::New(env, p[4]) : env.Null());
  if (!valid) {
    out.Set("entries", env.Null());
    return out;
  }
  std::vector<std::string> entries;
  if (!UbootParseEntries(p + l.Header(), n - l.Header(), &entries)) {
    ThrowCoded(env, "ABU_ERR_BOOTENV_FORMAT", "environment not terminated (its last entry runs to the end of the data area without a NUL)");
    return env.Null();
  }
  Napi::Array arr = Napi::Array::New(env, entries.size());
  for (uint32_t i = 0; i < entries.size(); i++)
    arr.Set(i, Latin1String(env, reinterpret_cast<const uint8_t*>(entries[i].data()), entries[i].size()));
  out.Set("entries", arr);
  return out;
}

bool CollectEntries(Napi::Env env, const Napi::Array& arr, std::vector<std::string>* out) {
  for (uint32_t i = 0; i < arr.Length(); i++) {
    std::string e;
    if (!Latin1Bytes(env, arr.Get(i), &e)) return false;
    out->push_back(std::move(e));
  }
  return true;
}

/** ubootEnvEncode(entries, {size, redundant, flags, bigEndian}) -> Buffer(size), 0x00 padding as U-Boot writes. */
Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsObject()) {
    Napi::TypeError::New(env, "ubootEnvEncode(entries, options)").ThrowAsJavaScriptException();
    return env.Null();
  }
  UbootLayout l = LayoutArg(info, 1);
  Napi::Object o = info[1].As<Napi::Object>();
  size_t size;
  if (!EnvSizeArg(env, o.Get("size"), &size)) return env.Null();
  uint32_t flags = o.Get("flags").ToNumber().Uint32Value() & 0xFF;
  std::vector<std::string> entries;
  if (!CollectEntries(env, info[0].As<Napi::Array>(), &entries)) return env.Null();
  std::vector<uint8_t> bytes;
  size_t need = 0;
  switch (UbootEncode(entries, size, l, static_cast<uint8_t>(flags), &bytes, &need)) {
    case UbootEncodeResult::kBadEntry:
      ThrowCoded(env, "ABU_ERR_BOOTENV_FORMAT", "an environment entry is empty or contains a NUL byte");
      return env.Null();
    case UbootEncodeResult::kFull:
      ThrowCoded(env, "ABU_ERR_BOOTENV_FULL", "environment overflow: " + std::to_string(need) + " bytes of variables, " +
                                                  std::to_string(size > l.Header() ? size - l.Header() : 0) + " available");
      return env.Null();
    case UbootEncodeResult::kOk:
      break;
  }
  return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
}

/** ubootEnvSelect(copy0, copy1, {bigEndian}) -> {index: 0|1|-1, crcValid: [bool, bool]} */
Napi::Value Select(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Buffer<uint8_t> a, b;
  if (!BufferArg(info, 0, &a) || !BufferArg(info, 1, &b)) return env.Null();
  UbootLayout l = LayoutArg(info, 2);
  l.redundant = true;
  bool ok0 = UbootCrcValid(a.Data(), a.Length(), l), ok1 = UbootCrcValid(b.Data(), b.Length(), l);
  Napi::Object out = Napi::Object::New(env);
  out.Set("index", UbootSelectCopy(ok0, ok1, ok0 ? a.Data()[4] : 0, ok1 ? b.Data()[4] : 0));
  Napi::Array valid = Napi::Array::New(env, 2);
  valid.Set(0u, ok0);
  valid.Set(1u, ok1);
  out.Set("crcValid", valid);
  return out;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("ubootEnvDecode", Napi::Function::New(env, Decode));
  exports.Set("ubootEnvEncode", Napi::Function::New(env, Encode));
  exports.Set("ubootEnvSelect", Napi::Function::New(env, Select));
}

}  // namespace
ABU_REGISTER(Init);
}  // namespace abu
