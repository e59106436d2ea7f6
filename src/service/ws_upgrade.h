// service/ws_upgrade.h — the answer to a WebSocket opening handshake.
//
// A pure function from the upgrade request to the bytes of the HTTP response:
// 101 Switching Protocols with Sec-WebSocket-Accept, or a 400 / 426 that says
// what is wrong (RFC 6455 4.2.1, 4.2.2, 4.4). The request was already found to
// be a WebSocket upgrade (GET, HTTP/1.1, Connection: upgrade, Upgrade: websocket).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

namespace sb::service {

struct UpgradeAnswer {
  bool accepted = false;  // 101: the connection is a WebSocket once `response` is written
  std::string response;   // the whole HTTP response
};

// Cost: one SHA-1 and a ~160-byte string.
UpgradeAnswer answer_upgrade(const boost::beast::http::request<boost::beast::http::string_body>& req);

}  // namespace sb::service
