// blockReadVerify: one threadpool job per chunk that reads it (O_DIRECT), CRC-32s it, and SHA-256s it only on a CRC match.
//
// The adaptive scan reads every chunk of the target slot to learn which ones it already holds. Three JS round trips
// per chunk (read, crc32Async, sha256Async) cost more than the disk read; one job per chunk keeps the scan at the
// disk's pace while the other threadpool thread hashes the chunk before. The SHA-256 (the costly part) runs only
// where the CRC-32 matches: a chunk that differs costs a read and a CRC.
#include <array>
#include <cerrno>
#include <cstring>

#include "block_file.h"
#include "block_handle_arg.h"
#include "block_worker.h"
#include "crc32_core.h"
#include "registry.h"
#include "sha256_evp.h"

namespace abu {
namespace {

class ReadVerifyWorker : public PromiseWorker {
 public:
  // sha null: CRC-32 only (a caller that verifies again before writing, or indexes bytes by their CRC-32).
  ReadVerifyWorker(Napi::Env env, Handle h, Napi::Uint8Array buf, uint64_t off, uint32_t crc, const uint8_t* sha)
      : PromiseWorker(env), h_(std::move(h)), p_(buf.Data()), n_(buf.ElementLength()), off_(off), expectCrc_(crc), hash_(sha != nullptr) {
    if (hash_) std::memcpy(expectSha_.data(), sha, kSha256Len);
    Keep(buf);
  }

  void Execute() override {
    IoFailure f;
    if (!ReadAt(h_, p_, n_, off_, &got_, &f)) return Fail(f);
    crc_ = Crc32(0, p_, got_);
    if (!hash_ || crc_ != expectCrc_) return;
    uint8_t d[kSha256Len];
    if (!Sha256(p_, got_, d)) return Fail(IoFailure::Errno(ENOMEM, "EVP_Digest", h_.path, static_cast<int64_t>(off_)));
    shaMatch_ = std::memcmp(d, expectSha_.data(), kSha256Len) == 0;
  }

  // {bytes, crc32, sha256Match}: crc32 covers the bytes read; sha256Match is false whenever the CRC-32 differed.
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("bytes", Napi::Number::New(env, static_cast<double>(got_)));
    o.Set("crc32", Napi::Number::New(env, crc_));
    o.Set("sha256Match", Napi::Boolean::New(env, shaMatch_));
    return o;
  }

 private:
  Handle h_;
  uint8_t* p_;
  size_t n_;
  uint64_t off_;
  uint32_t expectCrc_;
  bool hash_;
  std::array<uint8_t, kSha256Len> expectSha_;
  size_t got_ = 0;
  uint32_t crc_ = 0;
  bool shaMatch_ = false;
};

// (handle, buffer, offset, expectedCrc32, expectedSha256 or null)
Napi::Value ReadVerify(const Napi::CallbackInfo& info) {
  Napi::Uint8Array buf, sha;
  if (!BytesArg(info, 1, &buf)) return info.Env().Undefined();
  bool hash = !info[4].IsNull() && !info[4].IsUndefined();
  if (hash && !BytesArg(info, 4, &sha)) return info.Env().Undefined();
  if (hash && sha.ElementLength() != kSha256Len) {
    Napi::TypeError::New(info.Env(), "expected SHA-256 must be 32 bytes").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  uint64_t off = static_cast<uint64_t>(info[2].As<Napi::Number>().Int64Value());
  uint32_t crc = info[3].As<Napi::Number>().Uint32Value();
  return (new ReadVerifyWorker(info.Env(), HandleArg(info[0]), buf, off, crc, hash ? sha.Data() : nullptr))->Start();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("blockReadVerify", Napi::Function::New(env, ReadVerify, "blockReadVerify"));
}
ABU_REGISTER(Init);

}  // namespace
}  // namespace abu
