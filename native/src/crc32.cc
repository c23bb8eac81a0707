// JS bindings for CRC-32 (sync and threadpool) and one-shot SHA-256 in the threadpool.
#include "block_worker.h"
#include "crc32_core.h"
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

// The portable kernel on its own, so tests can check it on CPUs where PCLMUL would be chosen.
Napi::Value Crc32TableSync(const Napi::CallbackInfo& info) {
  Napi::Uint8Array buf;
  if (!BytesArg(info, 0, &buf)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), ~Crc32RawTable(~SeedArg(info), buf.Data(), buf.ElementLength()));
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
  o.Set("kernel", Crc32Kernel());
  Napi::Array k = Napi::Array::New(env, 4);
  Crc32FoldConstants c = Crc32PclmulConstants();
  for (uint32_t i = 0; i < 4; i++) k.Set(i, Napi::Number::New(env, static_cast<double>(c.k[i])));
  o.Set("foldConstants", k);
  return o;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("crc32", Napi::Function::New(env, Crc32Sync, "crc32"));
  exports.Set("crc32Table", Napi::Function::New(env, Crc32TableSync, "crc32Table"));
  exports.Set("crc32Async", Napi::Function::New(env, Crc32Async, "crc32Async"));
  exports.Set("sha256Async", Napi::Function::New(env, Sha256Async, "sha256Async"));
  exports.Set("crc32Info", Napi::Function::New(env, Crc32Info, "crc32Info"));
}
ABU_REGISTER(Init);

}  // namespace
}  // namespace abu
