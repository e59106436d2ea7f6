#include "service/webhooks.h"

#include <openssl/hmac.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <deque>
#include <stdexcept>

#include "core/json_text.h"
#include "core/random.h"

namespace sb::service {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string webhook_body(const RoomEvent& e, std::string_view id) {
  std::string s = "{\"id\":";
  json_append_string(s, id);
  s += ",\"event\":";
  json_append_string(s, to_string(e.type));
  s += ",\"created_at\":";
  json_append_uint(s, static_cast<uint64_t>(e.at));
  s += ",\"room\":{\"name\":";
  json_append_string(s, e.room.str());
  s += ",\"kind\":";
  json_append_string(s, e.kind);
  s += ",\"created_at\":";
  json_append_uint(s, static_cast<uint64_t>(e.room_created_at));
  s += ",\"metadata\":";
  s += e.metadata.empty() ? std::string("{}") : e.metadata;
  s += "}";
  if (e.peer) {
    s += ",\"peer\":{\"peer\":";
    json_append_string(s, e.peer->peer.str());
    s += ",\"user\":";
    json_append_string(s, e.peer->user.str());
    if (!e.peer->name.empty()) {
      s += ",\"name\":";
      json_append_string(s, e.peer->name);
    }
    s += ",\"metadata\":";
    s += e.peer->metadata.empty() ? std::string("{}") : e.peer->metadata;
    s += ",\"joined_at\":";
    json_append_uint(s, static_cast<uint64_t>(e.peer->joined_at));
    s += "}";
  }
  if (!e.reason.empty()) {
    s += ",\"reason\":";
    json_append_string(s, e.reason);
  }
  s += "}";
  return s;
}

std::string webhook_signature(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0xf]);
  }
  return out;
}

std::chrono::milliseconds webhook_backoff(unsigned retry_ms, unsigned attempt) {
  uint64_t d = retry_ms;
  for (unsigned i = 2; i < attempt && d < 60000; ++i) d *= 2;
  return std::chrono::milliseconds(std::min<uint64_t>(d, 60000));
}

namespace {

struct Target {
  std::string url;
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // path and query
};

Target parse_target(const std::string& url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty())
    throw std::invalid_argument("webhook URL '" + url + "': expected http(s)://HOST[:PORT][/PATH]");
  Target t;
  t.url = url;
  t.tls = u->scheme() == "https";
  t.host = u->host_address();
  t.port = u->has_port() ? std::string(u->port()) : (t.tls ? "443" : "80");
  t.target = u->encoded_path().empty() ? "/" : std::string(u->encoded_path());
  if (u->has_query()) t.target += "?" + std::string(u->encoded_query());
  return t;
}

// One event on its way to one URL.
struct Job {
  std::shared_ptr<const std::string> body;
  std::shared_ptr<const std::string> signature;
  std::string id;
  std::string event;
  int64_t timestamp = 0;
  size_t target = 0;
  unsigned attempt = 1;
};

}  // namespace

struct Webhooks::Impl {
  Impl(WebhookConfig c, WebhookMetrics& m, std::atomic<size_t>& p)
      : cfg(std::move(c)), metrics(m), pending(p), guard(asio::make_work_guard(ioc)) {
    for (const auto& u : cfg.urls) targets.push_back(parse_target(u));
    if (cfg.max_attempts == 0) cfg.max_attempts = 1;
    // https: the system's trust store plus, optionally, one more CA; TLS 1.2+; the
    // certificate must name the URL's host (or IP address).
    ssl.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                    asio::ssl::context::no_tlsv1_1);
    ssl.set_verify_mode(asio::ssl::verify_peer);
    boost::system::error_code ec;
    ssl.set_default_verify_paths(ec);  // no system store is not fatal: ca_file may be all we need
    if (!cfg.ca_file.empty()) {
      ssl.load_verify_file(cfg.ca_file, ec);
      if (ec) throw std::invalid_argument("webhook CA file '" + cfg.ca_file + "': " + ec.message());
    }
  }

  WebhookConfig cfg;
  WebhookMetrics& metrics;
  std::atomic<size_t>& pending;
  std::vector<Target> targets;
  asio::ssl::context ssl{asio::ssl::context::tls_client};
  // Touched only on the webhook thread:
  std::deque<Job> ready;
  size_t in_flight = 0;
  // Last: destroyed first, with the handlers it still holds.
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard;

  void accept(RoomEvent e);
  void pump();
  void attempt(Job job);
  void finished(Job job, bool ok, const std::string& what);
};

// On the webhook thread: formats and signs once, queues one job per URL.
void Webhooks::Impl::accept(RoomEvent e) {
  auto id = random_hex(16);
  auto body = std::make_shared<const std::string>(webhook_body(e, id));
  auto sig = std::make_shared<const std::string>(webhook_signature(cfg.secret, *body));
  for (size_t i = 0; i < targets.size(); ++i)
    ready.push_back(Job{body, sig, id, std::string(to_string(e.type)), e.at, i, 1});
  pump();
}

void Webhooks::Impl::pump() {
  while (in_flight < cfg.max_in_flight && !ready.empty()) {
    Job j = std::move(ready.front());
    ready.pop_front();
    ++in_flight;
    attempt(std::move(j));
  }
}

namespace {

// One HTTP POST: resolve, connect, (TLS handshake,) write, read, all under one deadline.
template <class Stream>
class Post : public std::enable_shared_from_this<Post<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  using Done = std::function<void(bool ok, std::string what)>;
  Post(asio::io_context& ioc, asio::ssl::context& ssl, const Target& t, http::request<http::string_body> req,
       std::chrono::milliseconds timeout, Done done)
      : resolver_(ioc),
        stream_(make_stream(ioc, ssl)),
        target_(t),
        req_(std::move(req)),
        timeout_(timeout),
        done_(std::move(done)) {}

  void run() {
    beast::get_lowest_layer(stream_).expires_after(timeout_);
    resolver_.async_resolve(
        target_.host, target_.port,
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
  static Stream make_stream(asio::io_context& ioc, asio::ssl::context& ssl) {
    if constexpr (kTls)
      return Stream(ioc, ssl);
    else
      return Stream(ioc);
  }

  void handshake() {
    if constexpr (kTls) {
      // SNI (SSL_set_tlsext_host_name, spelled out: the macro uses an old-style cast).
      if (!SSL_ctrl(stream_.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                    const_cast<char*>(target_.host.c_str())))
        return fail("tls",
                    beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()));
      stream_.set_verify_callback(asio::ssl::host_name_verification(target_.host));
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
    http::async_write(stream_, req_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->fail("write", ec);
      self->parser_.body_limit(64 * 1024);
      http::async_read(self->stream_, self->buffer_, self->parser_, [self](beast::error_code ec2, size_t) {
        if (ec2) return self->fail("read", ec2);
        const unsigned status = self->parser_.get().result_int();
        beast::error_code ignored;
        beast::get_lowest_layer(self->stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
        self->done_(status >= 200 && status < 300, "HTTP " + std::to_string(status));
      });
    });
  }
  void fail(const char* step, beast::error_code ec) { done_(false, std::string(step) + ": " + ec.message()); }

  tcp::resolver resolver_;
  Stream stream_;
  const Target& target_;
  http::request<http::string_body> req_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  std::chrono::milliseconds timeout_;
  Done done_;
};

}  // namespace

void Webhooks::Impl::attempt(Job job) {
  const Target& t = targets[job.target];
  http::request<http::string_body> req{http::verb::post, t.target, 11};
  const bool default_port = t.port == (t.tls ? "443" : "80");
  req.set(http::field::host, default_port ? t.host : t.host + ":" + t.port);
  req.set(http::field::user_agent, "switchboard-webhooks/0.1");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::connection, "close");
  req.set("X-Switchboard-Event", job.event);
  req.set("X-Switchboard-Id", job.id);
  req.set("X-Switchboard-Timestamp", std::to_string(job.timestamp));
  req.set("X-Switchboard-Signature", *job.signature);
  req.set("X-Switchboard-Attempt", std::to_string(job.attempt));
  req.body() = *job.body;
  req.prepare_payload();
  metrics.attempts.inc();
  auto shared = std::make_shared<Job>(std::move(job));
  auto done = [this, shared](bool ok, std::string what) { finished(std::move(*shared), ok, what); };
  const auto timeout = std::chrono::milliseconds(cfg.timeout_ms);
  if (t.tls)
    std::make_shared<Post<beast::ssl_stream<beast::tcp_stream>>>(ioc, ssl, t, std::move(req), timeout,
                                                                 std::move(done))
        ->run();
  else
    std::make_shared<Post<beast::tcp_stream>>(ioc, ssl, t, std::move(req), timeout, std::move(done))->run();
}

void Webhooks::Impl::finished(Job job, bool ok, const std::string& what) {
  --in_flight;
  const Target& t = targets[job.target];
  if (ok) {
    metrics.delivered.inc();
    pending.fetch_sub(1, std::memory_order_relaxed);
    spdlog::debug("webhook {} {} delivered to {} (attempt {})", job.event, job.id, t.url, job.attempt);
  } else if (job.attempt >= cfg.max_attempts) {
    metrics.failed.inc();
    pending.fetch_sub(1, std::memory_order_relaxed);
    spdlog::warn("webhook {} {} to {} failed after {} attempts: {}", job.event, job.id, t.url, job.attempt,
                 what);
  } else {
    metrics.retries.inc();
    ++job.attempt;
    const auto delay = webhook_backoff(cfg.retry_ms, job.attempt);
    spdlog::info("webhook {} {} to {}: {}; retry {} in {} ms", job.event, job.id, t.url, what, job.attempt,
                 delay.count());
    auto timer = std::make_shared<asio::steady_timer>(ioc, delay);
    timer->async_wait([this, timer, j = std::move(job)](const beast::error_code& ec) mutable {
      if (ec) return;
      ready.push_back(std::move(j));
      pump();
    });
  }
  pump();
}

Webhooks::Webhooks(WebhookConfig cfg, WebhookMetrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(cfg), metrics, pending_)) {
  metrics.queued = [this] { return static_cast<uint64_t>(pending()); };
}

Webhooks::~Webhooks() {
  stop(std::chrono::milliseconds(0));
  impl_->metrics.queued = nullptr;
}

void Webhooks::start() {
  thread_ = std::thread([this] { impl_->ioc.run(); });
}

void Webhooks::publish(RoomEvent event) {
  if (stopping_.load(std::memory_order_relaxed) || impl_->targets.empty()) return;
  const size_t n = impl_->targets.size();
  // Reserve n places in the bounded queue, or drop the event.
  size_t cur = pending_.load(std::memory_order_relaxed);
  do {
    if (cur + n > impl_->cfg.queue) {
      // Logged for the first drop and then once per 1000: this runs under the Hub's lock, in a flood.
      const uint64_t before = impl_->metrics.dropped.fetch_add(n, std::memory_order_relaxed);
      if (before == 0 || before / 1000 != (before + n) / 1000)
        spdlog::warn("webhook queue full ({}): {} deliveries dropped so far", impl_->cfg.queue, before + n);
      return;
    }
  } while (!pending_.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
  impl_->metrics.enqueued.fetch_add(n, std::memory_order_relaxed);
  asio::post(impl_->ioc, [this, e = std::move(event)]() mutable { impl_->accept(std::move(e)); });
}

void Webhooks::stop(std::chrono::milliseconds grace) {
  if (stopping_.exchange(true)) {
    if (thread_.joinable()) thread_.join();
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (thread_.joinable() && pending() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (pending() > 0) spdlog::warn("webhooks: {} deliveries abandoned at shutdown", pending());
  impl_->guard.reset();
  impl_->ioc.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sb::service
