#include "service/oidc_keys.h"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <stdexcept>
#include <vector>

namespace sb::service {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

struct Url {
  bool tls = false;
  std::string host, port, target;
};

std::optional<Url> parse_url(const std::string& s) {
  auto u = boost::urls::parse_absolute_uri(s);
  if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty()) return std::nullopt;
  Url r;
  r.tls = u->scheme() == "https";
  r.host = u->host_address();
  r.port = u->has_port() ? std::string(u->port()) : (r.tls ? "443" : "80");
  r.target = u->encoded_path().empty() ? "/" : std::string(u->encoded_path());
  if (u->has_query()) r.target += "?" + std::string(u->encoded_query());
  return r;
}

using Done = std::function<void(bool ok, std::string body_or_error)>;

// One HTTP GET: resolve, connect, (TLS,) write, read, under one deadline.
template <class Stream>
class Get : public std::enable_shared_from_this<Get<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  Get(asio::io_context& ioc, asio::ssl::context& ssl, Url url, std::chrono::milliseconds timeout,
      size_t limit, Done done)
      : resolver_(ioc),
        stream_(make(ioc, ssl)),
        url_(std::move(url)),
        timeout_(timeout),
        done_(std::move(done)) {
    parser_.body_limit(limit);
  }

  void run() {
    beast::get_lowest_layer(stream_).expires_after(timeout_);
    resolver_.async_resolve(
        url_.host, url_.port,
        [self = this->shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
          if (ec) return self->fail("resolve", ec);
          beast::get_lowest_layer(self->stream_)
              .async_connect(r, [self](beast::error_code ec2, const tcp::endpoint&) {
                if (ec2) return self->fail("connect", ec2);
                self->handshake();
              });
        });
  }

 private:
  static Stream make(asio::io_context& ioc, asio::ssl::context& ssl) {
    if constexpr (kTls)
      return Stream(ioc, ssl);
    else
      return Stream(ioc);
  }
  void handshake() {
    if constexpr (kTls) {
      if (!SSL_ctrl(stream_.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                    const_cast<char*>(url_.host.c_str())))
        return fail("tls",
                    beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()));
      stream_.set_verify_callback(asio::ssl::host_name_verification(url_.host));
      stream_.async_handshake(asio::ssl::stream_base::client,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->fail("tls handshake", ec);
                                self->write();
                              });
    } else {
      write();
    }
  }
  void write() {
    req_ = {http::verb::get, url_.target, 11};
    const bool default_port = url_.port == (url_.tls ? "443" : "80");
    req_.set(http::field::host, default_port ? url_.host : url_.host + ":" + url_.port);
    req_.set(http::field::user_agent, "switchboard-oidc/0.1");
    req_.set(http::field::accept, "application/json");
    req_.set(http::field::connection, "close");
    http::async_write(stream_, req_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->fail("write", ec);
      http::async_read(self->stream_, self->buffer_, self->parser_, [self](beast::error_code ec2, size_t) {
        if (ec2) return self->fail("read", ec2);
        beast::error_code ignored;
        beast::get_lowest_layer(self->stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
        const unsigned status = self->parser_.get().result_int();
        if (status != 200) return self->done_(false, "HTTP " + std::to_string(status));
        self->done_(true, std::move(self->parser_.get().body()));
      });
    });
  }
  void fail(const char* step, beast::error_code ec) { done_(false, std::string(step) + ": " + ec.message()); }

  tcp::resolver resolver_;
  Stream stream_;
  Url url_;
  std::chrono::milliseconds timeout_;
  Done done_;
  http::request<http::empty_body> req_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
};

}  // namespace

struct OidcKeys::Impl {
  Impl(OidcKeysConfig c, auth::OidcVerifier& v, std::atomic<uint64_t>& f)
      : cfg(std::move(c)), verifier(v), fetches(f), guard(asio::make_work_guard(ioc)) {
    std::string base = cfg.issuer;
    while (!base.empty() && base.back() == '/') base.pop_back();
    discovery_url = base + "/.well-known/openid-configuration";
    if (!parse_url(discovery_url))
      throw std::invalid_argument("OIDC issuer '" + cfg.issuer + "': expected http(s)://HOST[:PORT][/PATH]");
    ssl.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                    asio::ssl::context::no_tlsv1_1);
    ssl.set_verify_mode(asio::ssl::verify_peer);
    boost::system::error_code ec;
    ssl.set_default_verify_paths(ec);
    if (!cfg.ca_file.empty()) {
      ssl.load_verify_file(cfg.ca_file, ec);
      if (ec) throw std::invalid_argument("OIDC CA file '" + cfg.ca_file + "': " + ec.message());
    }
  }

  OidcKeysConfig cfg;
  auth::OidcVerifier& verifier;
  std::atomic<uint64_t>& fetches;
  std::string discovery_url;
  asio::ssl::context ssl{asio::ssl::context::tls_client};
  // Fetcher thread only:
  bool in_flight = false;
  bool refetched_once = false;
  std::chrono::steady_clock::time_point last_refetch{};
  std::vector<std::function<void()>> waiting;
  // Last: destroyed first, with the handlers it holds.
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard;

  void get(const std::string& url, Done done) {
    auto u = parse_url(url);
    if (!u) return done(false, "bad URL " + url);
    const auto timeout = std::chrono::milliseconds(cfg.timeout_ms);
    if (u->tls)
      std::make_shared<Get<beast::ssl_stream<beast::tcp_stream>>>(ioc, ssl, std::move(*u), timeout,
                                                                  cfg.max_body_bytes, std::move(done))
          ->run();
    else
      std::make_shared<Get<beast::tcp_stream>>(ioc, ssl, std::move(*u), timeout, cfg.max_body_bytes,
                                               std::move(done))
          ->run();
  }

  // Discovery, then the JWKS; `finish` runs at the end either way.
  void fetch(const char* why) {
    in_flight = true;
    get(discovery_url, [this, why](bool ok, std::string body) {
      if (!ok) return finish(why, "discovery " + discovery_url + ": " + body);
      boost::system::error_code ec;
      json::value doc = json::parse(body, ec);
      const json::object* o = ec ? nullptr : doc.if_object();
      const json::value* iss = o ? o->if_contains("issuer") : nullptr;
      const json::value* jwks = o ? o->if_contains("jwks_uri") : nullptr;
      if (!iss || !iss->is_string() || iss->get_string() != cfg.issuer)
        return finish(why, "discovery document's issuer is not " + cfg.issuer);
      if (!jwks || !jwks->is_string()) return finish(why, "discovery document has no jwks_uri");
      const std::string jwks_uri(jwks->get_string());
      get(jwks_uri, [this, why, jwks_uri](bool ok2, std::string keys) {
        if (!ok2) return finish(why, "JWKS " + jwks_uri + ": " + keys);
        std::string error;
        size_t skipped = 0;
        auto set = auth::Jwks::parse(keys, error, &skipped);
        if (!set) return finish(why, "JWKS " + jwks_uri + ": " + error);
        const size_t n = set->keys.size();
        verifier.set_keys(std::make_shared<const auth::Jwks>(std::move(*set)));
        spdlog::info("oidc: {} signing key{} from {} ({}; {} skipped)", n, n == 1 ? "" : "s", jwks_uri, why,
                     skipped);
        finish(why, {});
      });
    });
  }

  void finish(const char* why, const std::string& error) {
    if (!error.empty())
      spdlog::warn("oidc: key fetch ({}) failed, keeping the previous keys: {}", why, error);
    in_flight = false;
    fetches.fetch_add(1);
    auto w = std::move(waiting);
    waiting.clear();
    for (auto& fn : w) fn();
  }

  void refetch(std::function<void()> done) {
    if (in_flight) return waiting.push_back(std::move(done));
    const auto now = std::chrono::steady_clock::now();
    if (refetched_once && now - last_refetch < std::chrono::seconds(cfg.refetch_interval_s)) {
      spdlog::info("oidc: unknown kid, but the JWKS was refetched less than {} s ago",
                   cfg.refetch_interval_s);
      return done();
    }
    refetched_once = true;
    last_refetch = now;
    waiting.push_back(std::move(done));
    fetch("unknown kid");
  }
};

OidcKeys::OidcKeys(OidcKeysConfig cfg, auth::OidcVerifier& verifier)
    : impl_(std::make_unique<Impl>(std::move(cfg), verifier, fetches_)) {}

OidcKeys::~OidcKeys() {
  stop();
}

void OidcKeys::start() {
  asio::post(impl_->ioc, [this] { impl_->fetch("start"); });
  thread_ = std::thread([this] { impl_->ioc.run(); });
}

void OidcKeys::stop() {
  impl_->guard.reset();
  impl_->ioc.stop();
  if (thread_.joinable()) thread_.join();
}

void OidcKeys::refetch(std::function<void()> done) {
  asio::post(impl_->ioc, [this, d = std::move(done)]() mutable { impl_->refetch(std::move(d)); });
}

}  // namespace sb::service
