#include "core/random.h"

#include <sys/random.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

namespace sb {

namespace {

std::vector<uint8_t> random_bytes(size_t bytes) {
  std::vector<uint8_t> buf(bytes);
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(buf.data() + got, bytes - got, 0);
    if (n < 0) throw std::runtime_error("getrandom failed");
    got += static_cast<size_t>(n);
  }
  return buf;
}

}  // namespace

std::string random_b64url(size_t bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const std::vector<uint8_t> buf = random_bytes(bytes);
  std::string out;
  out.reserve((bytes * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= bytes; i += 3) {
    const uint32_t v = uint32_t{buf[i]} << 16 | uint32_t{buf[i + 1]} << 8 | buf[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  if (const size_t rest = bytes - i; rest > 0) {  // 1 byte: 2 characters; 2 bytes: 3
    const uint32_t v = uint32_t{buf[i]} << 16 | (rest == 2 ? uint32_t{buf[i + 1]} << 8 : 0);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

std::string random_hex(size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::vector<uint8_t> buf = random_bytes(bytes);
  std::string out;
  out.reserve(bytes * 2);
  for (uint8_t b : buf) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

}  // namespace sb
