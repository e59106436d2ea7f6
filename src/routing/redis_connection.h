// routing/redis_connection.h — one Redis connection driven by an Asio loop.
//
// hiredis (0.14, Debian bookworm) speaks the protocol; this file gives it I/O
// readiness (its event hooks mapped to stream_descriptor::async_wait on the
// loop), a connect timeout and command timeouts (hiredis 0.14 has no timers
// of its own), and reconnection with capped exponential backoff. A reply is
// copied out of hiredis' memory before the callback runs, so callbacks may
// keep it and may issue further commands or stop the connection.
//
// Redis' own rule applies: once a connection has sent SUBSCRIBE it only
// carries pub/sub, so a node uses one connection for commands and one for
// subscriptions (RedisConnection::subscribe). After a reconnect nothing is
// replayed: the owner hears `up` again and re-subscribes / re-registers.
//
// hiredis writes with write(2): a process using this must ignore SIGPIPE
// (main.cpp does), or a write to a Redis that just died kills it.
//
// Thread safety: none. Every call, and every callback, runs on the
// io_context given at construction.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

struct redisAsyncContext;  // hiredis

namespace sb::routing {

struct RedisReply {
  enum class Type { nil, status, error, integer, string, array };
  Type type = Type::nil;
  int64_t integer = 0;
  std::string str;                   // status, error and string replies
  std::vector<RedisReply> elements;  // array replies

  bool is_error() const { return type == Type::error; }
};

// Where Redis is: `redis://[:password@]host[:port][/db]` or `unix:///path/to.sock[?db=N]`.
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string unix_path;  // when set, host and port are unused
  std::string password;
  int db = 0;

  std::string describe() const;  // for logs; never contains the password
};

// Parses a Redis URL. False with a reason in `error` when it is not one of the
// two forms above.
bool parse_redis_url(std::string_view url, RedisEndpoint& out, std::string& error);

struct RedisOptions {
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};  // a reply later than this drops the connection
  std::chrono::milliseconds backoff_min{100};       // first reconnect delay, doubled up to backoff_max
  std::chrono::milliseconds backoff_max{5000};
  std::string name;  // CLIENT SETNAME on every connect (CLIENT LIST shows it), unless empty; no spaces
};

class RedisConnection : public std::enable_shared_from_this<RedisConnection> {
 public:
  // The reply, or nullptr when there will be none (connection lost, command
  // timed out, stopped). An error reply (e.g. WRONGTYPE) is a reply.
  using Callback = std::function<void(const RedisReply*)>;
  // A pub/sub message: channel and payload (binary-safe).
  using MessageHandler = std::function<void(std::string_view channel, std::string_view payload)>;
  // Connection state changes: true when connected (and AUTH/SELECT/SETNAME done), false when lost.
  using StateHandler = std::function<void(bool up)>;

  static std::shared_ptr<RedisConnection> create(boost::asio::io_context& ioc, RedisEndpoint endpoint,
                                                 RedisOptions options = {});
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  void on_state(StateHandler h) { on_state_ = std::move(h); }
  void on_message(MessageHandler h) { on_message_ = std::move(h); }
  // Redis confirmed a SUBSCRIBE of `channel`: messages published on it from
  // now on reach this connection (the payload argument is empty).
  void on_subscribed(MessageHandler h) { on_subscribed_ = std::move(h); }
  // Redis confirmed an UNSUBSCRIBE of `channel`: every message published on it
  // before reached on_message() already, and none comes after.
  void on_unsubscribed(MessageHandler h) { on_unsubscribed_ = std::move(h); }

  // Starts connecting; reconnects after every loss until stop().
  void start();
  // Closes the connection; pending callbacks get nullptr. No reconnect.
  void stop();

  bool up() const { return up_; }

  // Sends one command, arguments binary-safe. Returns false (and never calls
  // `cb`) when not connected: the caller decides whether to queue or drop.
  // Cost: one copy of the arguments into hiredis' output buffer; replies are
  // matched in order, so a timed-out reply drops the whole connection.
  // `EVAL script ...` goes out as `EVALSHA sha1 ...`, preceded by one `SCRIPT
  // LOAD` the first time this connection (since it came up) uses the script:
  // the script crosses the wire, and is hashed by Redis, once per connection
  // instead of once per call. Same connection, so the load runs first. If the
  // scripts are flushed from Redis meanwhile (SCRIPT FLUSH), the calls under
  // way fail with the NOSCRIPT error and the next one loads it again.
  bool command(const std::vector<std::string_view>& args, Callback cb = {});
  bool command(std::initializer_list<std::string_view> args, Callback cb = {}) {
    return command(std::vector<std::string_view>(args), std::move(cb));
  }

  // SUBSCRIBE / UNSUBSCRIBE on this connection (which then carries pub/sub
  // only). Messages go to on_message(). False when not connected.
  bool subscribe(const std::vector<std::string>& channels);
  bool unsubscribe(const std::vector<std::string>& channels);

 private:
  struct Link;
  struct Pending;
  RedisConnection(boost::asio::io_context& ioc, RedisEndpoint endpoint, RedisOptions options);

  void connect();
  bool send(const std::vector<std::string_view>& args, Callback cb);
  void link_up(const std::shared_ptr<Link>& link);
  void link_down(const std::shared_ptr<Link>& link);
  void schedule_reconnect();
  void arm_timeout();
  void on_reply(Pending* p, const RedisReply* reply);
  static void on_subscribe_reply(::redisAsyncContext* ac, void* reply, void* privdata);

  boost::asio::io_context& ioc_;
  RedisEndpoint endpoint_;
  RedisOptions options_;
  boost::asio::steady_timer reconnect_timer_;
  boost::asio::steady_timer timeout_timer_;
  std::shared_ptr<Link> link_;
  std::deque<std::chrono::steady_clock::time_point> deadlines_;  // of outstanding commands, in order
  // Scripts by the address of their text (callers pass the same static text): the text, for a check, and its
  // SHA1.
  struct Script {
    std::string text;
    std::string sha1;
  };
  std::unordered_map<const char*, Script> scripts_;
  std::unordered_set<std::string> loaded_;  // SHA1s loaded on the current link
  const std::string& sha1_of(std::string_view script);
  std::chrono::milliseconds backoff_;
  bool running_ = false;
  bool up_ = false;
  StateHandler on_state_;
  MessageHandler on_message_;
  MessageHandler on_subscribed_;
  MessageHandler on_unsubscribed_;

  friend struct Link;
};

}  // namespace sb::routing
