#include "service/client_address.h"

#include <stdexcept>

namespace sb::service {

namespace ip = boost::asio::ip;

namespace {

ip::address_v6 as_v6(const ip::address& a) {
  return a.is_v4() ? ip::make_address_v6(ip::v4_mapped, a.to_v4()) : a.to_v6();
}

bool parse_address(std::string_view s, ip::address& out) {
  boost::system::error_code ec;
  out = ip::make_address(std::string(s), ec);
  return !ec;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

TrustedProxies::TrustedProxies(const std::vector<std::string>& entries) {
  for (const auto& e : entries) {
    auto slash = e.find('/');
    ip::address a;
    if (!parse_address(std::string_view(e).substr(0, slash), a))
      throw std::invalid_argument("trusted proxy '" + e + "' is not an address or network");
    unsigned max = a.is_v4() ? 32 : 128;
    unsigned prefix = max;
    if (slash != std::string::npos) {
      const std::string p = e.substr(slash + 1);
      if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos ||
          std::stoul(p) > max)
        throw std::invalid_argument("trusted proxy '" + e + "' has a bad prefix length");
      prefix = static_cast<unsigned>(std::stoul(p));
    }
    nets_.push_back({as_v6(a), a.is_v4() ? prefix + 96 : prefix});
  }
}

bool TrustedProxies::contains(const ip::address& a) const {
  const auto bytes = as_v6(a).to_bytes();
  for (const auto& n : nets_) {
    const auto base = n.base.to_bytes();
    unsigned bits = n.prefix;
    bool match = true;
    for (size_t i = 0; i < 16 && bits > 0 && match; ++i) {
      const unsigned take = bits >= 8 ? 8 : bits;
      const auto mask = static_cast<uint8_t>(0xff << (8 - take));
      match = (bytes[i] & mask) == (base[i] & mask);
      bits -= take;
    }
    if (match) return true;
  }
  return false;
}

std::string client_ip(const ip::address& peer, std::string_view xff, const TrustedProxies& trusted) {
  ip::address current = peer;
  if (!trusted.contains(current)) return current.to_string();
  // Walk X-Forwarded-For from the right: each hop was added by the one after it.
  while (!xff.empty()) {
    auto comma = xff.rfind(',');
    std::string_view hop = trim(comma == std::string_view::npos ? xff : xff.substr(comma + 1));
    xff = comma == std::string_view::npos ? std::string_view{} : xff.substr(0, comma);
    ip::address a;
    if (!parse_address(hop, a)) break;
    current = a;
    if (!trusted.contains(current)) break;
  }
  return current.is_v6() && current.to_v6().is_v4_mapped()
             ? ip::make_address_v4(ip::v4_mapped, current.to_v6()).to_string()
             : current.to_string();
}

}  // namespace sb::service
