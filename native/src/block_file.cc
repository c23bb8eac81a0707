// Open, geometry, cache and sync calls for slots; the aligned read/write splitting lives in block_transfer.cc.
#include "block_file.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace abu {

bool QueryGeometry(int fd, const std::string& path, Geometry* g, IoFailure* fail) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *fail = IoFailure::Errno(errno, "fstat", path);
    return false;
  }
  g->blockDevice = S_ISBLK(st.st_mode);
  if (!g->blockDevice) {
    g->size = static_cast<uint64_t>(st.st_size);
    g->sectorSize = 512;  // what O_DIRECT needs on the filesystems abu targets (ext4, xfs, btrfs on 512e disks)
    return true;
  }
  uint64_t size = 0;
  int sector = 0;
  if (ioctl(fd, BLKGETSIZE64, &size) != 0) {
    *fail = IoFailure::Errno(errno, "ioctl(BLKGETSIZE64)", path);
    return false;
  }
  if (ioctl(fd, BLKSSZGET, &sector) != 0) {
    *fail = IoFailure::Errno(errno, "ioctl(BLKSSZGET)", path);
    return false;
  }
  g->size = size;
  g->sectorSize = static_cast<uint32_t>(sector);
  return true;
}

bool ProbeDevice(const std::string& path, Geometry* g, IoFailure* fail) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *fail = IoFailure::Errno(errno, "open", path);
    return false;
  }
  bool ok = QueryGeometry(fd, path, g, fail);
  close(fd);
  return ok;
}

static int OpenFlags(const OpenRequest& req) {
  int flags = (req.write ? O_RDWR : O_RDONLY) | O_CLOEXEC;
  if (req.create) flags |= O_CREAT;
  if (req.exclusive && !req.create) flags |= O_EXCL;
  return flags;
}

// Tries O_DIRECT first; a filesystem without direct I/O answers EINVAL, and then the page cache is used.
static int OpenPrimary(const OpenRequest& req, OpenResult* out, IoFailure* fail) {
  int flags = OpenFlags(req);
  if (req.direct) {
    int fd = open(req.path.c_str(), flags | O_DIRECT, 0644);
    if (fd >= 0) {
      out->handle.direct = true;
      return fd;
    }
    if (errno != EINVAL) {
      *fail = IoFailure::Errno(errno, "open", req.path);
      return -1;
    }
    out->fallbackReason = "open(O_DIRECT) returned EINVAL: the filesystem of '" + req.path +
                          "' does not support direct I/O; using buffered I/O with fdatasync instead";
  }
  int fd = open(req.path.c_str(), flags, 0644);
  if (fd < 0) *fail = IoFailure::Errno(errno, "open", req.path);
  return fd;
}

bool OpenTarget(const OpenRequest& req, OpenResult* out, IoFailure* fail) {
  Handle& h = out->handle;
  h.path = req.path;
  h.fd = OpenPrimary(req, out, fail);
  if (h.fd < 0) return false;
  h.bufferedFd = h.fd;
  if (h.direct) {
    // No O_EXCL here: the first descriptor already holds the claim and a second claim would be refused.
    h.bufferedFd = open(req.path.c_str(), OpenFlags(req) & ~(O_CREAT | O_EXCL));
    if (h.bufferedFd < 0) {
      *fail = IoFailure::Errno(errno, "open", req.path);
      close(h.fd);
      return false;
    }
  }
  if (!QueryGeometry(h.fd, req.path, &out->geometry, fail)) {
    IoFailure ignored;
    CloseTarget(h, &ignored);
    return false;
  }
  h.sectorSize = out->geometry.sectorSize;
  h.blockDevice = out->geometry.blockDevice;
  return true;
}

bool CloseTarget(const Handle& h, IoFailure* fail) {
  bool ok = true;
  if (h.bufferedFd >= 0 && h.bufferedFd != h.fd && close(h.bufferedFd) != 0) {
    *fail = IoFailure::Errno(errno, "close", h.path);
    ok = false;
  }
  if (h.fd >= 0 && close(h.fd) != 0 && ok) {
    *fail = IoFailure::Errno(errno, "close", h.path);
    ok = false;
  }
  return ok;
}

// Both descriptors share one inode, so one fsync covers data written through either of them.
bool SyncTarget(const Handle& h, bool dataOnly, IoFailure* fail) {
  if ((dataOnly ? fdatasync(h.fd) : fsync(h.fd)) == 0) return true;
  *fail = IoFailure::Errno(errno, dataOnly ? "fdatasync" : "fsync", h.path);
  return false;
}

// DONTNEED skips dirty pages and BLKFLSBUF wants them written, so flush first in both cases.
bool DropCache(const Handle& h, IoFailure* fail) {
  if (!SyncTarget(h, false, fail)) return false;
  if (h.blockDevice) {
    if (ioctl(h.fd, BLKFLSBUF, 0) == 0) return true;
    *fail = IoFailure::Errno(errno, "ioctl(BLKFLSBUF)", h.path);
    return false;
  }
  int e = posix_fadvise(h.fd, 0, 0, POSIX_FADV_DONTNEED);
  if (e == 0) return true;
  *fail = IoFailure::Errno(e, "posix_fadvise", h.path);
  return false;
}

}  // namespace abu
