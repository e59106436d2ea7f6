// service/http_routes.h — plain HTTP requests, as a pure function.
//
// Everything that is not a WebSocket upgrade lands here: health and readiness,
// metrics, the admin API, the dev-token endpoint and static files.
// handle_request() maps a request to a response and touches nothing but the
// file system and the callbacks in HttpContext, so it is easy to test and
// reason about.
#pragma once

#include <boost/beast/http.hpp>
#include <functional>
#include <string>

namespace sb::service {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct HttpContext {
  std::string web_root;  // absolute, canonical; empty: no static files
  bool dev = false;
  // Dev mode only: mints a token for a display name; returns the JSON body.
  std::function<std::string(const std::string& name)> dev_token;
  std::function<bool()> ready;  // for /readyz
  // GET /metrics: the Prometheus exposition. Unset: 404.
  std::function<std::string()> metrics;
  // /v1/rooms and everything below it: the admin API (admin_api.h), given the
  // client's address for the audit log. Unset: 404.
  std::function<Response(const Request&, std::string_view remote)> admin;
  // GET /v1/ice-servers (ice_api.h). Unset: 404.
  std::function<Response(const Request&)> ice_servers;

  // Asynchronous routes. The few requests whose answer needs slow work (a
  // password hash, a call to another server) must not hold the event loop:
  // such a handler starts the work elsewhere and later calls `done` with the
  // response, from any thread; the HTTP session carries it back to its own
  // loop. The session reads nothing more from the connection meanwhile.
  using Done = std::function<void(Response)>;
  // POST /v1/token (identity/token_endpoint). Unset: 404.
  std::function<void(const Request&, const std::string& client_ip, Done done)> token;
  // Cluster mode: the admin API, answered off the loop (it waits for Redis).
  // When set, it replaces `admin`.
  std::function<void(const Request&, const std::string& client_ip, Done done)> admin_async;
};

// True when `req` goes to an asynchronous route of `ctx` (see HttpContext).
bool is_async_route(const HttpContext& ctx, const Request& req);
// Starts the asynchronous route `req` goes to (is_async_route was true).
void handle_async(const HttpContext& ctx, const Request& req, const std::string& client_ip,
                  HttpContext::Done done);

// `remote` is the client's address (for the audit log of the admin API).
Response handle_request(const HttpContext& ctx, const Request& req, std::string_view remote = {});

// A response with `body` of `type`, keep-alive as the request asked.
Response make_response(const Request& req, http::status status, std::string body, std::string_view type);
// `{"error":{"code":CODE,"message":MESSAGE}}` with `status`.
Response json_error(const Request& req, http::status status, std::string_view code, std::string_view message);

// Content-Type for a file name, by extension.
std::string_view mime_type(std::string_view path);

}  // namespace sb::service
