#include "routing/cluster_wire.h"

#include <boost/json.hpp>
#include <charconv>

namespace sb::routing::wire {

namespace json = boost::json;

namespace {

// --- length-prefixed fields ---------------------------------------------------

void put(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out.push_back(':');
  out.append(field);
}
void put(std::string& out, uint64_t n) {
  put(out, std::to_string(n));
}

// Reads fields back; any malformed length makes every later read fail.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool field(std::string_view& out) {
    const size_t colon = in_.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 10) return fail();
    size_t n = 0;
    auto [p, ec] = std::from_chars(in_.data(), in_.data() + colon, n);
    if (ec != std::errc() || p != in_.data() + colon || n > in_.size() - colon - 1) return fail();
    out = in_.substr(colon + 1, n);
    in_.remove_prefix(colon + 1 + n);
    return true;
  }
  bool field(std::string& out) {
    std::string_view v;
    if (!field(v)) return false;
    out.assign(v);
    return true;
  }
  template <class T>
  bool number(T& out, uint64_t max) {
    std::string_view v;
    if (!field(v)) return false;
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || v.empty() || n > max) return fail();
    out = static_cast<T>(n);
    return true;
  }
  template <class Tag>
  bool id(Id<Tag>& out) {
    std::string_view v;
    if (!field(v)) return false;
    out = Id<Tag>(v);
    return true;
  }
  bool type(proto::MsgType& out) {
    uint8_t t = 0;
    if (!number(t, static_cast<uint64_t>(proto::MsgType::refresh))) return false;
    out = static_cast<proto::MsgType>(t);
    return proto::is_relay(out) || fail();
  }
  bool flag(bool& out) {
    uint8_t f = 0;
    if (!number(f, 1)) return false;
    out = f == 1;
    return true;
  }
  bool done() const { return ok_ && in_.empty(); }
  // What is left unread (after a successful read).
  std::string_view rest() const { return in_; }

 private:
  bool fail() {
    ok_ = false;
    in_ = {};
    return false;
  }
  std::string_view in_;
  bool ok_ = true;
};

bool tagged(std::string_view& in, char tag) {
  if (in.empty() || in.front() != tag) return false;
  in.remove_prefix(1);
  return true;
}

// --- JSON helpers ------------------------------------------------------------

const json::string* str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v ? v->if_string() : nullptr;
}
bool uint_of(const json::object& o, std::string_view key, uint64_t& out) {
  const json::value* v = o.if_contains(key);
  if (!v) return false;
  if (const auto* u = v->if_uint64()) return out = *u, true;
  if (const auto* i = v->if_int64(); i && *i >= 0) return out = static_cast<uint64_t>(*i), true;
  return false;
}

bool member_from(const json::object& o, rtc::Member& out) {
  const json::string *peer = str(o, "peer"), *user = str(o, "user"), *name = str(o, "name"),
                     *metadata = str(o, "metadata"), *node = str(o, "node");
  uint64_t shard = 0, joined_at = 0;
  const json::value* pub = o.if_contains("pub");
  if (!peer || !user || !name || !metadata || !node || !pub || !pub->is_bool() ||
      !uint_of(o, "shard", shard) || !uint_of(o, "joined_at", joined_at) || peer->empty() || shard > 255)
    return false;
  out.peer = PeerId(std::string_view(*peer));
  out.user = UserId(std::string_view(*user));
  out.name.assign(name->data(), name->size());
  out.metadata.assign(metadata->data(), metadata->size());
  out.node.assign(node->data(), node->size());
  out.home = static_cast<uint32_t>(shard);
  out.joined_at = static_cast<int64_t>(joined_at);
  out.publisher = pub->get_bool();
  return true;
}

}  // namespace

std::string member_json(const rtc::Member& m) {
  json::object o;
  o["peer"] = m.peer.str();
  o["user"] = m.user.str();
  o["name"] = m.name.view();
  o["metadata"] = m.metadata.view();
  o["node"] = m.node.view();
  o["shard"] = m.home;
  o["joined_at"] = m.joined_at < 0 ? 0 : m.joined_at;
  o["pub"] = m.publisher;
  return json::serialize(o);
}

bool parse_member(std::string_view text, rtc::Member& out) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return false;
  return member_from(v.get_object(), out);
}

bool parse_event(std::string_view text, MemberEvent& out) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return false;
  const json::object& o = v.get_object();
  const json::string* ev = str(o, "ev");
  if (!ev || !uint_of(o, "ver", out.ver) || out.ver == 0) return false;
  if (*ev == "join" || *ev == "update" || *ev == "move") {
    out.kind = *ev == "join" ? MemberEvent::join : *ev == "update" ? MemberEvent::update : MemberEvent::move;
    const json::value* m = o.if_contains("m");
    return m && m->is_object() && member_from(m->get_object(), out.member);
  }
  if (*ev == "leave") {
    out.kind = MemberEvent::leave;
    const json::string *peer = str(o, "peer"), *reason = str(o, "reason");
    const json::value* pub = o.if_contains("pub");
    if (!peer || peer->empty() || !reason || !pub || !pub->is_bool()) return false;
    out.member = {};
    out.member.peer = PeerId(std::string_view(*peer));
    out.member.publisher = pub->get_bool();
    out.reason.assign(reason->data(), reason->size());
    if (const json::string* why = str(o, "why")) out.why.assign(why->data(), why->size());
    return true;
  }
  if (*ev == "room") {
    out.kind = MemberEvent::room;
    const json::string* metadata = str(o, "metadata");
    if (!metadata) return false;
    out.member = {};
    out.member.metadata.assign(metadata->data(), metadata->size());
    return true;
  }
  return false;
}

std::string encode(const PeerRelay& m) {
  std::string out(1, kPeerRelay);
  out.reserve(m.body.size() + 128);
  put(out, m.origin_node);
  put(out, m.origin_shard);
  put(out, m.from.str());
  put(out, m.to.str());
  put(out, m.room.str());
  put(out, static_cast<uint64_t>(m.type));
  put(out, m.from_viewer ? 1 : 0);
  put(out, m.ack_id);
  put(out, m.body);
  return out;
}

PeerRelayParts encode_around_to(const PeerRelay& m) {
  PeerRelayParts out;
  out.head.assign(1, kPeerRelay);
  put(out.head, m.origin_node);
  put(out.head, m.origin_shard);
  put(out.head, m.from.str());
  out.tail.reserve(m.body.size() + 64);
  put(out.tail, m.room.str());
  put(out.tail, static_cast<uint64_t>(m.type));
  put(out.tail, m.from_viewer ? 1 : 0);
  put(out.tail, m.ack_id);
  put(out.tail, m.body);
  return out;
}

std::string encode(const RelayReply& m) {
  std::string out(1, kRelayReply);
  put(out, m.to.str());
  put(out, m.shard);
  put(out, m.ack_id);
  put(out, m.verdict);
  put(out, m.reason);
  return out;
}

std::string encode(const RoomRelay& m) {
  std::string out(1, kRoomRelay);
  out.reserve(m.body.size() + 64);
  put(out, m.origin_node);
  put(out, m.except.str());
  put(out, static_cast<uint64_t>(m.type));
  put(out, m.from_viewer ? 1 : 0);
  put(out, m.body);
  return out;
}

bool decode(std::string_view in, PeerRelay& out) {
  if (!tagged(in, kPeerRelay)) return false;
  Reader r(in);
  r.field(out.origin_node) && r.number(out.origin_shard, 255) && r.id(out.from) && r.id(out.to) &&
      r.id(out.room) && r.type(out.type) && r.flag(out.from_viewer) && r.field(out.ack_id) &&
      r.field(out.body);
  return r.done() && !out.origin_node.empty() && !out.to.empty();
}

bool decode(std::string_view in, RelayReply& out) {
  if (!tagged(in, kRelayReply)) return false;
  Reader r(in);
  r.id(out.to) && r.number(out.shard, 255) && r.field(out.ack_id) && r.number(out.verdict, 2) &&
      r.field(out.reason);
  return r.done() && !out.to.empty();
}

bool decode(std::string_view in, RoomRelay& out) {
  if (!tagged(in, kRoomRelay)) return false;
  Reader r(in);
  r.field(out.origin_node) && r.id(out.except) && r.type(out.type) && r.flag(out.from_viewer) &&
      r.field(out.body);
  return r.done() && !out.origin_node.empty();
}

std::string encode(const KeptEvent& m) {
  std::string out(1, kKeptEvent);
  put(out, m.room.str());
  out += m.event;
  return out;
}

bool decode(std::string_view in, KeptEvent& out) {
  if (!tagged(in, kKeptEvent)) return false;
  Reader r(in);
  if (!r.id(out.room) || out.room.empty()) return false;
  out.event.assign(r.rest());
  return !out.event.empty();
}

bool is_handover(char tag) {
  return tag == Handover::release || tag == Handover::handed || tag == Handover::point ||
         tag == Handover::released;
}

std::string encode(const Handover& m) {
  std::string out(1, static_cast<char>(m.kind));
  put(out, m.peer.str());
  put(out, m.session.str());
  put(out, m.node);
  return out;
}

bool decode(std::string_view in, Handover& out) {
  if (in.empty() || !is_handover(in.front())) return false;
  out.kind = static_cast<Handover::Kind>(in.front());
  in.remove_prefix(1);
  Reader r(in);
  r.id(out.peer) && r.id(out.session) && r.field(out.node);
  return r.done() && !out.peer.empty() && !out.session.empty() && !out.node.empty();
}

}  // namespace sb::routing::wire
