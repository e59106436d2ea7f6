// fuzz/fuzz_http.cpp — libFuzzer target for service::handle_request and the
// URL handling in front of it.
//
// Each input is used twice:
//  - as raw bytes on the wire: Beast's http::request_parser reads it with the
//    server's limits (8 KiB of header, 64 KiB of body) and, when a whole request
//    came through, handle_request() answers it;
//  - its first line as a request target: boost::urls::parse_origin_form, the
//    decoded path, every query parameter and the lookups the server does
//    (`name` for the dev token, `access_token` for the WebSocket upgrade), then
//    a GET of that target through handle_request().
// Both go to a production context and a dev-mode context, whose web_root is a
// temporary folder made at start-up:
//     <tmp>/secret.txt            sentinel, outside the web root
//     <tmp>/www-sibling/...       sentinel, in a folder whose name extends the root's
//     <tmp>/www/                  the web root: index.html, app.js, sub/...
//     <tmp>/www/escape.txt  -> ../secret.txt   (symlink out of the root)
//     <tmp>/www/up          -> ..              (symlink to the parent)
// Invariants (abort otherwise): the sentinel never appears in a response; a
// 200 for a static file carries exactly the content of a file inside the root;
// Content-Length matches the body; the dev-token name is at most 64 bytes.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include "service/http_routes.h"

namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using sb::service::HttpContext;
using sb::service::Request;
using sb::service::Response;

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz_http: invariant violated: %s\n", what);
  if (!detail.empty())
    std::fprintf(stderr, "  detail (%zu bytes): %.*s\n", detail.size(),
                 static_cast<int>(std::min<size_t>(detail.size(), 4000)), detail.data());
  std::abort();
}

void check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) fail(what, detail);
}

struct World {
  fs::path tmp;
  std::string sentinel;          // the content of every file outside the root
  std::set<std::string> served;  // contents of the files inside the root
  HttpContext prod, dev;
};

void write_file(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

const World& world() {
  static World* w = [] {
    auto* r = new World;
    std::string tmpl = (fs::temp_directory_path() / "sb-fuzz-http-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) fail("mkdtemp");
    r->tmp = tmpl;
    std::random_device rd;
    r->sentinel = "SENTINEL-outside-web-root-" + std::to_string(rd()) + std::to_string(rd());
    write_file(r->tmp / "secret.txt", r->sentinel);
    write_file(r->tmp / "www-sibling" / "secret.txt", r->sentinel);
    write_file(r->tmp / "www-sibling" / "index.html", r->sentinel);
    const std::pair<const char*, const char*> files[] = {
        {"index.html", "<!doctype html><title>root index</title>"},
        {"app.js", "console.log('app');"},
        {"style.css", "body { margin: 0 }"},
        {"sub/index.html", "<p>sub index</p>"},
        {"sub/page.html", "<p>sub page</p>"},
        {"sub/deeper/data.json", "{\"ok\":true}"},
        {"a b%20c.txt", "file with a space and a percent in its name"},
        {".hidden", "a dotfile"},
    };
    for (const auto& [name, content] : files) {
      write_file(r->tmp / "www" / name, content);
      r->served.insert(content);
    }
    fs::create_directory_symlink("..", r->tmp / "www" / "up");
    fs::create_symlink("../secret.txt", r->tmp / "www" / "escape.txt");
    fs::create_directory_symlink("../www-sibling", r->tmp / "www" / "sibling");
    const std::string root = fs::canonical(r->tmp / "www").string();
    r->prod.web_root = root;
    r->dev.web_root = root;
    r->dev.dev = true;
    r->dev.dev_token = [](const std::string& name) {
      check(name.size() <= 64, "dev-token name longer than 64 bytes", name);
      // Not the name itself: a body echoing the input could be steered into
      // holding the sentinel (libFuzzer learns it from the comparison below).
      return "{\"token\":\"t\",\"name_bytes\":" + std::to_string(name.size()) + "}";
    };
    r->dev.ready = [] { return false; };
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(world().tmp, ec);
    });
    return r;
  }();
  return *w;
}

void check_response(const World& w, const Request& req, const Response& res) {
  const std::string& body = res.body();
  check(body.find(w.sentinel) == std::string::npos, "a file outside the web root was served", req.target());
  if (res.result() == http::status::ok && res[http::field::cache_control] == "no-cache" &&
      req.method() == http::verb::get)
    check(w.served.count(body) == 1, "a static 200 whose body is no file of the web root", req.target());
  // HEAD keeps the GET's Content-Length with an empty body.
  if (req.method() != http::verb::head)
    check(res[http::field::content_length] == std::to_string(body.size()),
          "Content-Length does not match the body", req.target());
  std::ostringstream wire;  // the response must serialise
  wire << res;
}

void handle(const World& w, const Request& req) {
  check_response(w, req, sb::service::handle_request(w.prod, req));
  check_response(w, req, sb::service::handle_request(w.dev, req));
}

// The request target on its own: URL parsing, then a GET of it.
void fuzz_target(const World& w, std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  if (url) {
    check(url->buffer() == target, "parsed URL does not view the target", target);
    const std::string path = url->path();
    (void)path;
    auto params = url->params();
    for (auto p : params)
      check(p.has_value || p.value.empty(), "a parameter without a value has one", target);
    for (const char* key : {"name", "access_token"}) {
      auto it = params.find(key);
      if (it != params.end() && (*it).has_value)
        check((*it).key == key, "params.find found another key", target);
    }
  }
  Request req{http::verb::get, target, 11};
  handle(w, req);
}

// The raw bytes as an HTTP/1 request, read like the server reads one.
void fuzz_wire(const World& w, std::string_view bytes) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  size_t off = 0;
  while (off < bytes.size() && !parser.is_done()) {
    const size_t used = parser.put(boost::asio::buffer(bytes.data() + off, bytes.size() - off), ec);
    if (ec || used == 0) break;
    off += used;
  }
  if (ec == http::error::need_more || (!ec && !parser.is_done())) {
    ec = {};
    parser.put_eof(ec);
  }
  if (ec || !parser.is_done()) return;
  handle(w, parser.get());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  world();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const World& w = world();
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  fuzz_wire(w, in);
  std::string_view first_line = in.substr(0, in.find('\n'));
  // "GET /x HTTP/1.1": take the target out of a request line
  if (const size_t sp = first_line.find(' ');
      sp != std::string_view::npos && first_line.substr(sp + 1, 1) == "/") {
    first_line.remove_prefix(sp + 1);
    first_line = first_line.substr(0, first_line.find(' '));
  }
  fuzz_target(w, first_line);
  return 0;
}
