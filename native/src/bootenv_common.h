// N-API helpers shared by the boot-environment codecs: coded JS errors and latin1 byte strings.
#pragma once
#include <napi.h>

#include <cmath>
#include <string>

#include "bootenv_bytes.h"

namespace abu {

/** Throw a JS Error whose `code` is an ABU_ERR_* code; the TS facade turns it into an AbuError. */
inline void ThrowCoded(Napi::Env env, const char* code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
}

// Env values are byte strings, not text: latin1 maps each byte to one UTF-16 unit and back, losslessly.
inline Napi::String Latin1String(Napi::Env env, const uint8_t* p, size_t n) {
  std::u16string s(n, u'\0');
  for (size_t i = 0; i < n; i++) s[i] = p[i];
  return Napi::String::New(env, s);
}

/** Bytes of a latin1 JS string; false (and a thrown error) when a character is above U+00FF. */
inline bool Latin1Bytes(Napi::Env env, const Napi::Value& v, std::string* out) {
  if (!v.IsString()) {
    ThrowCoded(env, "ABU_ERR_BOOTENV_FORMAT", "expected a string");
    return false;
  }
  std::u16string s = v.As<Napi::String>().Utf16Value();
  out->assign(s.size(), '\0');
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] > 0xFF) {
      ThrowCoded(env, "ABU_ERR_BOOTENV_FORMAT", "environment text must be bytes (latin1), found a wider character");
      return false;
    }
    (*out)[i] = static_cast<char>(s[i]);
  }
  return true;
}

/** Largest environment the codecs lay out: far above any real U-Boot env or GRUB block, far below a crash. */
const size_t kMaxEnvSize = 64u << 20;

/**
 * A size argument from JS: an integer 0..kMaxEnvSize, else ABU_ERR_BOOTENV_FORMAT. Unchecked, a negative or huge
 * number became a size_t in the gigabytes and the allocation aborted the whole process.
 */
inline bool EnvSizeArg(Napi::Env env, const Napi::Value& v, size_t* out) {
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 0 && d <= static_cast<double>(kMaxEnvSize)) || d != std::floor(d)) {
    ThrowCoded(env, "ABU_ERR_BOOTENV_FORMAT", "environment size must be an integer from 0 to " + std::to_string(kMaxEnvSize) + " bytes");
    return false;
  }
  *out = static_cast<size_t>(d);
  return true;
}

}  // namespace abu
