#include "routing/redis_connection.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <charconv>

namespace sb::routing {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- endpoint

std::string RedisEndpoint::describe() const {
  std::string s = unix_path.empty() ? "redis://" + host + ":" + std::to_string(port) : "unix://" + unix_path;
  if (db != 0) s += (unix_path.empty() ? "/" : "?db=") + std::to_string(db);
  return s;
}

bool parse_redis_url(std::string_view url, RedisEndpoint& out, std::string& error) {
  RedisEndpoint e;
  auto parse_db = [&](std::string_view s) {
    int db = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), db);
    if (ec != std::errc() || p != s.data() + s.size() || db < 0 || s.empty()) {
      error = "bad database number in Redis URL";
      return false;
    }
    e.db = db;
    return true;
  };
  if (url.starts_with("unix://")) {
    std::string_view rest = url.substr(7);
    if (auto q = rest.find("?db="); q != std::string_view::npos) {
      if (!parse_db(rest.substr(q + 4))) return false;
      rest = rest.substr(0, q);
    }
    if (rest.empty() || rest.front() != '/') {
      error = "unix:// Redis URL needs an absolute socket path";
      return false;
    }
    e.unix_path = std::string(rest);
    out = std::move(e);
    return true;
  }
  if (!url.starts_with("redis://")) {
    error = "Redis URL must start with redis:// or unix://";
    return false;
  }
  std::string_view rest = url.substr(8);
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    if (auto colon = cred.find(':'); colon != std::string_view::npos) cred = cred.substr(colon + 1);
    e.password = std::string(cred);
    rest = rest.substr(at + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (slash + 1 < rest.size() && !parse_db(rest.substr(slash + 1))) return false;
    rest = rest.substr(0, slash);
  }
  std::string_view host = rest;
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    auto close = rest.find(']');
    if (close == std::string_view::npos) {
      error = "unterminated [ in Redis URL";
      return false;
    }
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      error = "garbage after ] in Redis URL";
      return false;
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    rest = rest.substr(colon);
  } else {
    rest = {};
  }
  if (!rest.empty()) {  // ":port"
    std::string_view p = rest.substr(1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc() || end != p.data() + p.size() || port == 0 || port > 65535) {
      error = "bad port in Redis URL";
      return false;
    }
    e.port = static_cast<uint16_t>(port);
  }
  if (host.empty()) {
    error = "Redis URL has no host";
    return false;
  }
  e.host = std::string(host);
  out = std::move(e);
  return true;
}

// ---------------------------------------------------------------- replies

namespace {

RedisReply copy_reply(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STATUS: out.type = RedisReply::Type::status; break;
    case REDIS_REPLY_ERROR: out.type = RedisReply::Type::error; break;
    case REDIS_REPLY_INTEGER: out.type = RedisReply::Type::integer; break;
    case REDIS_REPLY_STRING: out.type = RedisReply::Type::string; break;
    case REDIS_REPLY_ARRAY: out.type = RedisReply::Type::array; break;
    default: out.type = RedisReply::Type::nil; break;
  }
  if (r->type == REDIS_REPLY_INTEGER) out.integer = r->integer;
  if (r->str != nullptr) out.str.assign(r->str, r->len);
  if (r->type == REDIS_REPLY_ARRAY) {
    out.elements.reserve(r->elements);
    for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(copy_reply(r->element[i]));
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- link
//
// One connection attempt: the hiredis context and the descriptor the loop
// watches for it. Shared with the pending waits, which outlive the context
// when hiredis frees it (they then find `dead` and stop). The descriptor is
// released, never closed: the fd belongs to hiredis.

struct RedisConnection::Link : std::enable_shared_from_this<Link> {
  Link(RedisConnection* o, redisAsyncContext* c, asio::io_context& ioc)
      : owner(o), ac(c), sd(ioc, c->c.fd), connect_timer(ioc) {}

  RedisConnection* owner;
  redisAsyncContext* ac;
  asio::posix::stream_descriptor sd;
  asio::steady_timer connect_timer;
  bool want_read = false, want_write = false;
  bool reading = false, writing = false;
  bool connected = false;  // TCP (or unix) connection established
  bool dead = false;       // hiredis freed (or is freeing) the context

  void arm_read() {
    if (reading || dead) return;
    reading = true;
    sd.async_wait(asio::posix::descriptor_base::wait_read,
                  [self = shared_from_this()](boost::system::error_code ec) {
                    self->reading = false;
                    if (ec || self->dead) return;
                    if (self->want_read)
                      redisAsyncHandleRead(self->ac);  // may free the context: check dead again
                    if (!self->dead && self->want_read) self->arm_read();
                  });
  }
  void arm_write() {
    if (writing || dead) return;
    writing = true;
    sd.async_wait(asio::posix::descriptor_base::wait_write,
                  [self = shared_from_this()](boost::system::error_code ec) {
                    self->writing = false;
                    if (ec || self->dead) return;
                    if (self->want_write) redisAsyncHandleWrite(self->ac);
                    if (!self->dead && self->want_write) self->arm_write();
                  });
  }
  // Called by hiredis (through the hooks below) when it frees the context.
  void release() {
    if (dead) return;
    dead = true;
    connect_timer.cancel();
    boost::system::error_code ignored;
    sd.cancel(ignored);
    (void)sd.release();
  }

  static Link* of(void* privdata) { return static_cast<Link*>(privdata); }
  static void add_read(void* p) {
    of(p)->want_read = true;
    of(p)->arm_read();
  }
  static void del_read(void* p) { of(p)->want_read = false; }
  static void add_write(void* p) {
    of(p)->want_write = true;
    of(p)->arm_write();
  }
  static void del_write(void* p) { of(p)->want_write = false; }
  static void cleanup(void* p) {
    Link* l = of(p);
    auto keep = l->shared_from_this();
    l->release();
    l->owner->link_down(keep);
  }
};

struct RedisConnection::Pending {
  RedisConnection* owner;
  Callback cb;
};

// ---------------------------------------------------------------- connection

std::shared_ptr<RedisConnection> RedisConnection::create(asio::io_context& ioc, RedisEndpoint endpoint,
                                                         RedisOptions options) {
  return std::shared_ptr<RedisConnection>(new RedisConnection(ioc, std::move(endpoint), options));
}

RedisConnection::RedisConnection(asio::io_context& ioc, RedisEndpoint endpoint, RedisOptions options)
    : ioc_(ioc),
      endpoint_(std::move(endpoint)),
      options_(options),
      reconnect_timer_(ioc),
      timeout_timer_(ioc),
      backoff_(options.backoff_min) {}

RedisConnection::~RedisConnection() {
  on_state_ = nullptr;
  stop();
}

void RedisConnection::start() {
  if (running_) return;
  running_ = true;
  connect();
}

void RedisConnection::stop() {
  running_ = false;
  up_ = false;
  reconnect_timer_.cancel();
  timeout_timer_.cancel();
  auto l = std::move(link_);  // link_down then ignores this link: no state change, no reconnect
  if (l && !l->dead) redisAsyncFree(l->ac);  // pending callbacks get nullptr; the cleanup hook runs
  deadlines_.clear();
}

void RedisConnection::connect() {
  if (!running_) return;
  redisAsyncContext* ac = endpoint_.unix_path.empty()
                              ? redisAsyncConnect(endpoint_.host.c_str(), endpoint_.port)
                              : redisAsyncConnectUnix(endpoint_.unix_path.c_str());
  if (ac == nullptr || ac->err) {
    spdlog::debug("redis {}: connect failed: {}", endpoint_.describe(), ac ? ac->errstr : "out of memory");
    if (ac) redisAsyncFree(ac);
    return schedule_reconnect();
  }
  auto link = std::make_shared<Link>(this, ac, ioc_);
  link_ = link;
  ac->data = link.get();
  ac->ev.data = link.get();
  ac->ev.addRead = &Link::add_read;
  ac->ev.delRead = &Link::del_read;
  ac->ev.addWrite = &Link::add_write;
  ac->ev.delWrite = &Link::del_write;
  ac->ev.cleanup = &Link::cleanup;
  redisAsyncSetConnectCallback(ac, [](const redisAsyncContext* c, int status) {
    Link* l = Link::of(c->data);
    if (status != REDIS_OK) return;  // hiredis frees the context next: cleanup -> link_down
    l->connected = true;
    l->connect_timer.cancel();
    l->owner->link_up(l->shared_from_this());
  });
  redisAsyncSetDisconnectCallback(ac, [](const redisAsyncContext* c, int) {
    Link* l = Link::of(c->data);
    l->owner->link_down(l->shared_from_this());
  });
  // A non-blocking connect completes when the socket becomes writable; hiredis
  // 0.14 does not ask for that itself until a command is queued.
  link->want_write = true;
  link->arm_write();
  link->connect_timer.expires_after(options_.connect_timeout);
  link->connect_timer.async_wait([weak = std::weak_ptr<Link>(link)](boost::system::error_code ec) {
    auto l = weak.lock();
    if (ec || !l || l->dead || l->connected) return;
    spdlog::debug("redis {}: connect timed out", l->owner->endpoint_.describe());
    redisAsyncFree(l->ac);
  });
}

void RedisConnection::link_up(const std::shared_ptr<Link>& link) {
  if (link != link_) return;
  // AUTH, SELECT and SETNAME first; the connection is up once the last of them succeeded.
  std::vector<std::vector<std::string>> setup;
  if (!endpoint_.password.empty()) setup.push_back({"AUTH", endpoint_.password});
  if (endpoint_.db != 0) setup.push_back({"SELECT", std::to_string(endpoint_.db)});
  if (!options_.name.empty()) setup.push_back({"CLIENT", "SETNAME", options_.name});
  auto ready = [this, weak = std::weak_ptr<Link>(link)] {
    auto l = weak.lock();
    if (!l || l != link_ || l->dead) return;
    up_ = true;
    backoff_ = options_.backoff_min;
    spdlog::info("redis {}: connected", endpoint_.describe());
    if (on_state_) on_state_(true);
  };
  if (setup.empty()) return ready();
  auto remaining = std::make_shared<size_t>(setup.size());
  for (const auto& cmd : setup) {
    std::vector<std::string_view> args(cmd.begin(), cmd.end());
    (void)send(args, [this, remaining, ready, what = cmd.front()](const RedisReply* r) {
      if (r == nullptr) return;  // connection lost meanwhile: link_down handles it
      if (r->is_error()) {
        spdlog::error("redis {}: {} failed: {}", endpoint_.describe(), what, r->str);
        if (link_ && !link_->dead) redisAsyncFree(link_->ac);
        return;
      }
      if (--*remaining == 0) ready();
    });
  }
}

void RedisConnection::link_down(const std::shared_ptr<Link>& link) {
  link->release();
  if (link != link_) return;
  link_.reset();
  deadlines_.clear();
  loaded_.clear();  // perhaps another Redis (or an empty one) next time
  timeout_timer_.cancel();
  const bool was_up = up_;
  up_ = false;
  if (was_up) {
    spdlog::warn("redis {}: connection lost", endpoint_.describe());
    if (on_state_) on_state_(false);
  }
  // Never reconnect from inside hiredis: the timer runs on a later loop turn.
  schedule_reconnect();
}

void RedisConnection::schedule_reconnect() {
  if (!running_) return;
  reconnect_timer_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, options_.backoff_max);
  reconnect_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->connect();
  });
}

bool RedisConnection::command(const std::vector<std::string_view>& args, Callback cb) {
  // Before `up`, only the AUTH/SELECT/SETNAME sent by link_up may go out.
  if (!up_) return false;
  if (args.size() < 3 || args[0] != "EVAL") return send(args, std::move(cb));
  const std::string& sha1 = sha1_of(args[1]);
  if (!loaded_.count(sha1)) {
    if (!send({"SCRIPT", "LOAD", args[1]}, {})) return false;
    loaded_.insert(sha1);
  }
  std::vector<std::string_view> call(args);
  call[0] = "EVALSHA";
  call[1] = sha1;
  return send(call, [this, cb = std::move(cb)](const RedisReply* r) {
    if (r && r->is_error() && r->str.starts_with("NOSCRIPT")) loaded_.clear();  // flushed: load again
    if (cb) cb(r);
  });
}

const std::string& RedisConnection::sha1_of(std::string_view script) {
  Script& s = scripts_[script.data()];
  if (s.sha1.empty() || s.text != script) {  // O(size) compare on a hit: the text is the key's truth
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(script.data()), script.size(), md);
    static constexpr char kHex[] = "0123456789abcdef";
    s.sha1.clear();
    for (unsigned char b : md) {
      s.sha1.push_back(kHex[b >> 4]);
      s.sha1.push_back(kHex[b & 15]);
    }
    s.text.assign(script);
  }
  return s.sha1;
}

bool RedisConnection::send(const std::vector<std::string_view>& args, Callback cb) {
  if (!link_ || link_->dead || !link_->connected || args.empty()) return false;
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (auto a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* p = new Pending{this, std::move(cb)};
  auto trampoline = [](redisAsyncContext*, void* reply, void* privdata) {
    std::unique_ptr<Pending> pending(static_cast<Pending*>(privdata));
    if (reply == nullptr) return pending->owner->on_reply(pending.get(), nullptr);
    const RedisReply copy = copy_reply(static_cast<redisReply*>(reply));
    pending->owner->on_reply(pending.get(), &copy);
  };
  if (redisAsyncCommandArgv(link_->ac, trampoline, p, static_cast<int>(argv.size()), argv.data(),
                            lens.data()) != REDIS_OK) {
    delete p;
    return false;
  }
  deadlines_.push_back(Clock::now() + options_.command_timeout);
  if (deadlines_.size() == 1) arm_timeout();
  return true;
}

void RedisConnection::on_reply(Pending* p, const RedisReply* reply) {
  if (!deadlines_.empty()) deadlines_.pop_front();
  if (p->cb) p->cb(reply);
}

// Fires at the oldest outstanding command's deadline; a reply that late means
// Redis (or the path to it) is stuck, and since replies come in order the
// only way past it is a new connection.
void RedisConnection::arm_timeout() {
  if (deadlines_.empty()) return;
  timeout_timer_.expires_at(deadlines_.front());
  timeout_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    if (self->deadlines_.empty()) return;
    if (self->deadlines_.front() > Clock::now()) return self->arm_timeout();
    spdlog::warn("redis {}: no reply within {} ms; reconnecting", self->endpoint_.describe(),
                 self->options_.command_timeout.count());
    if (self->link_ && !self->link_->dead) redisAsyncFree(self->link_->ac);
  });
}

void RedisConnection::on_subscribe_reply(redisAsyncContext* ac, void* reply, void*) {
  if (reply == nullptr) return;
  Link* l = Link::of(ac->data);
  const auto* r = static_cast<const redisReply*>(reply);
  // ["message", channel, payload] or ["subscribe" / "unsubscribe", channel, count].
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) return;
  const redisReply* kind = r->element[0];
  if (kind->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING) return;
  const std::string_view k(kind->str, kind->len);
  if (k == "subscribe" || k == "unsubscribe") {
    const MessageHandler& h = k == "subscribe" ? l->owner->on_subscribed_ : l->owner->on_unsubscribed_;
    if (h) h(std::string_view(r->element[1]->str, r->element[1]->len), {});
    return;
  }
  if (k != "message" || r->element[2]->type != REDIS_REPLY_STRING) return;
  if (l->owner->on_message_)
    l->owner->on_message_(std::string_view(r->element[1]->str, r->element[1]->len),
                          std::string_view(r->element[2]->str, r->element[2]->len));
}

bool RedisConnection::subscribe(const std::vector<std::string>& channels) {
  if (!up_ || !link_ || link_->dead || channels.empty()) return false;
  std::vector<const char*> argv{"SUBSCRIBE"};
  std::vector<size_t> lens{9};
  for (const auto& c : channels) {
    argv.push_back(c.data());
    lens.push_back(c.size());
  }
  return redisAsyncCommandArgv(link_->ac, &RedisConnection::on_subscribe_reply, nullptr,
                               static_cast<int>(argv.size()), argv.data(), lens.data()) == REDIS_OK;
}

bool RedisConnection::unsubscribe(const std::vector<std::string>& channels) {
  if (!up_ || !link_ || link_->dead || channels.empty()) return false;
  std::vector<const char*> argv{"UNSUBSCRIBE"};
  std::vector<size_t> lens{11};
  for (const auto& c : channels) {
    argv.push_back(c.data());
    lens.push_back(c.size());
  }
  return redisAsyncCommandArgv(link_->ac, &RedisConnection::on_subscribe_reply, nullptr,
                               static_cast<int>(argv.size()), argv.data(), lens.data()) == REDIS_OK;
}

}  // namespace sb::routing
