// Aligned reads and writes: O_DIRECT for whole sectors, the buffered descriptor for sub-sector heads and tails.
//
// Choice for unaligned transfers (e.g. the last chunk of an image): split [off, off+n) into
//   head: off .. next sector boundary  -> buffered fd (page cache)
//   body: whole sectors                -> O_DIRECT fd (through an aligned bounce buffer if p is misaligned)
//   tail: the last partial sector      -> buffered fd
// The kernel keeps the two descriptors coherent (a direct write flushes and invalidates the overlapping
// cached pages), fsync on either descriptor flushes both, and a regular file keeps its exact length,
// which a padded read-modify-write would not. The TypeScript facade runs such split writes alone (no other
// transfer in flight), because a buffered page written concurrently with a direct write into the same page
// could otherwise write stale bytes back.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "block_file.h"

namespace abu {
namespace {

constexpr size_t kBounceBytes = 8u << 20;  // caps the extra memory of a misaligned caller buffer

struct Split {
  size_t head, body, tail;
};

Split SplitAligned(uint64_t off, size_t n, uint32_t sector) {
  size_t head = static_cast<size_t>((sector - off % sector) % sector);
  head = std::min(head, n);
  size_t body = (n - head) / sector * sector;
  return {head, body, n - head - body};
}

bool Aligned(const void* p, uint32_t sector) { return reinterpret_cast<uintptr_t>(p) % sector == 0; }

// pwrite until done. After a short write that leaves the offset misaligned, O_DIRECT would refuse the
// rest, so the remainder continues on `fallbackFd`.
bool WriteLoop(const Handle& h, int fd, const uint8_t* p, size_t n, uint64_t off, IoFailure* fail) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, static_cast<off_t>(off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      *fail = IoFailure::Errno(w < 0 ? errno : ENOSPC, "write", h.path, static_cast<int64_t>(off));
      return false;
    }
    if (static_cast<size_t>(w) % h.sectorSize != 0) fd = h.bufferedFd;
    p += w;
    n -= static_cast<size_t>(w);
    off += static_cast<uint64_t>(w);
  }
  return true;
}

// pread until n bytes or end of file; same descriptor switch as WriteLoop.
bool ReadLoop(const Handle& h, int fd, uint8_t* p, size_t n, uint64_t off, size_t* got, IoFailure* fail) {
  *got = 0;
  while (n > 0) {
    ssize_t r = pread(fd, p, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      *fail = IoFailure::Errno(errno, "read", h.path, static_cast<int64_t>(off));
      return false;
    }
    if (r == 0) break;
    if (static_cast<size_t>(r) % h.sectorSize != 0) fd = h.bufferedFd;
    p += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
    *got += static_cast<size_t>(r);
  }
  return true;
}

uint8_t* AllocBounce(const Handle& h, size_t n, IoFailure* fail) {
  void* mem = nullptr;
  int e = posix_memalign(&mem, std::max<size_t>(h.sectorSize, 4096), std::min(n, kBounceBytes));
  if (e == 0) return static_cast<uint8_t*>(mem);
  *fail = IoFailure::Errno(e, "posix_memalign", h.path);
  return nullptr;
}

bool WriteBody(const Handle& h, const uint8_t* p, size_t n, uint64_t off, IoFailure* fail) {
  if (Aligned(p, h.sectorSize)) return WriteLoop(h, h.fd, p, n, off, fail);
  uint8_t* bounce = AllocBounce(h, n, fail);
  if (!bounce) return false;
  bool ok = true;
  for (size_t done = 0; ok && done < n;) {
    size_t piece = std::min(n - done, kBounceBytes);
    std::memcpy(bounce, p + done, piece);
    ok = WriteLoop(h, h.fd, bounce, piece, off + done, fail);
    done += piece;
  }
  free(bounce);
  return ok;
}

bool ReadBody(const Handle& h, uint8_t* p, size_t n, uint64_t off, size_t* got, IoFailure* fail) {
  if (Aligned(p, h.sectorSize)) return ReadLoop(h, h.fd, p, n, off, got, fail);
  uint8_t* bounce = AllocBounce(h, n, fail);
  if (!bounce) return false;
  bool ok = true;
  *got = 0;
  while (ok && *got < n) {
    size_t want = std::min(n - *got, kBounceBytes), have = 0;
    ok = ReadLoop(h, h.fd, bounce, want, off + *got, &have, fail);
    std::memcpy(p + *got, bounce, have);
    *got += have;
    if (have < want) break;  // end of file
  }
  free(bounce);
  return ok;
}

}  // namespace

bool WriteAt(const Handle& h, const uint8_t* p, size_t n, uint64_t off, IoFailure* fail) {
  if (!h.direct) return WriteLoop(h, h.fd, p, n, off, fail);
  Split s = SplitAligned(off, n, h.sectorSize);
  return (s.head == 0 || WriteLoop(h, h.bufferedFd, p, s.head, off, fail)) &&
         (s.body == 0 || WriteBody(h, p + s.head, s.body, off + s.head, fail)) &&
         (s.tail == 0 || WriteLoop(h, h.bufferedFd, p + s.head + s.body, s.tail, off + s.head + s.body, fail));
}

bool ReadAt(const Handle& h, uint8_t* p, size_t n, uint64_t off, size_t* got, IoFailure* fail) {
  if (!h.direct) return ReadLoop(h, h.fd, p, n, off, got, fail);
  Split s = SplitAligned(off, n, h.sectorSize);
  size_t parts[3] = {s.head, s.body, s.tail};
  *got = 0;
  for (int i = 0; i < 3; i++) {
    if (parts[i] == 0) continue;
    size_t have = 0;
    bool ok = i == 1 ? ReadBody(h, p + *got, parts[i], off + *got, &have, fail)
                     : ReadLoop(h, h.bufferedFd, p + *got, parts[i], off + *got, &have, fail);
    if (!ok) return false;
    *got += have;
    if (have < parts[i]) break;  // end of file
  }
  return true;
}

}  // namespace abu
