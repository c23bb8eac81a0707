// Sha256Native: an incremental SHA-256 whose updates run in the threadpool (whole-image read-back hashing).
#include <atomic>

#include "block_worker.h"
#include "registry.h"
#include "sha256_evp.h"

namespace abu {
namespace {

class Sha256Native : public Napi::ObjectWrap<Sha256Native> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "Sha256Native",
                                     {InstanceMethod("update", &Sha256Native::Update),
                                      InstanceMethod("digest", &Sha256Native::Digest)});
    exports.Set("Sha256Native", cls);
  }
  explicit Sha256Native(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Sha256Native>(info) {
    if (!ctx_.ok()) Napi::Error::New(info.Env(), "OpenSSL could not create a SHA-256 context").ThrowAsJavaScriptException();
  }

  Sha256Ctx ctx_;
  std::atomic<bool> busy_{false};  // one update at a time: the context is not thread-safe
  bool finished_ = false;

 private:
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value Digest(const Napi::CallbackInfo& info);
};

class UpdateWorker : public PromiseWorker {
 public:
  UpdateWorker(Napi::Env env, Sha256Native* h, Napi::Uint8Array buf)
      : PromiseWorker(env), h_(h), p_(buf.Data()), n_(buf.ElementLength()) {
    Keep(buf);
    Keep(h->Value());  // the wrapper (and its context) must outlive the update
  }
  void Execute() override {
    if (!h_->ctx_.Update(p_, n_)) SetError("SHA-256 update failed inside OpenSSL");
  }
  void OnWorkComplete(Napi::Env env, napi_status status) override {
    h_->busy_ = false;  // main thread, before the promise settles, so a .then() may update again
    PromiseWorker::OnWorkComplete(env, status);
  }

 private:
  Sha256Native* h_;
  const uint8_t* p_;
  size_t n_;
};

Napi::Value Sha256Native::Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array buf;
  if (!BytesArg(info, 0, &buf)) return env.Undefined();
  if (finished_) {
    Napi::Error::New(env, "update() after digest()").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (busy_.exchange(true)) {
    Napi::Error::New(env, "update() while another update is running").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return (new UpdateWorker(env, this, buf))->Start();
}

Napi::Value Sha256Native::Digest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t out[kSha256Len];
  if (busy_ || finished_ || !ctx_.Final(out)) {
    Napi::Error::New(env, busy_ ? "digest() while an update is running" : "digest() called twice or OpenSSL failed")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  finished_ = true;
  return Napi::Buffer<uint8_t>::Copy(env, out, kSha256Len);
}

void Init(Napi::Env env, Napi::Object exports) { Sha256Native::Init(env, exports); }
ABU_REGISTER(Init);

}  // namespace
}  // namespace abu
