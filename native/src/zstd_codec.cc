// Per-chunk zstd (libzstd from the system): decompress a stored chunk into its exact-size buffer, and compress one
// for bundle tooling. Both run in the libuv threadpool, never on the event loop.
//
// Decompression is single-shot into the caller's buffer of exactly the chunk's uncompressed length: libzstd then
// uses that buffer as its history and allocates no window, so a frame that would produce more (a "zstd bomb") fails
// with dstSize_tooSmall having written nothing beyond the buffer, and a frame whose header declares another size is
// refused before any decoding. The only allocation is the per-thread DCtx (~100 KiB), reused.
//
// The stored bytes may lie at the end of the destination's own buffer (in-place decompression: a chunk decompressed
// ahead needs no second buffer for its stored bytes). libzstd supports that when the input ends at least
// ZSTD_decompressionMargin() bytes past the output's end; any other overlap is decoded from a copy.
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_decompressionMargin (1.5.4+, exported by the shared library)
#include <zstd.h>
#include <zstd_errors.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "block_worker.h"
#include "crc32_core.h"
#include "registry.h"

namespace abu {
namespace {

struct DctxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};
struct CctxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

// One context per threadpool thread: creating a CCtx for a high level costs more than compressing a small chunk.
ZSTD_DCtx* ThreadDctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DctxFree> d(ZSTD_createDCtx());
  return d.get();
}
ZSTD_CCtx* ThreadCctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CctxFree> c(ZSTD_createCCtx());
  return c.get();
}

std::string Hex32(uint32_t v) {
  char b[9];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}

/** Every refusal of a stored chunk: "crc32" | "frame" | "size" under `zstdKind`, typed by native/zstd.ts. */
class CodecWorker : public PromiseWorker {
 public:
  explicit CodecWorker(Napi::Env env) : PromiseWorker(env) {}

 protected:
  void Refuse(const char* kind, std::string message) { PromiseWorker::Refuse("zstdKind", kind, std::move(message)); }
};

class DecompressWorker : public CodecWorker {
 public:
  DecompressWorker(Napi::Env env, Napi::Uint8Array src, Napi::Uint8Array dst, uint32_t crc)
      : CodecWorker(env), src_(src.Data()), n_(src.ElementLength()), dst_(dst.Data()), cap_(dst.ElementLength()), crc_(crc) {
    Keep(src);
    Keep(dst);
  }

  // Order: the transport CRC first (corrupt bytes never reach the decoder), then the frame header's declared size,
  // then exactly one frame spanning the input, then the decode itself, bounded by the buffer.
  void Execute() override {
    uint32_t crc = Crc32(0, src_, n_);
    if (crc != crc_) return Refuse("crc32", "stored bytes have CRC32 " + Hex32(crc) + ", the manifest says " + Hex32(crc_));
    unsigned long long declared = ZSTD_getFrameContentSize(src_, n_);
    if (declared == ZSTD_CONTENTSIZE_ERROR) return Refuse("frame", "the stored bytes do not start with a zstd frame header");
    if (declared == ZSTD_CONTENTSIZE_UNKNOWN) return Refuse("frame", "the zstd frame does not declare its content size");
    if (declared != cap_) {
      return Refuse("size", "the zstd frame declares " + std::to_string(declared) + " bytes, the chunk is " + std::to_string(cap_));
    }
    size_t frame = ZSTD_findFrameCompressedSize(src_, n_);
    if (ZSTD_isError(frame)) return Refuse("frame", std::string("malformed zstd frame: ") + ZSTD_getErrorName(frame));
    if (frame != n_) {
      return Refuse("frame", "the zstd frame is " + std::to_string(frame) + " bytes, the stored chunk " + std::to_string(n_));
    }
    std::vector<uint8_t> copy;
    const uint8_t* src = src_;
    if (!InPlaceAllowed()) {
      copy.assign(src_, src_ + n_);
      src = copy.data();
    }
    size_t r = ZSTD_decompressDCtx(ThreadDctx(), dst_, cap_, src, n_);
    if (ZSTD_isError(r)) {
      bool over = ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall;
      return Refuse(over ? "size" : "frame", std::string(over ? "the zstd frame decodes to more than " + std::to_string(cap_) + " bytes: " : "zstd: ") + ZSTD_getErrorName(r));
    }
    if (r != cap_) return Refuse("size", "the zstd frame decoded to " + std::to_string(r) + " bytes, the chunk is " + std::to_string(cap_));
  }

 private:
  /** Disjoint buffers, or the input at the end of the output with libzstd's margin between the output's end and its own. */
  bool InPlaceAllowed() const {
    uintptr_t s = reinterpret_cast<uintptr_t>(src_), d = reinterpret_cast<uintptr_t>(dst_);
    if (s + n_ <= d || d + cap_ <= s) return true;
    if (s < d || s + n_ < d + cap_) return false;
    size_t margin = ZSTD_decompressionMargin(src_, n_);
    return !ZSTD_isError(margin) && (s + n_) - (d + cap_) >= margin;
  }

  const uint8_t* src_;
  size_t n_;
  uint8_t* dst_;
  size_t cap_;
  uint32_t crc_;
};

class CompressWorker : public CodecWorker {
 public:
  CompressWorker(Napi::Env env, Napi::Uint8Array src, int level) : CodecWorker(env), src_(src.Data()), n_(src.ElementLength()), level_(level) {
    Keep(src);
  }
  ~CompressWorker() override { std::free(out_); }

  // Single-threaded (nbWorkers 0) and content size in the header: the same input and level give the same bytes.
  void Execute() override {
    ZSTD_CCtx* c = ThreadCctx();
    ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level_);
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0);  // the manifest's CRC32 and SHA-256 already cover every chunk
    cap_ = ZSTD_compressBound(n_);
    out_ = static_cast<uint8_t*>(std::malloc(cap_ > 0 ? cap_ : 1));
    if (out_ == nullptr) return SetError("zstd: out of memory for a " + std::to_string(cap_) + "-byte output buffer");
    size_t r = ZSTD_compress2(c, out_, cap_, src_, n_);
    if (ZSTD_isError(r)) return Refuse("frame", std::string("zstd compression failed: ") + ZSTD_getErrorName(r));
    size_ = r;
  }
  Napi::Value Result(Napi::Env env) override {
    uint8_t* p = out_;
    out_ = nullptr;  // the Buffer owns it now
    return Napi::Buffer<uint8_t>::New(env, p, size_, [](Napi::Env, uint8_t* q) { std::free(q); });
  }

 private:
  const uint8_t* src_;
  size_t n_;
  int level_;
  uint8_t* out_ = nullptr;
  size_t cap_ = 0, size_ = 0;
};

Napi::Value DecompressAsync(const Napi::CallbackInfo& info) {
  Napi::Uint8Array src, dst;
  if (!BytesArg(info, 0, &src) || !BytesArg(info, 1, &dst)) return info.Env().Undefined();
  uint32_t crc = info[2].As<Napi::Number>().Uint32Value();
  return (new DecompressWorker(info.Env(), src, dst, crc))->Start();
}

Napi::Value CompressAsync(const Napi::CallbackInfo& info) {
  Napi::Uint8Array src;
  if (!BytesArg(info, 0, &src)) return info.Env().Undefined();
  int level = info[1].As<Napi::Number>().Int32Value();
  if (level < 1 || level > ZSTD_maxCLevel()) {
    Napi::RangeError::New(info.Env(), "zstd level " + std::to_string(level) + " is outside 1.." + std::to_string(ZSTD_maxCLevel()))
        .ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return (new CompressWorker(info.Env(), src, level))->Start();
}

Napi::Value CompressBound(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(ZSTD_compressBound(info[0].As<Napi::Number>().Int64Value())));
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("zstdDecompressAsync", Napi::Function::New(env, DecompressAsync));
  exports.Set("zstdCompressAsync", Napi::Function::New(env, CompressAsync));
  exports.Set("zstdCompressBound", Napi::Function::New(env, CompressBound));
  exports.Set("zstdVersion", Napi::String::New(env, ZSTD_versionString()));
  exports.Set("zstdMaxLevel", Napi::Number::New(env, ZSTD_maxCLevel()));
}

}  // namespace

ABU_REGISTER(Init);

}  // namespace abu
