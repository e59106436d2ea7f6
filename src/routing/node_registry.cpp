#include "routing/node_registry.h"

#include <spdlog/spdlog.h>

#include <vector>

namespace sb::routing {

namespace {
const std::string kNodes = "sb:nodes";
std::string node_key(const std::string& id) {
  return "sb:node:" + id;
}
std::string reap_key(const std::string& id) {
  return "sb:reap:" + id;
}
}  // namespace

std::shared_ptr<NodeRegistry> NodeRegistry::create(boost::asio::io_context& ioc,
                                                   std::shared_ptr<RedisConnection> redis,
                                                   std::string node_id, NodeRegistryOptions options) {
  return std::shared_ptr<NodeRegistry>(new NodeRegistry(ioc, std::move(redis), std::move(node_id), options));
}

NodeRegistry::NodeRegistry(boost::asio::io_context& ioc, std::shared_ptr<RedisConnection> redis,
                           std::string node_id, NodeRegistryOptions options)
    : redis_(std::move(redis)), id_(std::move(node_id)), options_(std::move(options)), timer_(ioc) {}

void NodeRegistry::start() {
  if (running_) return;
  running_ = true;
  beat();
}

void NodeRegistry::stop(bool leave) {
  running_ = false;
  ready_ = false;
  timer_.cancel();
  if (leave && redis_->up()) {  // unlisted first, then the key: scan() never sees one without the other
    redis_->command({"SREM", kNodes, id_});
    redis_->command({"DEL", node_key(id_)});
  }
}

void NodeRegistry::beat() {
  if (!running_) return;
  timer_.expires_after(options_.heartbeat);
  timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (auto self = weak.lock(); self && !ec) self->beat();
  });
  const std::string ttl = std::to_string(options_.ttl.count());
  const bool sent =
      redis_->command({"SET", node_key(id_), options_.info, "PX", ttl},
                      [weak = weak_from_this()](const RedisReply* r) {
                        auto self = weak.lock();
                        if (!self || !self->running_) return;
                        const bool ok = r != nullptr && !r->is_error();
                        if (ok != self->ready_)
                          spdlog::info("cluster: node {} {}", self->id_,
                                       ok ? "registered" : "not registered (Redis unreachable)");
                        self->ready_ = ok;
                      }) &&
      redis_->command({"SADD", kNodes, id_});
  if (!sent) {
    if (ready_) spdlog::warn("cluster: node {} not registered (Redis unreachable)", id_);
    ready_ = false;
    return;
  }
  scan();
}

// Lists the registered nodes and which of them have an expired key, in one
// script so the two reads are atomic: a node leaving cleanly (SREM, then DEL)
// is never seen listed without its key. Replies come in order, so our own SET
// is already applied when this runs.
namespace {
const char* kScanScript = R"lua(
local live, dead = {}, {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', 'sb:node:' .. id) == 1 then live[#live + 1] = id else dead[#dead + 1] = id end
end
return {live, dead}
)lua";
}  // namespace

void NodeRegistry::forget(const std::string& node) {
  redis_->command({"SREM", kNodes, node});
}

void NodeRegistry::scan() {
  redis_->command({"EVAL", kScanScript, "1", kNodes}, [weak = weak_from_this()](const RedisReply* r) {
    auto self = weak.lock();
    if (!self || !self->running_ || r == nullptr || r->type != RedisReply::Type::array ||
        r->elements.size() != 2)
      return;
    std::set<std::string> live;
    for (const auto& e : r->elements[0].elements) live.insert(e.str);
    for (const auto& e : r->elements[1].elements) {
      const std::string node = e.str;
      if (node == self->id_) continue;  // our own key is being renewed right now
      // Expired: whoever sets the reap key first does the clean-up. It stays
      // listed meanwhile, so that a claimer that dies is replaced.
      const std::string claim_ttl = std::to_string(self->options_.claim_ttl.count());
      self->redis_->command(
          {"SET", reap_key(node), self->id_, "NX", "PX", claim_ttl}, [weak, node](const RedisReply* won) {
            auto me = weak.lock();
            if (!me || !me->running_ || won == nullptr || won->type != RedisReply::Type::status)
              return;  // nil: claimed by a node (perhaps this one) already
            spdlog::warn("cluster: node {} lost (no heartbeat); reaping its sessions", node);
            if (me->on_lost_) me->on_lost_(node);
          });
    }
    if (self->ready_) live.insert(self->id_);
    self->nodes_ = std::move(live);
  });
}

}  // namespace sb::routing
