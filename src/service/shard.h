// service/shard.h — one event loop and everything that lives on it.
//
// A shard is one thread running one io_context. Its sessions, its ShardTable
// and its parser are touched only by that thread; other threads reach it only
// by posting to its io_context (routing::LocalBus::run_on).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_set>
#include <vector>

#include "proto/parser.h"
#include "routing/local_bus.h"
#include "service/config.h"
#include "service/http_routes.h"

namespace sb::service {

class Admission;
class Hub;
struct ShardMetrics;
class TrustedProxies;
class WsSession;

struct Shard {
  explicit Shard(uint32_t i) : index(i), ioc(1), sweep(ioc), lag_probe(ioc) {}

  uint32_t index;
  // Declared before ioc, so it outlives it: a session still waiting on an
  // operation when the loop stopped is destroyed with the io_context, and its
  // destructor removes itself from this set.
  std::unordered_set<WsSession*> sessions;
  boost::asio::io_context ioc;  // concurrency hint 1: only this shard's thread runs it
  routing::ShardTable table;
  proto::Parser parser;
  boost::asio::steady_timer sweep;      // one timer per shard drives every session's deadlines
  boost::asio::steady_timer lag_probe;  // measures how late the loop runs a due timer
  // Plain WebSocket sessions read into this, one at a time, and keep only an
  // unfinished frame for themselves: an idle connection owns no receive buffer.
  static constexpr size_t kScratchBytes = 64 * 1024;
  static constexpr size_t kScratchPadding = 64;  // the JSON parser reads ahead
  std::unique_ptr<char[]> scratch = std::make_unique_for_overwrite<char[]>(kScratchBytes + kScratchPadding);
  // Sessions with frames queued this loop turn; one posted handler writes them
  // all (schedule_flush in service/ws_session.cpp). `flushing` is the list
  // being written, kept to reuse its memory.
  std::vector<std::shared_ptr<WsSession>> to_flush;
  std::vector<std::shared_ptr<WsSession>> flushing;
  bool flush_posted = false;
  bool stopping = false;
  bool draining = false;  // SIGTERM: new WebSockets get going-away {draining, reconnect} at once
  bool drained = false;   // draining, and no connection was left
  bool emptied = false;   // stopping, and its last connection is gone (reported once to on_empty)
  // Stopping: called on this shard's thread once its last connection is gone.
  // The loop itself runs on until the server stops every loop at once.
  std::function<void()> on_empty;

  // Shared, read-only after start-up.
  const Config* cfg = nullptr;
  Hub* hub = nullptr;
  const HttpContext* http = nullptr;
  Admission* admission = nullptr;
  const TrustedProxies* trusted_proxies = nullptr;
  ShardMetrics* metrics = nullptr;  // this shard's own block: only this thread writes it
};

}  // namespace sb::service
