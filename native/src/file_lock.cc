// flock(2) for the appliance lock: one writer per appliance across processes (CLI, daemon, serial console).
#include <sys/file.h>

#include <cerrno>

#include "block_errors.h"
#include "registry.h"

namespace {

/**
 * flockExclusive(fd) -> true when this descriptor now holds the exclusive lock, false when another open file
 * description holds it. Synchronous on purpose: LOCK_NB never waits, so it cannot block the event loop.
 */
Napi::Value FlockExclusive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) {
    Napi::TypeError::New(env, "flockExclusive(fd): fd must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  int rc;
  do rc = flock(fd, LOCK_EX | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  if (rc == 0) return Napi::Boolean::New(env, true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  Napi::Value err = abu::IoFailure::Errno(errno, "flock", "fd " + std::to_string(fd)).ToJs(env);
  Napi::Error(env, err).ThrowAsJavaScriptException();
  return env.Undefined();
}

void Init(Napi::Env env, Napi::Object exports) { exports.Set("flockExclusive", Napi::Function::New(env, FlockExclusive)); }
ABU_REGISTER(Init);

}  // namespace
