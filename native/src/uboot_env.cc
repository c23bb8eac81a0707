// U-Boot environment codec: one copy's bytes <-> CRC, flags and `k=v\0...\0\0` entries; copy choice as U-Boot.
#include <napi.h>

#include <cstring>
#include <string>
#include <vector>

#include "bootenv_common.h"
#include "crc32_core.h"
#include "registry.h"

namespace abu {
namespace {

struct Layout {
  bool redundant = false;
  bool bigEndian = false;
  size_t Header() const { return redundant ? 5 : 4; }
};

Layout LayoutArg(const Napi::CallbackInfo& info, size_t i) {
  Layout l;
  if (info.Length() > i && info[i].IsObject()) {
    Napi::Object o = info[i].As<Napi::Object>();
    l.redundant = o.Get("redundant").ToBoolean().Value();
    l.bigEndian = o.Get("bigEndian").ToBoolean().Value();
  }
  return l;
}

// The CRC covers the whole data area, padding included (env_internal.h), stored in the target's byte order.
bool CrcValid(const uint8_t* p, size_t n, const Layout& l) {
  if (n <= l.Header()) return false;
  return ReadU32(p, l.bigEndian) == Crc32(0, p + l.Header(), n - l.Header());
}

bool BufferArg(const Napi::CallbackInfo& info, size_t i, Napi::Buffer<uint8_t>* out) {
  if (info.Length() <= i || !info[i].IsBuffer()) {
    Napi::TypeError::New(info.Env(), "expected a Buffer").ThrowAsJavaScriptException();
    return false;
  }
  *out = info[i].As<Napi::Buffer<uint8_t>>();
  return true;
}

// Same walk as fw_env.c: entries end at NUL, the list ends at an empty entry; running off the end is an error.
Napi::Value ParseEntries(Napi::Env env, const uint8_t* d, size_t n) {
  Napi::Array entries = Napi::Array::New(env);
  size_t pos = 0;
  uint32_t count = 0;
  while (pos < n && d[pos] != 0) {
    const void* nul = memchr(d + pos, 0, n - pos);
    if (nul == nullptr) {
      pos = n;  // the last entry runs off the end
      break;
    }
    size_t end = static_cast<const uint8_t*>(nul) - d;
    entries.Set(count++, Latin1String(env, d + pos, end - pos));
    pos = end + 1;
  }
  if (pos >= n) {
    ThrowCoded(env, "ABU_ERR_BOOTENV_FORMAT", "environment not terminated (no double NUL before the end of the data area)");
    return env.Null();
  }
  return entries;
}

/** ubootEnvDecode(copy, {redundant, bigEndian}) -> {crcValid, flags, entries|null} */
Napi::Value Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Buffer<uint8_t> buf;
  if (!BufferArg(info, 0, &buf)) return env.Null();
  Layout l = LayoutArg(info, 1);
  const uint8_t* p = buf.Data();
  size_t n = buf.Length();
  Napi::Object out = Napi::Object::New(env);
  bool valid = CrcValid(p, n, l);
  out.Set("crcValid", valid);
  out.Set("flags", l.redundant && n > 4 ? Napi::Number::New(env, p[4]) : env.Null());
  if (!valid) {
    out.Set("entries", env.Null());
    return out;
  }
  Napi::Value entries = ParseEntries(env, p + l.Header(), n - l.Header());
  if (env.IsExceptionPending()) return env.Null();
  out.Set("entries", entries);
  return out;
}

bool CollectEntries(Napi::Env env, const Napi::Array& arr, std::vector<std::string>* out) {
  for (uint32_t i = 0; i < arr.Length(); i++) {
    std::string e;
    if (!Latin1Bytes(env, arr.Get(i), &e)) return false;
    if (e.empty() || e.find('\0') != std::string::npos) {
      ThrowCoded(env, "ABU_ERR_BOOTENV_FORMAT", "an environment entry is empty or contains a NUL byte");
      return false;
    }
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
  Layout l = LayoutArg(info, 1);
  Napi::Object o = info[1].As<Napi::Object>();
  size_t size = o.Get("size").ToNumber().Int64Value();
  uint32_t flags = o.Get("flags").ToNumber().Uint32Value() & 0xFF;
  std::vector<std::string> entries;
  if (!CollectEntries(env, info[0].As<Napi::Array>(), &entries)) return env.Null();
  size_t need = 1;
  for (const auto& e : entries) need += e.size() + 1;
  if (size <= l.Header() || need > size - l.Header()) {
    ThrowCoded(env, "ABU_ERR_BOOTENV_FULL", "environment overflow: " + std::to_string(need) + " bytes of variables, " +
                                                std::to_string(size > l.Header() ? size - l.Header() : 0) + " available");
    return env.Null();
  }
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, size);
  uint8_t* p = out.Data();
  memset(p, 0, size);
  size_t pos = l.Header();
  for (const auto& e : entries) {
    memcpy(p + pos, e.data(), e.size());
    pos += e.size() + 1;
  }
  if (l.redundant) p[4] = static_cast<uint8_t>(flags);
  WriteU32(p, Crc32(0, p + l.Header(), size - l.Header()), l.bigEndian);
  return out;
}

// env/common.c env_check_redund: CRC first; then the serial flag counter, 255 -> 0 wraps; equal -> copy 1 (index 0).
int SelectCopy(bool ok0, bool ok1, uint8_t f0, uint8_t f1) {
  if (!ok0 && !ok1) return -1;
  if (!ok1) return 0;
  if (!ok0) return 1;
  if (f0 == 255 && f1 == 0) return 1;
  if (f1 == 255 && f0 == 0) return 0;
  return f1 > f0 ? 1 : 0;
}

/** ubootEnvSelect(copy0, copy1, {bigEndian}) -> {index: 0|1|-1, crcValid: [bool, bool]} */
Napi::Value Select(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Buffer<uint8_t> a, b;
  if (!BufferArg(info, 0, &a) || !BufferArg(info, 1, &b)) return env.Null();
  Layout l = LayoutArg(info, 2);
  l.redundant = true;
  bool ok0 = CrcValid(a.Data(), a.Length(), l), ok1 = CrcValid(b.Data(), b.Length(), l);
  Napi::Object out = Napi::Object::New(env);
  out.Set("index", SelectCopy(ok0, ok1, ok0 ? a.Data()[4] : 0, ok1 ? b.Data()[4] : 0));
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
