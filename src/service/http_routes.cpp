#include "service/http_routes.h"

#include <boost/url/parse.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json_text.h"
#include "core/utf8.h"

namespace sb::service {

namespace fs = std::filesystem;

std::string_view mime_type(std::string_view path) {
  auto ext = path.substr(
      std::min(path.size(), path.rfind('.') == std::string_view::npos ? path.size() : path.rfind('.')));
  if (ext == ".html" || ext == ".htm") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".webp") return "image/webp";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt" || ext == ".md") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

Response make_response(const Request& req, http::status status, std::string body, std::string_view type) {
  Response res{status, req.version()};
  res.set(http::field::server, "switchboard");
  res.set(http::field::content_type, type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response json_error(const Request& req, http::status status, std::string_view code,
                    std::string_view message) {
  std::string body = "{\"error\":{\"code\":";
  json_append_string(body, code);
  body += ",\"message\":";
  json_append_string(body, message);
  body += "}}";
  return make_response(req, status, std::move(body), "application/json");
}

namespace {

Response make(const Request& req, http::status status, std::string body, std::string_view type) {
  return make_response(req, status, std::move(body), type);
}

// Maps a URL path to a file under root; empty when the path escapes the root
// or names no regular file. Percent-decoding happens before the check.
std::string resolve_static(const std::string& root, std::string_view decoded_path) {
  if (root.empty() || decoded_path.empty() || decoded_path.front() != '/') return {};
  if (decoded_path.find('\0') != std::string_view::npos) return {};
  std::string rel(decoded_path.substr(1));
  if (rel.empty() || rel.back() == '/') rel += "index.html";
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::path(root) / rel, ec);
  if (ec) return {};
  const std::string ps = p.string();
  if (ps.compare(0, root.size(), root) != 0 || (ps.size() > root.size() && ps[root.size()] != '/')) return {};
  if (fs::is_directory(p, ec)) p /= "index.html";
  if (!fs::is_regular_file(p, ec)) return {};
  return p.string();
}

}  // namespace

namespace {
bool is_admin_path(std::string_view path) {
  return path == "/v1/rooms" || path.starts_with("/v1/rooms/");
}
}  // namespace

bool is_async_route(const HttpContext& ctx, const Request& req) {
  if (!ctx.token && !ctx.admin_async) return false;
  auto url = boost::urls::parse_origin_form(req.target());
  if (!url) return false;
  const std::string path = url->path();
  return (ctx.token && path == "/v1/token") || (ctx.admin_async && is_admin_path(path));
}

void handle_async(const HttpContext& ctx, const Request& req, const std::string& client_ip,
                  HttpContext::Done done) {
  auto url = boost::urls::parse_origin_form(req.target());
  if (ctx.admin_async && url && is_admin_path(url->path()))
    return ctx.admin_async(req, client_ip, std::move(done));
  ctx.token(req, client_ip, std::move(done));
}

Response handle_request(const HttpContext& ctx, const Request& req, std::string_view remote) {
  auto url = boost::urls::parse_origin_form(req.target());
  if (!url) return json_error(req, http::status::bad_request, "bad-request", "malformed request target");
  const std::string path = url->path();  // percent-decoded

  if (path == "/healthz") return make(req, http::status::ok, "ok\n", "text/plain");
  if (path == "/readyz") {
    bool ok = !ctx.ready || ctx.ready();
    return make(req, ok ? http::status::ok : http::status::service_unavailable,
                ok ? "ready\n" : "not ready\n", "text/plain");
  }
  if (path == "/metrics") {
    if (!ctx.metrics) return json_error(req, http::status::not_found, "not-found", "metrics are not enabled");
    if (req.method() != http::verb::get)
      return json_error(req, http::status::method_not_allowed, "method-not-allowed", "use GET");
    Response res = make(req, http::status::ok, ctx.metrics(), "text/plain; version=0.0.4; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    return res;
  }
  if (is_admin_path(path)) {
    if (!ctx.admin) return json_error(req, http::status::not_found, "not-found", "no admin API");
    return ctx.admin(req, remote);
  }
  if (path == "/v1/ice-servers") {
    if (!ctx.ice_servers) return json_error(req, http::status::not_found, "not-found", "no ICE server API");
    return ctx.ice_servers(req);
  }
  if (path == "/v1/token")  // served asynchronously when configured (is_async_route)
    return json_error(req, http::status::not_found, "not-found",
                      "no token service: configure --user-db or --auth-backend-url");
  if (path == "/v1/dev-token") {
    if (!ctx.dev || !ctx.dev_token)
      return json_error(req, http::status::not_found, "not-found", "not in dev mode");
    std::string name = "guest";
    auto params = url->params();
    if (auto it = params.find("name"); it != params.end() && (*it).has_value) name = (*it).value;
    if (!utf8_valid(name))
      return json_error(req, http::status::bad_request, "bad-request", "'name' is not UTF-8");
    name = std::string(utf8_prefix(name, 64));  // cut at a character boundary
    Response res = make(req, http::status::ok, ctx.dev_token(name), "application/json");
    res.set(http::field::cache_control, "no-store");
    return res;
  }
  if (path == "/ws")
    return json_error(req, http::status::upgrade_required, "bad-request", "WebSocket upgrade required");

  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return json_error(req, http::status::method_not_allowed, "bad-request", "method not allowed");
  const std::string file = resolve_static(ctx.web_root, path);
  if (file.empty()) return json_error(req, http::status::not_found, "not-found", "no such file");
  std::ifstream in(file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  Response res = make(req, http::status::ok, ss.str(), mime_type(file));
  res.set(http::field::cache_control, "no-cache");
  if (req.method() == http::verb::head) res.body().clear();
  return res;
}

}  // namespace sb::service
