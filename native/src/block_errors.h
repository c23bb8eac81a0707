// Failure records filled in the threadpool and turned into JS errors (code, errno, syscall, path) on the main thread.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

namespace abu {

/** What went wrong in a worker. Either an errno from a syscall, or a checksum mismatch (verifyKind set). */
struct IoFailure {
  int err = 0;                // positive errno; reported negated, as Node's fs errors do
  std::string syscall;        // "open", "write", "read", "fdatasync", "ioctl(BLKFLSBUF)", ...
  std::string path;
  int64_t offset = -1;        // byte offset of the failed transfer, -1 when not applicable
  std::string verifyKind;     // "crc32" | "sha256" when a checksum did not match
  std::string expected, actual;

  static IoFailure Errno(int err, const char* syscall, const std::string& path, int64_t offset = -1);
  static IoFailure Mismatch(const char* kind, std::string expected, std::string actual, int64_t offset);
  /** An Error like Node's fs errors: message "EIO: Input/output error, write '/dev/x' at offset N". */
  Napi::Value ToJs(Napi::Env env) const;
};

/** "EIO", "ENOENT", ... (glibc strerrorname_np), or "E<number>" for an unknown value. */
std::string ErrnoName(int err);

}  // namespace abu
