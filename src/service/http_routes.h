// service/http_routes.h — plain HTTP requests, as a pure function.
//
// Everything that is not a WebSocket upgrade lands here: health, the dev-token
// endpoint and static files. handle_request() maps a request to a response
// and touches nothing but the file system, so it is easy to test and reason about.
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
};

Response handle_request(const HttpContext& ctx, const Request& req);

// Content-Type for a file name, by extension.
std::string_view mime_type(std::string_view path);

}  // namespace sb::service
