#include "service/admin_api.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <ctime>

#include "core/json_text.h"
#include "proto/message.h"
#include "service/audit_log.h"

namespace sb::service {

namespace json = boost::json;

namespace {

Response ok_json(const Request& req, http::status status, std::string body) {
  Response res = make_response(req, status, std::move(body), "application/json");
  res.set(http::field::cache_control, "no-store");
  return res;
}

Response no_content(const Request& req) {
  Response res{http::status::no_content, req.version()};
  res.set(http::field::server, "switchboard");
  res.keep_alive(req.keep_alive());
  return res;
}

Response method_not_allowed(const Request& req, std::string_view allow) {
  Response res = json_error(req, http::status::method_not_allowed, "method-not-allowed",
                            "allowed methods: " + std::string(allow));
  res.set(http::field::allow, allow);
  return res;
}

void append_room(std::string& out, const RoomInfo& r) {
  out += "{\"name\":";
  json_append_string(out, r.name);
  out += ",\"kind\":";
  json_append_string(out, r.kind);
  out += ",\"peers\":";
  json_append_uint(out, r.peers);
  out += ",\"max_peers\":";
  json_append_uint(out, r.max_peers);
  out += ",\"created_at\":";
  json_append_uint(out, static_cast<uint64_t>(r.created_at));
  out += ",\"persistent\":";
  out += r.persistent ? "true" : "false";
  out += ",\"metadata\":";
  out += r.metadata.empty() ? std::string("{}") : r.metadata;
  out += "}";
}

std::string room_json(const RoomInfo& r) {
  std::string s;
  append_room(s, r);
  return s;
}

// Parses the body as a JSON object whose keys are all in `allowed`. On
// failure returns the error response in `err`.
std::optional<json::object> parse_object(const Request& req, std::initializer_list<std::string_view> allowed,
                                         std::optional<Response>& err) {
  auto ct = req.find(http::field::content_type);
  if (ct != req.end()) {
    std::string_view v = ct->value();
    if (v.substr(0, v.find(';')) != "application/json") {
      err = json_error(req, http::status::unsupported_media_type, "unsupported-media-type",
                       "the body must be application/json");
      return std::nullopt;
    }
  }
  boost::system::error_code ec;
  json::value v = json::parse(req.body(), ec);
  if (ec || !v.is_object()) {
    err = json_error(req, http::status::bad_request, "bad-request", "the body must be a JSON object");
    return std::nullopt;
  }
  for (const auto& kv : v.as_object()) {
    if (std::find(allowed.begin(), allowed.end(), std::string_view(kv.key())) == allowed.end()) {
      err = json_error(req, http::status::bad_request, "bad-request",
                       "unknown field '" + std::string(kv.key()) + "'");
      return std::nullopt;
    }
  }
  return std::move(v.as_object());
}

// `metadata` of a room: an object, at most the protocol's metadata limit once serialized.
std::optional<std::string> metadata_field(const Request& req, const json::object& o,
                                          std::optional<Response>& err) {
  const json::value* m = o.if_contains("metadata");
  if (!m) return std::string("{}");
  if (!m->is_object()) {
    err = json_error(req, http::status::bad_request, "bad-request", "metadata must be a JSON object");
    return std::nullopt;
  }
  std::string text = json::serialize(*m);
  if (text.size() > proto::kMaxMetadataBytes) {
    err = json_error(req, http::status::payload_too_large, "too-large",
                     "metadata is over " + std::to_string(proto::kMaxMetadataBytes) + " bytes");
    return std::nullopt;
  }
  return text;
}

}  // namespace

AdminApi::AdminApi(RoomAdmin& rooms, const AdminAuth& auth, AdminApiLimits limits)
    : rooms_(rooms), auth_(auth), limits_(limits) {}

Response AdminApi::handle(const Request& req, std::string_view remote) const {
  auto url = boost::urls::parse_origin_form(req.target());
  if (!url) return json_error(req, http::status::bad_request, "bad-request", "malformed request target");

  // Who is asking.
  auto authz = req.find(http::field::authorization);
  const AdminAuthOutcome who =
      auth_.check(authz == req.end() ? std::string_view{} : std::string_view(authz->value()),
                  static_cast<int64_t>(std::time(nullptr)));
  const std::string what = std::string(req.method_string()) + " " + std::string(url->path());
  if (who.result == AdminAuthResult::missing || who.result == AdminAuthResult::invalid) {
    if (audit_) audit_->write(AuditEvent{"admin", "denied", "unauthorized", {}, {}, remote, {}, what});
    Response res = json_error(req, http::status::unauthorized, "unauthorized", who.detail);
    res.set(http::field::www_authenticate, "Bearer realm=\"switchboard-admin\"");
    return res;
  }
  if (who.result == AdminAuthResult::forbidden) {
    if (audit_) audit_->write(AuditEvent{"admin", "denied", "forbidden", {}, {}, remote, {}, what});
    return json_error(req, http::status::forbidden, "forbidden", who.detail);
  }
  Response res = [&] {
    try {
      return route(req, *url, who);
    } catch (const RoomAdminUnavailable& e) {
      return json_error(req, http::status::service_unavailable, "unavailable", e.what());
    }
  }();
  // Reads are not actions; everything else is recorded with its outcome.
  if (audit_ && req.method() != http::verb::get && req.method() != http::verb::head) {
    const std::string detail = what + " " + std::to_string(res.result_int());
    audit_->write(AuditEvent{
        "admin", res.result_int() < 400 ? "success" : "failure", {}, who.detail, {}, remote, {}, detail});
  }
  return res;
}

Response AdminApi::route(const Request& req, const boost::urls::url_view& url,
                         const AdminAuthOutcome& who) const {
  // Route: /v1/rooms[/{room}[/peers[/{peer}]|/messages]]
  std::vector<std::string> seg;
  for (auto s : url.segments()) seg.push_back(s);
  if (!seg.empty() && seg.back().empty()) seg.pop_back();  // a trailing slash
  // seg[0] == "v1", seg[1] == "rooms" (checked by the caller's prefix match)
  const auto method = req.method();
  if (seg.size() < 2 || seg[0] != "v1" || seg[1] != "rooms")
    return json_error(req, http::status::not_found, "not-found", "no such endpoint");

  if (seg.size() == 2) {
    if (method == http::verb::get) {
      std::string out = "{\"rooms\":[";
      bool first = true;
      for (const RoomInfo& r : rooms_.rooms()) {
        if (!first) out += ",";
        first = false;
        append_room(out, r);
      }
      out += "]}";
      return ok_json(req, http::status::ok, std::move(out));
    }
    if (method == http::verb::post) {
      std::optional<Response> err;
      auto o = parse_object(req, {"name", "kind", "max_peers", "metadata"}, err);
      if (!o) return std::move(*err);
      const json::value* name = o->if_contains("name");
      if (!name || !name->is_string() || !rtc::valid_room_name(name->as_string()))
        return json_error(req, http::status::bad_request, "bad-request",
                          "name must be 1-64 characters of [A-Za-z0-9._-]");
      rtc::RoomConfig cfg;
      if (const json::value* k = o->if_contains("kind")) {
        if (!k->is_string() || !rtc::valid_room_kind(k->as_string()))
          return json_error(req, http::status::bad_request, "bad-request",
                            "kind must be \"meeting\" or \"broadcast\"");
        cfg.kind = std::string(k->as_string());
      }
      if (const json::value* mp = o->if_contains("max_peers")) {
        if (!mp->is_int64() && !mp->is_uint64())
          return json_error(req, http::status::bad_request, "bad-request", "max_peers must be an integer");
        const int64_t n = mp->is_int64()
                              ? mp->as_int64()
                              : static_cast<int64_t>(std::min<uint64_t>(mp->as_uint64(), INT64_MAX));
        if (n < 1 || static_cast<uint64_t>(n) > limits_.max_room_peers)
          return json_error(req, http::status::bad_request, "bad-request",
                            "max_peers must be between 1 and " + std::to_string(limits_.max_room_peers));
        cfg.max_peers = static_cast<size_t>(n);
      }
      auto meta = metadata_field(req, *o, err);
      if (!meta) return std::move(*err);
      cfg.metadata = std::move(*meta);
      const RoomId room(std::string(name->as_string()));
      RoomInfo info;
      if (rooms_.create_room(room, std::move(cfg), info) == AdminStatus::exists)
        return json_error(req, http::status::conflict, "conflict", "a room with this name exists");
      spdlog::info("admin: room {} created by {}", room.str(), who.detail);
      Response res = ok_json(req, http::status::created, room_json(info));
      res.set(http::field::location, "/v1/rooms/" + room.string());
      return res;
    }
    return method_not_allowed(req, "GET, POST");
  }

  const std::string& name = seg[2];
  if (!rtc::valid_room_name(name))
    return json_error(req, http::status::bad_request, "bad-request",
                      "room names are 1-64 characters of [A-Za-z0-9._-]");
  const RoomId room(name);
  auto no_room = [&] { return json_error(req, http::status::not_found, "not-found", "no such room"); };

  if (seg.size() == 3) {
    if (method == http::verb::get) {
      auto r = rooms_.room(room);
      if (!r) return no_room();
      return ok_json(req, http::status::ok, room_json(*r));
    }
    if (method == http::verb::patch) {
      std::optional<Response> err;
      auto o = parse_object(req, {"metadata"}, err);
      if (!o) return std::move(*err);
      if (!o->if_contains("metadata"))
        return json_error(req, http::status::bad_request, "bad-request", "metadata is required");
      auto meta = metadata_field(req, *o, err);
      if (!meta) return std::move(*err);
      RoomInfo info;
      if (rooms_.set_room_metadata(room, std::move(*meta), info) != AdminStatus::ok) return no_room();
      return ok_json(req, http::status::ok, room_json(info));
    }
    if (method == http::verb::delete_) {
      if (rooms_.close_room(room) != AdminStatus::ok) return no_room();
      return no_content(req);
    }
    return method_not_allowed(req, "GET, PATCH, DELETE");
  }

  if (seg[3] == "peers" && seg.size() == 4) {
    if (method != http::verb::get) return method_not_allowed(req, "GET");
    auto peers = rooms_.peers(room);
    if (!peers) return no_room();
    std::string out = "{\"room\":";
    json_append_string(out, name);
    out += ",\"peers\":[";
    bool first = true;
    for (const PeerInfo& p : *peers) {
      out += first ? "{" : ",{";
      first = false;
      out += "\"peer\":";
      json_append_string(out, p.peer);
      out += ",\"user\":";
      json_append_string(out, p.user);
      if (!p.name.empty()) {
        out += ",\"name\":";
        json_append_string(out, p.name);
      }
      out += ",\"metadata\":";
      out += p.metadata.empty() ? std::string("{}") : p.metadata;
      out += ",\"joined_at\":";
      json_append_uint(out, static_cast<uint64_t>(p.joined_at));
      out += "}";
    }
    out += "]}";
    return ok_json(req, http::status::ok, std::move(out));
  }

  if (seg[3] == "peers" && seg.size() == 5) {
    if (method != http::verb::delete_) return method_not_allowed(req, "DELETE");
    std::string reason = "kicked";
    if (!req.body().empty()) {
      std::optional<Response> err;
      auto o = parse_object(req, {"reason"}, err);
      if (!o) return std::move(*err);
      if (const json::value* r = o->if_contains("reason")) {
        if (!r->is_string() || r->as_string().empty() || r->as_string().size() > 256)
          return json_error(req, http::status::bad_request, "bad-request",
                            "reason must be a string of 1-256 bytes");
        reason = std::string(r->as_string());
      }
    }
    switch (rooms_.kick(room, PeerId(seg[4]), reason)) {
      case AdminStatus::ok: return no_content(req);
      case AdminStatus::no_peer:
        return json_error(req, http::status::not_found, "not-found", "no such peer in this room");
      default: return no_room();
    }
  }

  if (seg[3] == "messages" && seg.size() == 4) {
    if (method != http::verb::post) return method_not_allowed(req, "POST");
    std::optional<Response> err;
    auto o = parse_object(req, {"to", "data"}, err);
    if (!o) return std::move(*err);
    const json::value* data = o->if_contains("data");
    if (!data) return json_error(req, http::status::bad_request, "bad-request", "data is required");
    std::optional<PeerId> to;
    if (const json::value* t = o->if_contains("to")) {
      if (!t->is_string() || t->as_string().empty() || t->as_string().size() > proto::kMaxIdChars)
        return json_error(req, http::status::bad_request, "bad-request", "to must be a peer id");
      to = PeerId(std::string(t->as_string()));
    }
    const std::string text = json::serialize(*data);
    if (text.size() > limits_.max_data_bytes)
      return json_error(req, http::status::payload_too_large, "too-large",
                        "data is over " + std::to_string(limits_.max_data_bytes) + " bytes");
    size_t n = 0;
    switch (rooms_.send(room, to, text, n)) {
      case AdminStatus::ok: break;
      case AdminStatus::no_peer:
        return json_error(req, http::status::not_found, "not-found", "no such peer in this room");
      default: return no_room();
    }
    std::string out = "{\"recipients\":";
    json_append_uint(out, n);
    out += "}";
    return ok_json(req, http::status::ok, std::move(out));
  }

  return json_error(req, http::status::not_found, "not-found", "no such endpoint");
}

}  // namespace sb::service
