// Android bootloader_control codec (32 bytes at misc offset 2048): packed bitfields and the little-endian CRC32.
#include <napi.h>

#include <cstring>
#include <string>

#include "bootenv_common.h"
#include "crc32_core.h"
#include "registry.h"

namespace abu {
namespace {

const size_t kSize = 32;
const size_t kCrcOffset = 28;
const int kMaxSlots = 4;

Napi::Object DecodeSlot(Napi::Env env, const uint8_t* s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("priority", s[0] & 0x0F);
  o.Set("triesRemaining", (s[0] >> 4) & 0x07);
  o.Set("successfulBoot", (s[0] >> 7) != 0);
  o.Set("verityCorrupted", (s[1] & 0x01) != 0);
  return o;
}

/** androidBootControlDecode(buf32) -> fields plus {storedCrc, crcValid}; policy (magic, version) is the caller's. */
Napi::Value Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer() || info[0].As<Napi::Buffer<uint8_t>>().Length() != kSize) {
    ThrowCoded(env, "ABU_ERR_BOOTENV_FORMAT", "bootloader_control must be exactly 32 bytes");
    return env.Null();
  }
  const uint8_t* p = info[0].As<Napi::Buffer<uint8_t>>().Data();
  Napi::Object o = Napi::Object::New(env);
  o.Set("slotSuffix", Latin1String(env, p, strnlen(reinterpret_cast<const char*>(p), 4)));
  o.Set("magic", ReadU32(p + 4, false));
  o.Set("version", p[8]);
  o.Set("nbSlot", p[9] & 0x07);
  o.Set("recoveryTriesRemaining", (p[9] >> 3) & 0x07);
  // merge_status is 3 bits straddling bytes 9 (bits 6-7) and 10 (bit 0), as GCC packs the bitfield.
  o.Set("mergeStatus", ((p[9] >> 6) & 0x03) | ((p[10] & 0x01) << 2));
  Napi::Array slots = Napi::Array::New(env, kMaxSlots);
  for (int i = 0; i < kMaxSlots; i++) slots.Set(i, DecodeSlot(env, p + 12 + 2 * i));
  o.Set("slots", slots);
  uint32_t stored = ReadU32(p + kCrcOffset, false);
  o.Set("storedCrc", stored);
  o.Set("crcValid", stored == Crc32(0, p, kCrcOffset));
  return o;
}

bool Field(Napi::Env env, const Napi::Object& o, const char* key, uint32_t max, uint32_t* out) {
  Napi::Value v = o.Get(key);
  double d = v.IsBoolean() ? (v.As<Napi::Boolean>().Value() ? 1 : 0) : v.ToNumber().DoubleValue();
  if (!(d >= 0 && d <= max) || d != static_cast<uint32_t>(d)) {
    ThrowCoded(env, "ABU_ERR_BOOTENV_FORMAT", std::string("bootloader_control field ") + key + " must be 0.." + std::to_string(max));
    return false;
  }
  *out = static_cast<uint32_t>(d);
  return true;
}

bool EncodeSlot(Napi::Env env, const Napi::Object& s, uint8_t* b) {
  uint32_t prio, tries, ok, verity;
  if (!Field(env, s, "priority", 15, &prio) || !Field(env, s, "triesRemaining", 7, &tries) ||
      !Field(env, s, "successfulBoot", 1, &ok) || !Field(env, s, "verityCorrupted", 1, &verity))
    return false;
  b[0] = static_cast<uint8_t>(prio | (tries << 4) | (ok << 7));
  b[1] = static_cast<uint8_t>((b[1] & 0xFE) | verity);
  return true;
}

bool EncodeHeader(Napi::Env env, const Napi::Object& o, uint8_t* p) {
  std::string suffix;
  uint32_t magic, version, nb, rec, merge;
  if (!Latin1Bytes(env, o.Get("slotSuffix"), &suffix)) return false;
  if (suffix.size() > 3) return ThrowCoded(env, "ABU_ERR_BOOTENV_FORMAT", "slot suffix longer than 3 bytes"), false;
  if (!Field(env, o, "magic", 0xFFFFFFFFu, &magic) || !Field(env, o, "version", 255, &version) ||
      !Field(env, o, "nbSlot", kMaxSlots, &nb) || !Field(env, o, "recoveryTriesRemaining", 7, &rec) ||
      !Field(env, o, "mergeStatus", 7, &merge))
    return false;
  memset(p, 0, 4);
  memcpy(p, suffix.data(), suffix.size());
  WriteU32(p + 4, magic, false);
  p[8] = static_cast<uint8_t>(version);
  p[9] = static_cast<uint8_t>(nb | (rec << 3) | ((merge & 0x03) << 6));
  p[10] = static_cast<uint8_t>((p[10] & 0xFE) | (merge >> 2));
  return true;
}

/** androidBootControlEncode(fields, base?) -> 32 bytes; reserved bytes and bits are kept from `base`. */
Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "androidBootControlEncode(fields, base?)").ThrowAsJavaScriptException();
    return env.Null();
  }
  uint8_t p[kSize] = {0};
  if (info.Length() > 1 && info[1].IsBuffer() && info[1].As<Napi::Buffer<uint8_t>>().Length() == kSize)
    memcpy(p, info[1].As<Napi::Buffer<uint8_t>>().Data(), kSize);
  Napi::Object o = info[0].As<Napi::Object>();
  if (!EncodeHeader(env, o, p)) return env.Null();
  Napi::Value slotsValue = o.Get("slots");
  if (!slotsValue.IsArray() || slotsValue.As<Napi::Array>().Length() > kMaxSlots)
    return ThrowCoded(env, "ABU_ERR_BOOTENV_FORMAT", "slots must be an array of at most 4"), env.Null();
  Napi::Array slots = slotsValue.As<Napi::Array>();
  for (uint32_t i = 0; i < slots.Length(); i++)
    if (!EncodeSlot(env, slots.Get(i).As<Napi::Object>(), p + 12 + 2 * i)) return env.Null();
  WriteU32(p + kCrcOffset, Crc32(0, p, kCrcOffset), false);
  return Napi::Buffer<uint8_t>::Copy(env, p, kSize);
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("androidBootControlDecode", Napi::Function::New(env, Decode));
  exports.Set("androidBootControlEncode", Napi::Function::New(env, Encode));
}
ABU_REGISTER(Init);

}  // namespace
}  // namespace abu
