// Android bootloader_control codec without Node (see android_boot_control_codec.h): bitfields and the CRC32.
#include "android_boot_control_codec.h"

#include <cstring>

#include "bootenv_bytes.h"
#include "crc32_core.h"

namespace abu {
namespace {

const size_t kCrcOffset = 28;

void DecodeSlot(const uint8_t* s, BootControlSlot* o) {
  o->priority = s[0] & 0x0F;
  o->triesRemaining = (s[0] >> 4) & 0x07;
  o->successfulBoot = s[0] >> 7;
  o->verityCorrupted = s[1] & 0x01;
}

void EncodeSlot(const BootControlSlot& s, uint8_t* b) {
  b[0] = static_cast<uint8_t>(s.priority | (s.triesRemaining << 4) | (s.successfulBoot << 7));
  b[1] = static_cast<uint8_t>((b[1] & 0xFE) | s.verityCorrupted);
}

}  // namespace

void BootControlDecode(const uint8_t* p, BootControl* o) {
  o->slotSuffix.assign(reinterpret_cast<const char*>(p), strnlen(reinterpret_cast<const char*>(p), 4));
  o->magic = ReadU32(p + 4, false);
  o->version = p[8];
  o->nbSlot = p[9] & 0x07;
  o->recoveryTriesRemaining = (p[9] >> 3) & 0x07;
  // merge_status is 3 bits straddling bytes 9 (bits 6-7) and 10 (bit 0), as GCC packs the bitfield.
  o->mergeStatus = ((p[9] >> 6) & 0x03) | ((p[10] & 0x01) << 2);
  o->slotCount = kBootControlMaxSlots;
  for (int i = 0; i < kBootControlMaxSlots; i++) DecodeSlot(p + 12 + 2 * i, &o->slots[i]);
  o->storedCrc = ReadU32(p + kCrcOffset, false);
  o->crcValid = o->storedCrc == Crc32(0, p, kCrcOffset);
}

std::string BootControlCheck(const BootControl& c) {
  if (c.slotSuffix.size() > 3) return "slotSuffix";
  if (c.version > 255) return "version";
  if (c.nbSlot > kBootControlMaxSlots) return "nbSlot";
  if (c.recoveryTriesRemaining > 7) return "recoveryTriesRemaining";
  if (c.mergeStatus > 7) return "mergeStatus";
  if (c.slotCount < 0 || c.slotCount > kBootControlMaxSlots) return "slots";
  for (int i = 0; i < c.slotCount; i++) {
    const BootControlSlot& s = c.slots[i];
    if (s.priority > 15 || s.triesRemaining > 7 || s.successfulBoot > 1 || s.verityCorrupted > 1) return "slots";
  }
  return "";
}

void BootControlEncode(const BootControl& c, uint8_t* p) {
  memset(p, 0, 4);
  memcpy(p, c.slotSuffix.data(), c.slotSuffix.size());
  WriteU32(p + 4, c.magic, false);
  p[8] = static_cast<uint8_t>(c.version);
  p[9] = static_cast<uint8_t>(c.nbSlot | (c.recoveryTriesRemaining << 3) | ((c.mergeStatus & 0x03) << 6));
  p[10] = static_cast<uint8_t>((p[10] & 0xFE) | (c.mergeStatus >> 2));
  for (int i = 0; i < c.slotCount; i++) EncodeSlot(c.slots[i], p + 12 + 2 * i);
  WriteU32(p + kCrcOffset, Crc32(0, p, kCrcOffset), false);
}

}  // namespace abu
