// SHA-256 through the OpenSSL that the node binary already carries (EVP API, resolved from the process, not linked).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace abu {

constexpr size_t kSha256Len = 32;

/** One-shot digest. Returns false only if OpenSSL refuses (out of memory). */
bool Sha256(const uint8_t* p, size_t n, uint8_t out[kSha256Len]);

/** Incremental digest; not thread-safe: callers serialise Update()/Final(). */
class Sha256Ctx {
 public:
  Sha256Ctx();
  ~Sha256Ctx();
  Sha256Ctx(const Sha256Ctx&) = delete;
  Sha256Ctx& operator=(const Sha256Ctx&) = delete;
  bool ok() const { return ctx_ != nullptr; }
  bool Update(const uint8_t* p, size_t n);
  bool Final(uint8_t out[kSha256Len]);  // after Final the context accepts no more updates

 private:
  void* ctx_;  // EVP_MD_CTX*, kept opaque so only sha256_evp.cc sees OpenSSL headers
};

std::string Hex(const uint8_t* p, size_t n);

}  // namespace abu
