#include "core/random.h"

#include <sys/random.h>

#include <cstdint>
#include <stdexcept>

namespace sb {

std::string random_bytes(size_t bytes) {
  std::string buf(bytes, '\0');
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(buf.data() + got, bytes - got, 0);
    if (n < 0) throw std::runtime_error("getrandom failed");
    got += static_cast<size_t>(n);
  }
  return buf;
}

std::string random_hex(size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::string buf = random_bytes(bytes);
  std::string out;
  out.reserve(bytes * 2);
  for (const char c : buf) {
    const auto b = static_cast<uint8_t>(c);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

}  // namespace sb
