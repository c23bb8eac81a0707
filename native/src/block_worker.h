// Promise-settling AsyncWorker base: Execute() runs in the libuv threadpool, never on the event loop.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "block_errors.h"

namespace abu {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}

  /** Queues the worker and hands its promise to JS; the worker deletes itself after settling. */
  Napi::Promise Start() {
    Queue();
    return deferred_.Promise();
  }

 protected:
  /** Pins a Buffer (or wrapper object) so the GC cannot free memory the threadpool is still using. */
  void Keep(Napi::Object o) { kept_.push_back(Napi::Persistent(o)); }
  /** Records a failure from Execute(); the promise rejects with it. */
  void Fail(IoFailure f) {
    failure_ = std::move(f);
    failed_ = true;
  }
  /**
   * Records a refusal that is no syscall failure (a malformed input): the promise rejects with an Error whose
   * `property` (e.g. "zstdKind") is `kind`, so the TypeScript facade can type it.
   */
  void Refuse(const char* property, std::string kind, std::string message) {
    refuseProperty_ = property;
    refuseKind_ = std::move(kind);
    refuseMessage_ = std::move(message);
  }
  /** The resolution value, built on the main thread after a successful Execute(). */
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }

 private:
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (failed_) {
      deferred_.Reject(failure_.ToJs(env));
    } else if (!refuseKind_.empty()) {
      Napi::Object e = Napi::Error::New(env, refuseMessage_).Value();
      e.Set(refuseProperty_, refuseKind_);
      deferred_.Reject(e);
    } else {
      deferred_.Resolve(Result(env));
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> kept_;
  IoFailure failure_;
  bool failed_ = false;
  const char* refuseProperty_ = "";
  std::string refuseKind_, refuseMessage_;
};

}  // namespace abu

namespace abu {

/** Reads a Uint8Array/Buffer argument; throws a TypeError into JS and returns false otherwise. */
inline bool BytesArg(const Napi::CallbackInfo& info, size_t i, Napi::Uint8Array* out) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a Buffer or Uint8Array")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = v.As<Napi::Uint8Array>();
  return true;
}

}  // namespace abu
