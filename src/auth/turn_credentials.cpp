#include "auth/turn_credentials.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/json_text.h"

namespace sb::auth {

std::string turn_username(int64_t expires_at, const UserId& user) {
  std::string out = std::to_string(expires_at);
  out.push_back(':');
  out.append(user.str());
  return out;
}

std::string turn_password(std::string_view secret, std::string_view username) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(username.data()), username.size(), mac, &mac_len);
  std::string out(4 * ((mac_len + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac, static_cast<int>(mac_len));
  out.resize(static_cast<size_t>(n));
  return out;
}

namespace {
void append_urls(std::string& out, const std::vector<std::string>& urls) {
  out += "{\"urls\":[";
  for (size_t i = 0; i < urls.size(); ++i) {
    if (i) out += ',';
    json_append_string(out, urls[i]);
  }
  out += ']';
}
}  // namespace

IceServers ice_servers_for(const IceConfig& cfg, const UserId& user, int64_t now) {
  IceServers r;
  r.json.reserve(64 + 160 * cfg.turn.size());
  r.json.push_back('[');
  bool first = true;
  if (!cfg.stun_urls.empty()) {
    append_urls(r.json, cfg.stun_urls);
    r.json += '}';
    first = false;
  }
  if (!cfg.turn.empty()) {
    r.expires_at = now + cfg.turn_ttl_s;
    const std::string username = turn_username(r.expires_at, user);
    for (const TurnServer& t : cfg.turn) {
      if (!first) r.json += ',';
      first = false;
      append_urls(r.json, t.urls);
      r.json += ",\"username\":";
      json_append_string(r.json, username);
      r.json += ",\"credential\":";
      json_append_string(r.json, turn_password(t.secret, username));
      r.json += '}';
    }
  }
  r.json += ']';
  return r;
}

}  // namespace sb::auth
