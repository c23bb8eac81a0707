// Builds JS Error objects from IoFailure records, mirroring the property names of Node's fs errors.
#include "block_errors.h"

#include <cstring>

namespace abu {

IoFailure IoFailure::Errno(int err, const char* syscall, const std::string& path, int64_t offset) {
  IoFailure f;
  f.err = err;
  f.syscall = syscall;
  f.path = path;
  f.offset = offset;
  return f;
}

IoFailure IoFailure::Mismatch(const char* kind, std::string expected, std::string actual, int64_t offset) {
  IoFailure f;
  f.verifyKind = kind;
  f.expected = std::move(expected);
  f.actual = std::move(actual);
  f.offset = offset;
  return f;
}

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : "E" + std::to_string(err);
}

static Napi::Value MismatchToJs(Napi::Env env, const IoFailure& f) {
  std::string msg = f.verifyKind + " mismatch at offset " + std::to_string(f.offset) + ": expected " + f.expected +
                    ", computed " + f.actual + "; nothing was written";
  Napi::Object e = Napi::Error::New(env, msg).Value();
  e.Set("verifyKind", f.verifyKind);
  e.Set("expected", f.expected);
  e.Set("actual", f.actual);
  e.Set("offset", Napi::Number::New(env, static_cast<double>(f.offset)));
  return e;
}

Napi::Value IoFailure::ToJs(Napi::Env env) const {
  if (!verifyKind.empty()) return MismatchToJs(env, *this);
  std::string code = ErrnoName(err);
  std::string msg = code + ": " + std::strerror(err) + ", " + syscall + " '" + path + "'";
  if (offset >= 0) msg += " at offset " + std::to_string(offset);
  Napi::Object e = Napi::Error::New(env, msg).Value();
  e.Set("code", code);
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", syscall);
  e.Set("path", path);
  if (offset >= 0) e.Set("offset", Napi::Number::New(env, static_cast<double>(offset)));
  return e;
}

}  // namespace abu
