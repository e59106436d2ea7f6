// service/client_address.h — who is really connecting.
//
// Behind a load balancer every connection comes from the balancer. Its
// X-Forwarded-For header names the client, but anyone can send that header,
// so it is believed only when the connection comes from a configured trusted
// proxy, and only up to the last hop that is not itself trusted.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace sb::service {

class TrustedProxies {
 public:
  // Entries are addresses ("10.0.0.5", "::1") or networks ("10.0.0.0/8").
  // Throws std::invalid_argument naming a malformed entry.
  explicit TrustedProxies(const std::vector<std::string>& entries = {});

  bool contains(const boost::asio::ip::address& a) const;
  bool empty() const { return nets_.empty(); }

 private:
  struct Net {
    boost::asio::ip::address_v6 base;  // v4 kept as v4-mapped v6
    unsigned prefix;                   // in v6 bits
  };
  std::vector<Net> nets_;
};

// The client's address: `peer` itself, or — when `peer` is trusted — the
// right-most address in `xff` that is not a trusted proxy. Malformed XFF
// entries stop the walk (the last good hop is used). Cost: O(len(xff)).
std::string client_ip(const boost::asio::ip::address& peer, std::string_view xff,
                      const TrustedProxies& trusted);

}  // namespace sb::service
