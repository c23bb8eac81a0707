// JS bindings for slot I/O: every disk call is a threadpool worker; verifyAndWrite checks CRC-32 and SHA-256 there too.
#include <stdlib.h>
#include <sys/mman.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>

#include "block_file.h"
#include "block_handle_arg.h"
#include "block_worker.h"
#include "crc32_core.h"
#include "registry.h"
#include "sha256_evp.h"

namespace abu {
namespace {

Napi::Object GeometryToJs(Napi::Env env, const Geometry& g) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", Napi::Number::New(env, static_cast<double>(g.size)));
  o.Set("sectorSize", Napi::Number::New(env, g.sectorSize));
  o.Set("blockDevice", Napi::Boolean::New(env, g.blockDevice));
  return o;
}

class OpenWorker : public PromiseWorker {
 public:
  OpenWorker(Napi::Env env, OpenRequest req) : PromiseWorker(env), req_(std::move(req)) {}
  void Execute() override {
    IoFailure f;
    if (!OpenTarget(req_, &res_, &f)) Fail(f);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = GeometryToJs(env, res_.geometry);
    o.Set("fd", res_.handle.fd);
    o.Set("bufferedFd", res_.handle.bufferedFd);
    o.Set("direct", Napi::Boolean::New(env, res_.handle.direct));
    if (!res_.fallbackReason.empty()) o.Set("fallbackReason", res_.fallbackReason);
    return o;
  }

 private:
  OpenRequest req_;
  OpenResult res_;
};

class ProbeWorker : public PromiseWorker {
 public:
  ProbeWorker(Napi::Env env, std::string path) : PromiseWorker(env), path_(std::move(path)) {}
  void Execute() override {
    IoFailure f;
    if (!ProbeDevice(path_, &g_, &f)) Fail(f);
  }
  Napi::Value Result(Napi::Env env) override { return GeometryToJs(env, g_); }

 private:
  std::string path_;
  Geometry g_;
};

/** Runs one task on a Handle; the task may report a byte count (reads) through *result. */
class TaskWorker : public PromiseWorker {
 public:
  using Task = std::function<bool(IoFailure*, double*)>;
  TaskWorker(Napi::Env env, Task task) : PromiseWorker(env), task_(std::move(task)) {}
  using PromiseWorker::Keep;
  void Execute() override {
    IoFailure f;
    if (!task_(&f, &result_)) Fail(f);
  }
  Napi::Value Result(Napi::Env env) override {
    return std::isnan(result_) ? env.Undefined() : Napi::Number::New(env, result_);
  }

 private:
  Task task_;
  double result_ = NAN;
};

std::string Hex32(uint32_t v) {
  char s[9];
  snprintf(s, sizeof s, "%08x", v);
  return s;
}

// Checks happen before the first byte is written: a mismatch leaves the target untouched.
bool VerifyThenWrite(const Handle& h, const uint8_t* p, size_t n, uint64_t off, uint32_t crc,
                     const std::array<uint8_t, kSha256Len>& sha, IoFailure* f) {
  int64_t at = static_cast<int64_t>(off);
  uint32_t actualCrc = Crc32(0, p, n);
  if (actualCrc != crc) {
    *f = IoFailure::Mismatch("crc32", Hex32(crc), Hex32(actualCrc), at);
    return false;
  }
  uint8_t d[kSha256Len];
  if (!Sha256(p, n, d)) {
    *f = IoFailure::Errno(ENOMEM, "EVP_Digest", h.path, at);
    return false;
  }
  if (std::memcmp(d, sha.data(), kSha256Len) != 0) {
    *f = IoFailure::Mismatch("sha256", Hex(sha.data(), kSha256Len), Hex(d, kSha256Len), at);
    return false;
  }
  return WriteAt(h, p, n, off, f);
}

Napi::Value Open(const Napi::CallbackInfo& info) {
  OpenRequest req;
  req.path = info[0].ToString().Utf8Value();
  req.write = info[1].ToBoolean();
  req.direct = info[2].ToBoolean();
  req.create = info[3].ToBoolean();
  req.exclusive = info[4].ToBoolean();
  return (new OpenWorker(info.Env(), std::move(req)))->Start();
}

Napi::Value DeviceInfo(const Napi::CallbackInfo& info) {
  return (new ProbeWorker(info.Env(), info[0].ToString().Utf8Value()))->Start();
}

// (handle, buffer, offset): the shared argument shape of read, write and verifyAndWrite.
struct Transfer {
  Handle h;
  Napi::Uint8Array buf;
  uint64_t off;
};

bool TransferArgs(const Napi::CallbackInfo& info, Transfer* t) {
  if (!BytesArg(info, 1, &t->buf)) return false;
  t->h = HandleArg(info[0]);
  t->off = static_cast<uint64_t>(info[2].As<Napi::Number>().Int64Value());
  return true;
}

Napi::Value Start(Napi::Env env, const Napi::Uint8Array& buf, TaskWorker::Task task) {
  TaskWorker* w = new TaskWorker(env, std::move(task));
  w->Keep(buf);
  return w->Start();
}

Napi::Value Write(const Napi::CallbackInfo& info) {
  Transfer t;
  if (!TransferArgs(info, &t)) return info.Env().Undefined();
  const uint8_t* p = t.buf.Data();
  size_t n = t.buf.ElementLength();
  return Start(info.Env(), t.buf, [h = t.h, p, n, off = t.off](IoFailure* f, double*) { return WriteAt(h, p, n, off, f); });
}

Napi::Value Read(const Napi::CallbackInfo& info) {
  Transfer t;
  if (!TransferArgs(info, &t)) return info.Env().Undefined();
  uint8_t* p = t.buf.Data();
  size_t n = t.buf.ElementLength();
  return Start(info.Env(), t.buf, [h = t.h, p, n, off = t.off](IoFailure* f, double* result) {
    size_t got = 0;
    bool ok = ReadAt(h, p, n, off, &got, f);
    *result = static_cast<double>(got);
    return ok;
  });
}

Napi::Value VerifyAndWrite(const Napi::CallbackInfo& info) {
  Transfer t;
  Napi::Uint8Array shaArg;
  if (!TransferArgs(info, &t) || !BytesArg(info, 4, &shaArg)) return info.Env().Undefined();
  if (shaArg.ElementLength() != kSha256Len) {
    Napi::TypeError::New(info.Env(), "expected SHA-256 must be 32 bytes").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  std::array<uint8_t, kSha256Len> sha;
  std::memcpy(sha.data(), shaArg.Data(), kSha256Len);
  uint32_t crc = info[3].As<Napi::Number>().Uint32Value();
  const uint8_t* p = t.buf.Data();
  size_t n = t.buf.ElementLength();
  return Start(info.Env(), t.buf, [h = t.h, p, n, off = t.off, crc, sha](IoFailure* f, double*) {
    return VerifyThenWrite(h, p, n, off, crc, sha, f);
  });
}

Napi::Value HandleTask(const Napi::CallbackInfo& info, std::function<bool(const Handle&, IoFailure*)> fn) {
  TaskWorker* w = new TaskWorker(info.Env(), [h = HandleArg(info[0]), fn](IoFailure* f, double*) { return fn(h, f); });
  return w->Start();
}

Napi::Value Sync(const Napi::CallbackInfo& info) {
  bool dataOnly = info[1].ToBoolean();
  return HandleTask(info, [dataOnly](const Handle& h, IoFailure* f) { return SyncTarget(h, dataOnly, f); });
}

Napi::Value Drop(const Napi::CallbackInfo& info) { return HandleTask(info, DropCache); }

Napi::Value Close(const Napi::CallbackInfo& info) { return HandleTask(info, CloseTarget); }

// Chunk-sized buffers come from mmap, 2 MiB-aligned and marked for transparent huge pages: the kernel hands
// out zeroed memory, so no memset, and a 4 MiB buffer costs two page faults instead of 1024 (measured: the
// installer's 4 x 4 MiB pool took 60-240 ms with posix_memalign + memset on a loaded 2-core VM, ~1 ms this way).
constexpr size_t kHugePage = 2u << 20;

struct Block {
  void* mem = nullptr;
  size_t mapped = 0;  // 0: from posix_memalign
};

Block AllocBlock(size_t size, size_t align) {
  Block b;
  if (size >= kHugePage && align <= kHugePage) {
    // Mapped to the 4 KiB page; only whole 2 MiB pieces get the huge-page advice. A buffer a little over a multiple of
    // 2 MiB (a pool buffer with room for zstd's in-place margin) would otherwise fault in a whole huge page for its
    // last few KiB: 2 MiB of RSS per buffer for ~130 KiB used.
    constexpr size_t kPage = 4096;
    size_t len = (size + kPage - 1) / kPage * kPage;
    size_t huge = size / kHugePage * kHugePage;
    void* raw = mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return b;
    uintptr_t start = (reinterpret_cast<uintptr_t>(raw) + kHugePage - 1) / kHugePage * kHugePage;
    size_t head = start - reinterpret_cast<uintptr_t>(raw);
    if (head > 0) munmap(raw, head);
    if (kHugePage - head > 0) munmap(reinterpret_cast<void*>(start + len), kHugePage - head);
    madvise(reinterpret_cast<void*>(start), huge, MADV_HUGEPAGE);  // advice only: ignored where THP is off
    b.mem = reinterpret_cast<void*>(start);
    b.mapped = len;
    return b;
  }
  if (posix_memalign(&b.mem, align, size == 0 ? align : size) != 0) return Block{};
  std::memset(b.mem, 0, size);
  return b;
}

// Owned by the Buffer and freed by its finalizer; zeroed like Buffer.alloc.
Napi::Value AllocAligned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t size = static_cast<size_t>(info[0].As<Napi::Number>().Int64Value());
  size_t align = static_cast<size_t>(info[1].As<Napi::Number>().Int64Value());
  Block b = AllocBlock(size, align);
  if (b.mem == nullptr) {
    Napi::Error::New(env, "allocAligned: out of memory for " + std::to_string(size) + " bytes").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(size));
  return Napi::Buffer<uint8_t>::New(env, static_cast<uint8_t*>(b.mem), size, [size, b](Napi::Env e, uint8_t*) {
    if (b.mapped > 0) {
      munmap(b.mem, b.mapped);
    } else {
      free(b.mem);
    }
    Napi::MemoryManagement::AdjustExternalMemory(e, -static_cast<int64_t>(size));
  });
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("blockOpen", Napi::Function::New(env, Open, "blockOpen"));
  exports.Set("blockDeviceInfo", Napi::Function::New(env, DeviceInfo, "blockDeviceInfo"));
  exports.Set("blockWrite", Napi::Function::New(env, Write, "blockWrite"));
  exports.Set("blockRead", Napi::Function::New(env, Read, "blockRead"));
  exports.Set("blockVerifyAndWrite", Napi::Function::New(env, VerifyAndWrite, "blockVerifyAndWrite"));
  exports.Set("blockSync", Napi::Function::New(env, Sync, "blockSync"));
  exports.Set("blockDropCache", Napi::Function::New(env, Drop, "blockDropCache"));
  exports.Set("blockClose", Napi::Function::New(env, Close, "blockClose"));
  exports.Set("allocAligned", Napi::Function::New(env, AllocAligned, "allocAligned"));
}
ABU_REGISTER(Init);

}  // namespace
}  // namespace abu
