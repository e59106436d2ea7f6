// The admin API's routing, validation and status codes, over a fake RoomAdmin.
#include "service/admin_api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>

namespace sb::service {
namespace {

namespace json = boost::json;

class FakeRooms final : public RoomAdmin {
 public:
  std::vector<RoomInfo> rooms() override {
    if (unreachable) throw RoomAdminUnavailable("Redis is gone");
    std::vector<RoomInfo> v;
    for (auto& [k, r] : rooms_) v.push_back(r);
    return v;
  }
  std::optional<RoomInfo> room(const RoomId& id) override {
    auto it = rooms_.find(id.string());
    if (it == rooms_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::vector<PeerInfo>> peers(const RoomId& id) override {
    if (!rooms_.count(id.string())) return std::nullopt;
    return peers_[id.string()];
  }
  AdminStatus create_room(const RoomId& id, rtc::RoomConfig cfg, RoomInfo& out) override {
    if (rooms_.count(id.string())) return AdminStatus::exists;
    out = RoomInfo{id.string(), cfg.kind, cfg.metadata, 0, cfg.max_peers ? cfg.max_peers : 50,
                   1700000000,  true};
    rooms_[id.string()] = out;
    return AdminStatus::ok;
  }
  AdminStatus set_room_metadata(const RoomId& id, std::string metadata, RoomInfo& out) override {
    auto it = rooms_.find(id.string());
    if (it == rooms_.end()) return AdminStatus::no_room;
    it->second.metadata = std::move(metadata);
    out = it->second;
    return AdminStatus::ok;
  }
  AdminStatus close_room(const RoomId& id) override {
    if (unreachable) throw RoomAdminUnavailable("Redis is gone");
    return rooms_.erase(id.string()) ? AdminStatus::ok : AdminStatus::no_room;
  }
  AdminStatus kick(const RoomId& id, const PeerId& peer, std::string_view reason) override {
    if (!rooms_.count(id.string())) return AdminStatus::no_room;
    auto& v = peers_[id.string()];
    for (auto it = v.begin(); it != v.end(); ++it)
      if (it->peer == peer.str()) {
        v.erase(it);
        last_reason = std::string(reason);
        return AdminStatus::ok;
      }
    return AdminStatus::no_peer;
  }
  AdminStatus send(const RoomId& id, const std::optional<PeerId>& to, std::string_view data,
                   size_t& n) override {
    if (!rooms_.count(id.string())) return AdminStatus::no_room;
    last_data = std::string(data);
    n = to ? 1 : peers_[id.string()].size();
    if (to && *to != PeerId("p1")) return AdminStatus::no_peer;
    return AdminStatus::ok;
  }

  std::map<std::string, RoomInfo> rooms_;
  std::map<std::string, std::vector<PeerInfo>> peers_;
  std::string last_reason, last_data;
  bool unreachable = false;  // every call above that checks it throws, as ClusterRoomAdmin does
};

class AdminApiTest : public ::testing::Test {
 protected:
  AdminApiTest() : auth_("key", nullptr), api_(rooms_, auth_, AdminApiLimits{100, 1000}) {}

  Response call(http::verb method, std::string target, std::string body = {}, std::string key = "key") {
    Request req{method, target, 11};
    if (!key.empty()) req.set(http::field::authorization, "Bearer " + key);
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
    req.prepare_payload();
    return api_.handle(req);
  }
  static std::string code(const Response& r) {
    return std::string(json::parse(r.body()).at("error").at("code").as_string());
  }

  FakeRooms rooms_;
  AdminAuth auth_;
  AdminApi api_;
};

TEST_F(AdminApiTest, NeedsTheKey) {
  auto r = call(http::verb::get, "/v1/rooms", {}, "");
  EXPECT_EQ(r.result(), http::status::unauthorized);
  EXPECT_EQ(code(r), "unauthorized");
  EXPECT_NE(r.find(http::field::www_authenticate), r.end());
  EXPECT_EQ(call(http::verb::get, "/v1/rooms", {}, "nope").result(), http::status::unauthorized);
}

TEST_F(AdminApiTest, UnreachableRoomsAre503AndTheNextCallWorks) {
  rooms_.unreachable = true;
  auto r = call(http::verb::get, "/v1/rooms");
  EXPECT_EQ(r.result(), http::status::service_unavailable);
  EXPECT_EQ(code(r), "unavailable");
  EXPECT_EQ(call(http::verb::delete_, "/v1/rooms/lobby").result(), http::status::service_unavailable);
  rooms_.unreachable = false;
  EXPECT_EQ(call(http::verb::get, "/v1/rooms").result(), http::status::ok);
}

TEST_F(AdminApiTest, CreateListGetPatchDelete) {
  auto c = call(http::verb::post, "/v1/rooms",
                R"({"name":"lobby","kind":"meeting","max_peers":3,"metadata":{"a":1}})");
  ASSERT_EQ(c.result(), http::status::created) << c.body();
  EXPECT_EQ(c[http::field::location], "/v1/rooms/lobby");
  auto room = json::parse(c.body()).as_object();
  EXPECT_EQ(room.at("name"), "lobby");
  EXPECT_EQ(room.at("max_peers"), 3);
  EXPECT_EQ(room.at("metadata").at("a"), 1);
  EXPECT_EQ(call(http::verb::post, "/v1/rooms", R"({"name":"lobby"})").result(), http::status::conflict);

  auto l = call(http::verb::get, "/v1/rooms");
  ASSERT_EQ(l.result(), http::status::ok);
  EXPECT_EQ(json::parse(l.body()).at("rooms").as_array().size(), 1u);
  EXPECT_EQ(call(http::verb::get, "/v1/rooms/lobby").result(), http::status::ok);
  EXPECT_EQ(call(http::verb::get, "/v1/rooms/lobby/").result(), http::status::ok)
      << "a trailing slash is fine";
  EXPECT_EQ(call(http::verb::get, "/v1/rooms/none").result(), http::status::not_found);

  auto p = call(http::verb::patch, "/v1/rooms/lobby", R"({"metadata":{"b":2}})");
  ASSERT_EQ(p.result(), http::status::ok);
  EXPECT_EQ(json::parse(p.body()).at("metadata").at("b"), 2);
  EXPECT_EQ(call(http::verb::patch, "/v1/rooms/none", R"({"metadata":{}})").result(),
            http::status::not_found);

  EXPECT_EQ(call(http::verb::delete_, "/v1/rooms/lobby").result(), http::status::no_content);
  EXPECT_EQ(call(http::verb::delete_, "/v1/rooms/lobby").result(), http::status::not_found);
}

TEST_F(AdminApiTest, RejectsBadBodies) {
  for (const char* body :
       {"", "[]", "{", R"({"name":"a b"})", R"({"name":7})", R"({"name":"x","kind":"webinar"})",
        R"({"name":"x","max_peers":0})", R"({"name":"x","max_peers":101})", R"({"name":"x","max_peers":1.5})",
        R"({"name":"x","metadata":[]})", R"({"name":"x","colour":"red"})"}) {
    auto r = call(http::verb::post, "/v1/rooms", body);
    EXPECT_EQ(r.result(), http::status::bad_request) << body;
    EXPECT_EQ(code(r), "bad-request") << body;
  }
  std::string big = R"({"name":"x","metadata":{"k":")" + std::string(5000, 'a') + "\"}}";
  auto r = call(http::verb::post, "/v1/rooms", big);
  EXPECT_EQ(r.result(), http::status::payload_too_large);
  EXPECT_EQ(code(r), "too-large");

  Request form{http::verb::post, "/v1/rooms", 11};
  form.set(http::field::authorization, "Bearer key");
  form.set(http::field::content_type, "application/x-www-form-urlencoded");
  form.body() = "name=x";
  EXPECT_EQ(api_.handle(form).result(), http::status::unsupported_media_type);
}

TEST_F(AdminApiTest, MethodsNotAllowedSayWhichAre) {
  auto r = call(http::verb::put, "/v1/rooms");
  EXPECT_EQ(r.result(), http::status::method_not_allowed);
  EXPECT_EQ(r[http::field::allow], "GET, POST");
  EXPECT_EQ(call(http::verb::post, "/v1/rooms/x/peers").result(), http::status::method_not_allowed);
  EXPECT_EQ(call(http::verb::get, "/v1/rooms/x/peers/p").result(), http::status::method_not_allowed);
  EXPECT_EQ(call(http::verb::get, "/v1/rooms/x/messages").result(), http::status::method_not_allowed);
  EXPECT_EQ(call(http::verb::get, "/v1/rooms/x/other").result(), http::status::not_found);
  EXPECT_EQ(call(http::verb::get, "/v1/rooms/a%20b").result(), http::status::bad_request);
}

TEST_F(AdminApiTest, PeersKickAndMessages) {
  ASSERT_EQ(call(http::verb::post, "/v1/rooms", R"({"name":"r"})").result(), http::status::created);
  rooms_.peers_["r"] = {PeerInfo{"p1", "u1", "Ann", "{}", 5}, PeerInfo{"p2", "u2", "", R"({"x":1})", 6}};
  auto l = call(http::verb::get, "/v1/rooms/r/peers");
  ASSERT_EQ(l.result(), http::status::ok);
  auto peers = json::parse(l.body()).at("peers").as_array();
  ASSERT_EQ(peers.size(), 2u);
  EXPECT_EQ(peers[0].at("name"), "Ann");
  EXPECT_FALSE(peers[1].as_object().contains("name"));
  EXPECT_EQ(peers[1].at("metadata").at("x"), 1);
  EXPECT_EQ(call(http::verb::get, "/v1/rooms/none/peers").result(), http::status::not_found);

  EXPECT_EQ(call(http::verb::delete_, "/v1/rooms/r/peers/p2", R"({"reason":"spam"})").result(),
            http::status::no_content);
  EXPECT_EQ(rooms_.last_reason, "spam");
  EXPECT_EQ(call(http::verb::delete_, "/v1/rooms/r/peers/p2").result(), http::status::not_found);
  EXPECT_EQ(call(http::verb::delete_, "/v1/rooms/none/peers/p1").result(), http::status::not_found);

  auto m = call(http::verb::post, "/v1/rooms/r/messages", R"({"data":{"t": [1, 2]}})");
  ASSERT_EQ(m.result(), http::status::ok) << m.body();
  EXPECT_EQ(json::parse(m.body()).at("recipients"), 1);
  EXPECT_EQ(rooms_.last_data, R"({"t":[1,2]})");
  EXPECT_EQ(call(http::verb::post, "/v1/rooms/r/messages", R"({"to":"p1","data":null})").result(),
            http::status::ok);
  EXPECT_EQ(call(http::verb::post, "/v1/rooms/r/messages", R"({"to":"p9","data":1})").result(),
            http::status::not_found);
  EXPECT_EQ(call(http::verb::post, "/v1/rooms/r/messages", R"({"to":"p1"})").result(),
            http::status::bad_request);
  EXPECT_EQ(call(http::verb::post, "/v1/rooms/r/messages", R"({"to":5,"data":1})").result(),
            http::status::bad_request);
  std::string big = R"({"data":")" + std::string(2000, 'a') + "\"}";
  EXPECT_EQ(call(http::verb::post, "/v1/rooms/r/messages", big).result(), http::status::payload_too_large);
}

}  // namespace
}  // namespace sb::service
