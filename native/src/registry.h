// Self-registration of native modules: each .cc adds its exports with ABU_REGISTER so addon.cc stays fixed.
#pragma once
#include <napi.h>
#include <vector>

namespace abu {
using InitFn = void (*)(Napi::Env env, Napi::Object exports);
std::vector<InitFn>& Registry();
struct Registrar {
  explicit Registrar(InitFn fn) { Registry().push_back(fn); }
};
}  // namespace abu

#define ABU_REGISTER(fn) static ::abu::Registrar abu_registrar_##fn(fn)
