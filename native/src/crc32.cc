// JS bindings for CRC-32 (sync and threadpool) and one-shot SHA-256 in the threadpool.
#include <string>

#include "block_worker.h"
#include "crc32_core.h"
#include "crc32_fold_constants.h"
#include "registry.h"
#include "sha256_evp.h"

namespace abu {
namespace {

class Crc32Worker : public PromiseWorker {
 public:
  Crc32Worker(Napi::Env env, Napi::Uint8Array buf) : PromiseWorker(env), p_(buf.Data()), n_(buf.ElementLength()) {
    Keep(buf);
  }
  void Execute() override { crc_ = Crc32(0, p_, n_); }
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, crc_); }

 private:
  const uint8_t* p_;
  size_t n_;
  uint32_t crc_ = 0;
};

class Sha256Worker : public PromiseWorker {
 public:
  Sha256Worker(Napi::Env env, Napi::Uint8Array buf) : PromiseWorker(env), p_(buf.Data()), n_(buf.ElementLength()) {
    Keep(buf);
  }
  void Execute() override {
    if (!Sha256(p_, n_, out_)) SetError("SHA-256 failed inside OpenSSL");
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Buffer<uint8_t>::Copy(env, out_, kSha256Len); }

 private:
  const uint8_t* p_;
  size_t n_;
  uint8_t out_[kSha256Len];
};

uint32_t SeedArg(const Napi::CallbackInfo& info) {
  return info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
}

Napi::Value Crc32Sync(const Napi::CallbackInfo& info) {
  Napi::Uint8Array buf;
  if (!BytesArg(info, 0, &buf)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), Crc32(SeedArg(info), buf.Data(), buf.ElementLength()));
}

// One named kernel, so tests can check every kernel this CPU has, not only the one Crc32() picks.
Napi::Value Crc32WithKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].ToString().Utf8Value();
  Napi::Uint8Array buf;
  if (!BytesArg(info, 1, &buf)) return env.Undefined();
  uint32_t seed = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 0;
  size_t count = 0;
  const Crc32Kernel* k = Crc32Kernels(&count);
  for (size_t i = 0; i < count; i++) {
    if (name == k[i].name && k[i].available) return Napi::Number::New(env, ~k[i].raw(~seed, buf.Data(), buf.ElementLength()));
  }
  Napi::Error::New(env, "CRC-32 kernel '" + name + "' is unknown or not supported by this CPU").ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value Crc32Async(const Napi::CallbackInfo& info) {
  Napi::Uint8Array buf;
  if (!BytesArg(info, 0, &buf)) return info.Env().Undefined();
  return (new Crc32Worker(info.Env(), buf))->Start();
}

Napi::Value Sha256Async(const Napi::CallbackInfo& info) {
  Napi::Uint8Array buf;
  if (!BytesArg(info, 0, &buf)) return info.Env().Undefined();
  return (new Sha256Worker(info.Env(), buf))->Start();
}

Napi::Value Crc32Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("kernel", Crc32Best().name);
  size_t count = 0;
  const Crc32Kernel* k = Crc32Kernels(&count);
  Napi::Array kernels = Napi::Array::New(env, count);
  for (size_t i = 0; i < count; i++) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("name", k[i].name);
    e.Set("available", Napi::Boolean::New(env, k[i].available));
    kernels.Set(static_cast<uint32_t>(i), e);
  }
  o.Set("kernels", kernels);
  Napi::Array pairs = Napi::Array::New(env);
  for (const Crc32FoldPair& p : kAllFoldPairs) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("distanceBits", Napi::Number::New(env, p.distanceBits));
    e.Set("low", Napi::Number::New(env, static_cast<double>(p.low)));
    e.Set("high", Napi::Number::New(env, static_cast<double>(p.high)));
    pairs.Set(pairs.Length(), e);
  }
  o.Set("foldConstants", pairs);
  return o;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("crc32", Napi::Function::New(env, Crc32Sync, "crc32"));
  exports.Set("crc32WithKernel", Napi::Function::New(env, Crc32WithKernel, "crc32WithKernel"));
  exports.Set("crc32Async", Napi::Function::New(env, Crc32Async, "crc32Async"));
  exports.Set("sha256Async", Napi::Function::New(env, Sha256Async, "sha256Async"));
  exports.Set("crc32Info", Napi::Function::New(env, Crc32Info, "crc32Info"));
}
ABU_REGISTER(Init);

}  // namespace
}  // namespace abu
