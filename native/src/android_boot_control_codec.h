// Android bootloader_control codec without Node (32 bytes at misc offset 2048, boot_control_definition.h);
// android_boot_control.cc is its N-API glue, and fuzz/native/ calls these directly.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace abu {

const size_t kBootControlSize = 32;
const int kBootControlMaxSlots = 4;

struct BootControlSlot {
  uint32_t priority = 0;         // 0..15
  uint32_t triesRemaining = 0;   // 0..7
  uint32_t successfulBoot = 0;   // 0..1
  uint32_t verityCorrupted = 0;  // 0..1
};

struct BootControl {
  std::string slotSuffix;  // up to 3 bytes on encode; decode stops at the first NUL of the 4-byte field
  uint32_t magic = 0, version = 0, nbSlot = 0, recoveryTriesRemaining = 0, mergeStatus = 0;
  int slotCount = kBootControlMaxSlots;  // slots written on encode; decode always fills four
  BootControlSlot slots[kBootControlMaxSlots];
  uint32_t storedCrc = 0;
  bool crcValid = false;
};

/** Unpacks the bitfields of exactly kBootControlSize bytes; the CRC is reported, not enforced. */
void BootControlDecode(const uint8_t* p, BootControl* out);

/** Empty when every field fits its bitfield, else the name of the first one that does not. */
std::string BootControlCheck(const BootControl& c);

/** Packs checked fields into `p` (kBootControlSize bytes holding the base: reserved bits are kept) with a fresh CRC. */
void BootControlEncode(const BootControl& c, uint8_t* p);

}  // namespace abu
