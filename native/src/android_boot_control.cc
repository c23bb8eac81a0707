// Android bootloader_control codec, N-API glue: JS fields in and out, android_boot_control_codec.h does the bits.
#include <napi.h>

#include <cstring>
#include <string>

#include "android_boot_control_codec.h"
#include "bootenv_common.h"
#include "registry.h"

namespace abu {
namespace {

Napi::Object SlotObject(Napi::Env env, const BootControlSlot& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("priority", s.priority);
  o.Set("triesRemaining", s.triesRemaining);
  o.Set("successfulBoot", s.successfulBoot != 0);
  o.Set("verityCorrupted", s.verityCorrupted != 0);
  return o;
}

/** androidBootControlDecode(buf32) -> fields plus {storedCrc, crcValid}; policy (magic, version) is the caller's. */
Napi::Value Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer() || info[0].As<Napi::Buffer<uint8_t>>().Length() != kBootControlSize) {
    ThrowCoded(env, "ABU_ERR_BOOTENV_FORMAT", "bootloader_control must be exactly 32 bytes");
    return env.Null();
  }
  BootControl c;
  BootControlDecode(info[0].As<Napi::Buffer<uint8_t>>().Data(), &c);
  Napi::Object o = Napi::Object::New(env);
  o.Set("slotSuffix", Latin1String(env, reinterpret_cast<const uint8_t*>(c.slotSuffix.data()), c.slotSuffix.size()));
  o.Set("magic", c.magic);
  o.Set("version", c.version);
  o.Set("nbSlot", c.nbSlot);
  o.Set("recoveryTriesRemaining", c.recoveryTriesRemaining);
  o.Set("mergeStatus", c.mergeStatus);
  Napi::Array slots = Napi::Array::New(env, kBootControlMaxSlots);
  for (int i = 0; i < kBootControlMaxSlots; i++) slots.Set(i, SlotObject(env, c.slots[i]));
  o.Set("slots", slots);
  o.Set("storedCrc", c.storedCrc);
  o.Set("crcValid", c.crcValid);
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

bool SlotFields(Napi::Env env, const Napi::Value& v, BootControlSlot* s) {
  if (!v.IsObject()) return ThrowCoded(env, "ABU_ERR_BOOTENV_FORMAT", "each slot must be an object"), false;
  Napi::Object o = v.As<Napi::Object>();
  return Field(env, o, "priority", 15, &s->priority) && Field(env, o, "triesRemaining", 7, &s->triesRemaining) &&
         Field(env, o, "successfulBoot", 1, &s->successfulBoot) && Field(env, o, "verityCorrupted", 1, &s->verityCorrupted);
}

bool HeaderFields(Napi::Env env, const Napi::Object& o, BootControl* c) {
  if (!Latin1Bytes(env, o.Get("slotSuffix"), &c->slotSuffix)) return false;
  if (c->slotSuffix.size() > 3) return ThrowCoded(env, "ABU_ERR_BOOTENV_FORMAT", "slot suffix longer than 3 bytes"), false;
  return Field(env, o, "magic", 0xFFFFFFFFu, &c->magic) && Field(env, o, "version", 255, &c->version) &&
         Field(env, o, "nbSlot", kBootControlMaxSlots, &c->nbSlot) &&
         Field(env, o, "recoveryTriesRemaining", 7, &c->recoveryTriesRemaining) && Field(env, o, "mergeStatus", 7, &c->mergeStatus);
}

/** androidBootControlEncode(fields, base?) -> 32 bytes; reserved bytes and bits are kept from `base`. */
Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "androidBootControlEncode(fields, base?)").ThrowAsJavaScriptException();
    return env.Null();
  }
  uint8_t p[kBootControlSize] = {0};
  if (info.Length() > 1 && info[1].IsBuffer() && info[1].As<Napi::Buffer<uint8_t>>().Length() == kBootControlSize)
    memcpy(p, info[1].As<Napi::Buffer<uint8_t>>().Data(), kBootControlSize);
  Napi::Object o = info[0].As<Napi::Object>();
  BootControl c;
  if (!HeaderFields(env, o, &c)) return env.Null();
  Napi::Value slotsValue = o.Get("slots");
  if (!slotsValue.IsArray() || slotsValue.As<Napi::Array>().Length() > kBootControlMaxSlots)
    return ThrowCoded(env, "ABU_ERR_BOOTENV_FORMAT", "slots must be an array of at most 4"), env.Null();
  Napi::Array slots = slotsValue.As<Napi::Array>();
  c.slotCount = static_cast<int>(slots.Length());
  for (int i = 0; i < c.slotCount; i++)
    if (!SlotFields(env, slots.Get(i), &c.slots[i])) return env.Null();
  BootControlEncode(c, p);
  return Napi::Buffer<uint8_t>::Copy(env, p, kBootControlSize);
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("androidBootControlDecode", Napi::Function::New(env, Decode));
  exports.Set("androidBootControlEncode", Napi::Function::New(env, Encode));
}
ABU_REGISTER(Init);

}  // namespace
}  // namespace abu
