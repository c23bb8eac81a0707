// EVP-based SHA-256; the only file compiled against Node's OpenSSL headers (CMake adds them for it alone).
#include "sha256_evp.h"

#include <openssl/evp.h>

namespace abu {

namespace {
// Fetched once: EVP_sha256() would otherwise re-resolve the provider implementation on every init.
const EVP_MD* Md() {
  static const EVP_MD* md = EVP_sha256();
  return md;
}
}  // namespace

bool Sha256(const uint8_t* p, size_t n, uint8_t out[kSha256Len]) {
  unsigned int len = 0;
  return EVP_Digest(p, n, out, &len, Md(), nullptr) == 1 && len == kSha256Len;
}

Sha256Ctx::Sha256Ctx() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ && EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), Md(), nullptr) != 1) {
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
    ctx_ = nullptr;
  }
}

Sha256Ctx::~Sha256Ctx() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

bool Sha256Ctx::Update(const uint8_t* p, size_t n) {
  return ctx_ && EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), p, n) == 1;
}

bool Sha256Ctx::Final(uint8_t out[kSha256Len]) {
  unsigned int len = 0;
  return ctx_ && EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out, &len) == 1 && len == kSha256Len;
}

std::string Hex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 15];
  }
  return s;
}

}  // namespace abu
