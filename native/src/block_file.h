// Syscall layer for block devices and image files: open with O_DIRECT fallback, geometry, split aligned I/O.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "block_errors.h"

namespace abu {

struct Geometry {
  uint64_t size = 0;
  uint32_t sectorSize = 512;
  bool blockDevice = false;
};

/**
 * An open target. With direct I/O, `fd` has O_DIRECT and `bufferedFd` is a second descriptor on the same
 * inode without it, used for the sub-sector head/tail of transfers that O_DIRECT cannot express.
 * Without direct I/O both are the same descriptor.
 */
struct Handle {
  int fd = -1;
  int bufferedFd = -1;
  bool direct = false;
  uint32_t sectorSize = 512;
  bool blockDevice = false;
  std::string path;
};

struct OpenRequest {
  std::string path;
  bool write = false;
  bool direct = true;
  bool create = false;
  bool exclusive = false;  // O_EXCL on a block device: EBUSY while it is mounted or claimed
};

struct OpenResult {
  Handle handle;
  Geometry geometry;
  std::string fallbackReason;  // set when O_DIRECT was asked for but refused
};

bool OpenTarget(const OpenRequest& req, OpenResult* out, IoFailure* fail);
bool QueryGeometry(int fd, const std::string& path, Geometry* g, IoFailure* fail);
bool ProbeDevice(const std::string& path, Geometry* g, IoFailure* fail);
/** Closes both descriptors; reports the first close() error (a late write-back failure on some filesystems). */
bool CloseTarget(const Handle& h, IoFailure* fail);

/** Writes all n bytes at off: loops on short writes and EINTR; sector-aligned middle through O_DIRECT. */
bool WriteAt(const Handle& h, const uint8_t* p, size_t n, uint64_t off, IoFailure* fail);
/** Reads up to n bytes at off, stopping early only at end of file; *got receives the count. */
bool ReadAt(const Handle& h, uint8_t* p, size_t n, uint64_t off, size_t* got, IoFailure* fail);
bool SyncTarget(const Handle& h, bool dataOnly, IoFailure* fail);
/** Flushes, then drops cached pages so the next read comes from the medium. */
bool DropCache(const Handle& h, IoFailure* fail);

}  // namespace abu
