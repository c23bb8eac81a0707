// Helpers shared by the boot-environment codecs: coded JS errors and latin1 byte strings.
#pragma once
#include <napi.h>

#include <string>

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

inline uint32_t ReadU32(const uint8_t* p, bool bigEndian) {
  return bigEndian ? (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]
                   : (uint32_t(p[3]) << 24) | (uint32_t(p[2]) << 16) | (uint32_t(p[1]) << 8) | p[0];
}

inline void WriteU32(uint8_t* p, uint32_t v, bool bigEndian) {
  for (int i = 0; i < 4; i++) p[bigEndian ? 3 - i : i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace abu
