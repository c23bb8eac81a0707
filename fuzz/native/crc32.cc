// libFuzzer target: every CRC-32 kernel the CPU has (AVX-512 and PCLMUL folding, slice-by-8) against a bitwise
// reference, at the fuzzed length and alignment, and chained at a fuzzed split point. The folding kernels read
// 64- and 16-byte blocks with tails, so AddressSanitizer watches them at every length and offset.
#include <cstdint>
#include <cstring>
#include <vector>

#include "crc32_core.h"
#include "fuzz_check.h"

using namespace abu;

static uint32_t Bitwise(uint32_t c, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
  }
  return c;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t split = size > 2 ? data[0] % (size - 1) : 0, offset = data[1] % 64;
  // An exact-size heap copy at a chosen misalignment: a read past the end lands in ASan's redzone.
  std::vector<uint8_t> buf(offset + size - 2);
  if (size > 2) memcpy(buf.data() + offset, data + 2, size - 2);
  const uint8_t* p = buf.data() + offset;
  size_t n = size - 2;
  uint32_t want = Bitwise(0xFFFFFFFFu, p, n);
  size_t count = 0;
  const Crc32Kernel* kernels = Crc32Kernels(&count);
  for (size_t i = 0; i < count; i++) {
    if (!kernels[i].available) continue;
    FUZZ_CHECK(kernels[i].raw(0xFFFFFFFFu, p, n) == want, kernels[i].name);
    size_t s = split < n ? split : n;
    FUZZ_CHECK(kernels[i].raw(kernels[i].raw(0xFFFFFFFFu, p, s), p + s, n - s) == want, "chained at a split point");
  }
  FUZZ_CHECK(Crc32(0, p, n) == ~want, "Crc32() disagrees with the reference");
  return 0;
}
