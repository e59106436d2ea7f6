#include "service/ws_upgrade.h"

#include "ws/accept_key.h"

namespace sb::service {

namespace http = boost::beast::http;

namespace {
UpgradeAnswer refuse(std::string_view status, std::string_view why, std::string_view extra = {}) {
  UpgradeAnswer a;
  a.response.reserve(160 + why.size());
  a.response.append("HTTP/1.1 ").append(status).append("\r\nServer: switchboard\r\nConnection: close\r\n");
  a.response.append(extra);
  a.response.append("Content-Type: text/plain\r\nContent-Length: ").append(std::to_string(why.size()));
  a.response.append("\r\n\r\n").append(why);
  return a;
}
}  // namespace

UpgradeAnswer answer_upgrade(const http::request<http::string_body>& req) {
  if (req.find(http::field::host) == req.end()) return refuse("400 Bad Request", "missing Host");
  const auto key = req[http::field::sec_websocket_key];
  if (!ws::valid_client_key(key)) return refuse("400 Bad Request", "missing or malformed Sec-WebSocket-Key");
  const auto version = req.find(http::field::sec_websocket_version);
  if (version == req.end() || version->value() != "13")
    return refuse("426 Upgrade Required", "Sec-WebSocket-Version 13 is required",
                  "Sec-WebSocket-Version: 13\r\n");
  UpgradeAnswer a;
  a.accepted = true;
  a.response.reserve(160);
  a.response.append(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nServer: "
      "switchboard\r\nSec-WebSocket-Accept: ");
  a.response.append(ws::accept_key(key)).append("\r\n\r\n");
  return a;
}

}  // namespace sb::service
