#include "service/auth_backend.h"

#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <stdexcept>

#include "auth/grants_json.h"
#include "core/json_text.h"

namespace sb::service {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

bool parse_backend_answer(const std::string& body, identity::Principal& out, std::string& detail) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    detail = "answer is not a JSON object";
    return false;
  }
  const json::object& o = v.get_object();
  const json::value* user = o.if_contains("user");
  if (!user || !user->is_string() || user->get_string().empty()) {
    detail = "answer has no user";
    return false;
  }
  out.user = UserId(std::string(user->get_string()));
  if (const json::value* name = o.if_contains("name")) {
    if (!name->is_string()) {
      detail = "answer's name is not a string";
      return false;
    }
    out.name = std::string(name->get_string());
  }
  out.grants = auth::Grants{};
  if (const json::value* g = o.if_contains("grants")) {
    std::string err = auth::grants_from_json(json::serialize(*g), out.grants);
    if (!err.empty()) {
      detail = "answer's " + err;
      return false;
    }
  }
  return true;
}

struct AuthBackend::Impl {
  AuthBackendConfig cfg;
  bool tls = false;
  std::string host, port, target;
  // Read-only after construction; OpenSSL allows creating connections from one context on many threads.
  mutable asio::ssl::context ssl{asio::ssl::context::tls_client};
};

AuthBackend::AuthBackend(AuthBackendConfig cfg) : impl_(std::make_unique<Impl>()) {
  auto u = boost::urls::parse_absolute_uri(cfg.url);
  if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty())
    throw std::invalid_argument("auth backend URL '" + cfg.url + "': expected http(s)://HOST[:PORT][/PATH]");
  impl_->tls = u->scheme() == "https";
  impl_->host = u->host_address();
  impl_->port = u->has_port() ? std::string(u->port()) : (impl_->tls ? "443" : "80");
  impl_->target = u->encoded_path().empty() ? "/" : std::string(u->encoded_path());
  if (u->has_query()) impl_->target += "?" + std::string(u->encoded_query());
  auto& ssl = impl_->ssl;
  ssl.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1);
  ssl.set_verify_mode(asio::ssl::verify_peer);
  boost::system::error_code ec;
  ssl.set_default_verify_paths(ec);
  if (!cfg.ca_file.empty()) {
    ssl.load_verify_file(cfg.ca_file, ec);
    if (ec) throw std::invalid_argument("auth backend CA file '" + cfg.ca_file + "': " + ec.message());
  }
  impl_->cfg = std::move(cfg);
}

AuthBackend::~AuthBackend() = default;

namespace {

// The exchange, as a chain of asynchronous steps on a private io_context; the
// caller bounds it with run_for(). `result` is set once the answer is read.
template <class Stream>
struct Exchange : std::enable_shared_from_this<Exchange<Stream>> {
  Exchange(asio::io_context& ioc, Stream s, std::string h, std::string p)
      : resolver(ioc), stream(std::move(s)), host(std::move(h)), port(std::move(p)) {}

  void run() {
    resolver.async_resolve(host, port, [self = this->shared_from_this()](beast::error_code ec, auto r) {
      if (ec) return self->fail("resolve", ec);
      beast::get_lowest_layer(self->stream).async_connect(r, [self](beast::error_code ec2, const auto&) {
        if (ec2) return self->fail("connect", ec2);
        self->handshake();
      });
    });
  }
  void handshake() {
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      if (!SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                    const_cast<char*>(host.c_str())))
        return fail("tls", beast::error_code(asio::error::invalid_argument));
      stream.set_verify_callback(asio::ssl::host_name_verification(host));
      stream.async_handshake(asio::ssl::stream_base::client,
                             [self = this->shared_from_this()](beast::error_code ec) {
                               if (ec) return self->fail("tls handshake", ec);
                               self->write();
                             });
    } else {
      write();
    }
  }
  void write() {
    http::async_write(stream, req, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->fail("write", ec);
      self->parser.body_limit(64 * 1024);
      http::async_read(self->stream, self->buffer, self->parser, [self](beast::error_code ec2, size_t) {
        if (ec2) return self->fail("read", ec2);
        self->status = self->parser.get().result_int();
        self->body = self->parser.get().body();
        self->done = true;
      });
    });
  }
  void fail(const char* step, beast::error_code ec) {
    error = std::string(step) + ": " + ec.message();
    done = true;
  }

  tcp::resolver resolver;
  Stream stream;
  std::string host, port;
  http::request<http::string_body> req;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  bool done = false;
  unsigned status = 0;
  std::string body;
  std::string error;
};

}  // namespace

BackendAnswer AuthBackend::check(const std::string& username, const std::string& password) const {
  const Impl& c = *impl_;
  http::request<http::string_body> req{http::verb::post, c.target, 11};
  const bool default_port = c.port == (c.tls ? "443" : "80");
  req.set(http::field::host, default_port ? c.host : c.host + ":" + c.port);
  req.set(http::field::user_agent, "switchboard-auth/0.1");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, "application/json");
  req.set(http::field::connection, "close");
  std::string body = "{\"username\":";
  json_append_string(body, username);
  body += ",\"password\":";
  json_append_string(body, password);
  body += "}";
  req.body() = std::move(body);
  req.prepare_payload();

  const auto timeout = std::chrono::milliseconds(c.cfg.timeout_ms);
  asio::io_context ioc{1};
  unsigned status = 0;
  std::string answer, error;
  bool done = false;
  auto go = [&](auto ex) {
    beast::get_lowest_layer(ex->stream).expires_after(timeout);
    ex->req = std::move(req);
    ex->run();
    ioc.run_for(timeout);
    done = ex->done;
    status = ex->status;
    answer = std::move(ex->body);
    error = ex->error;
    beast::error_code ignored;
    beast::get_lowest_layer(ex->stream).socket().close(ignored);
  };
  if (c.tls) {
    go(std::make_shared<Exchange<beast::ssl_stream<beast::tcp_stream>>>(
        ioc, beast::ssl_stream<beast::tcp_stream>(ioc, c.ssl), c.host, c.port));
  } else {
    go(std::make_shared<Exchange<beast::tcp_stream>>(ioc, beast::tcp_stream(ioc), c.host, c.port));
  }

  BackendAnswer out;
  if (!done) {
    out.kind = BackendAnswer::Kind::unavailable;
    out.detail = "no answer within " + std::to_string(c.cfg.timeout_ms) + " ms";
  } else if (!error.empty()) {
    out.kind = BackendAnswer::Kind::unavailable;
    out.detail = error;
  } else if (status == 200) {
    out.kind = parse_backend_answer(answer, out.principal, out.detail) ? BackendAnswer::Kind::ok
                                                                       : BackendAnswer::Kind::bad_response;
  } else if (status >= 400 && status < 500) {
    out.kind = BackendAnswer::Kind::rejected;
    out.detail = "HTTP " + std::to_string(status);
  } else {
    out.kind = BackendAnswer::Kind::bad_response;
    out.detail = "HTTP " + std::to_string(status);
  }
  return out;
}

}  // namespace sb::service
