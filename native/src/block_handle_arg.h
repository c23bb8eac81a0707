// The JS handle object ({fd, bufferedFd, direct, sectorSize, blockDevice, path}) as the syscall layer's Handle.
#pragma once
#include <napi.h>

#include "block_file.h"

namespace abu {

inline Handle HandleArg(const Napi::Value& v) {
  Napi::Object o = v.As<Napi::Object>();
  Handle h;
  h.fd = o.Get("fd").As<Napi::Number>().Int32Value();
  h.bufferedFd = o.Get("bufferedFd").As<Napi::Number>().Int32Value();
  h.direct = o.Get("direct").ToBoolean();
  h.sectorSize = o.Get("sectorSize").As<Napi::Number>().Uint32Value();
  h.blockDevice = o.Get("blockDevice").ToBoolean();
  h.path = o.Get("path").ToString().Utf8Value();
  return h;
}

}  // namespace abu
