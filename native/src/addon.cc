// Addon entry point: runs every registered module init (see registry.h).
#include "registry.h"

namespace abu {
std::vector<InitFn>& Registry() {
  static std::vector<InitFn> fns;
  return fns;
}
}  // namespace abu

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (auto fn : abu::Registry()) fn(env, exports);
  return exports;
}
NODE_API_MODULE(abu_native, Init)
