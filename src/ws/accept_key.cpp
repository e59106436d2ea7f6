#include "ws/accept_key.h"

#include <openssl/sha.h>

#include <cstring>

namespace sb::ws {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool in_alphabet(char c) {
  return c != '\0' && std::strchr(kAlphabet, c) != nullptr;
}
}  // namespace

bool valid_client_key(std::string_view key) {
  // 16 bytes are 24 characters: 21 of the alphabet, one more whose low 4 bits are zero, then "==".
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  for (size_t i = 0; i < 22; ++i)
    if (!in_alphabet(key[i])) return false;
  const auto last = static_cast<size_t>(std::strchr(kAlphabet, key[21]) - kAlphabet);
  return (last & 0x0F) == 0;
}

std::string accept_key(std::string_view key) {
  std::string in(key);
  in += kGuid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  std::string out;
  out.reserve(28);
  for (size_t i = 0; i < SHA_DIGEST_LENGTH; i += 3) {
    const uint32_t b0 = digest[i];
    const uint32_t b1 = i + 1 < SHA_DIGEST_LENGTH ? digest[i + 1] : 0;
    const uint32_t b2 = i + 2 < SHA_DIGEST_LENGTH ? digest[i + 2] : 0;
    const uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < SHA_DIGEST_LENGTH ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < SHA_DIGEST_LENGTH ? kAlphabet[v & 63] : '=';
  }
  return out;
}

}  // namespace sb::ws
