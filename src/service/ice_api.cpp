#include "service/ice_api.h"

#include <spdlog/spdlog.h>

#include "core/json_text.h"

namespace sb::service {

Response ice_servers_response(const Request& req, const auth::IceConfig& ice, const TokenCheck& verify,
                              int64_t now) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    Response res = json_error(req, http::status::method_not_allowed, "method-not-allowed", "use GET");
    res.set(http::field::allow, "GET");
    return res;
  }
  auto unauthorized = [&](std::string_view message) {
    Response res = json_error(req, http::status::unauthorized, "unauthorized", message);
    res.set(http::field::www_authenticate, "Bearer");
    return res;
  };
  std::string_view auth;
  if (auto it = req.find(http::field::authorization); it != req.end()) auth = it->value();
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() <= kBearer.size() || !auth.starts_with(kBearer))
    return unauthorized("missing Authorization: Bearer <token>");
  const std::string_view token = auth.substr(kBearer.size());
  const auth::VerifyResult r = verify(token, now);
  if (!r.identity) {
    spdlog::info("ice-servers rejected reason={} detail={}", auth::to_string(r.error), r.detail);
    return unauthorized(std::string("invalid token: ") + auth::to_string(r.error));
  }
  const auth::IceServers servers = auth::ice_servers_for(ice, r.identity->user, now);
  std::string body = "{\"ice_servers\":";
  body += servers.json;
  body += ",\"expires_at\":";
  if (servers.expires_at)
    json_append_uint(body, static_cast<uint64_t>(servers.expires_at));
  else
    body += "null";
  body += '}';
  Response res = make_response(req, http::status::ok, std::move(body), "application/json");
  res.set(http::field::cache_control, "no-store");
  if (req.method() == http::verb::head) res.body().clear();
  return res;
}

}  // namespace sb::service
