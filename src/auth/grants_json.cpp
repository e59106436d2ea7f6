#include "auth/grants_json.h"

#include <boost/json.hpp>

namespace sb::auth {

namespace json = boost::json;

std::string grants_to_json(const Grants& g) {
  json::array rooms;
  for (const std::string& r : g.rooms) rooms.emplace_back(r);
  return json::serialize(json::object{{"rooms", std::move(rooms)},
                                      {"publish", g.publish},
                                      {"subscribe", g.subscribe},
                                      {"data", g.data},
                                      {"admin", g.admin}});
}

std::string grants_from_json(std::string_view text, Grants& out) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return "grants is not a JSON object";
  const json::object& o = v.get_object();
  Grants g;
  if (const json::value* rooms = o.if_contains("rooms")) {
    if (!rooms->is_array()) return "grants.rooms is not an array";
    for (const json::value& r : rooms->get_array()) {
      if (!r.is_string()) return "grants.rooms holds a non-string";
      g.rooms.emplace_back(r.get_string());
    }
  }
  struct Flag {
    const char* key;
    bool Grants::*field;
  };
  static constexpr Flag kFlags[] = {{"publish", &Grants::publish},
                                    {"subscribe", &Grants::subscribe},
                                    {"data", &Grants::data},
                                    {"admin", &Grants::admin}};
  for (const Flag& f : kFlags) {
    if (const json::value* b = o.if_contains(f.key)) {
      if (!b->is_bool()) return std::string("grants.") + f.key + " is not a bool";
      g.*f.field = b->get_bool();
    }
  }
  out = std::move(g);
  return {};
}

}  // namespace sb::auth
