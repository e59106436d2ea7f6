// auth/grants.h — what a token allows.
//
// Grants come from the `grants` claim:
//   {"rooms": ["name" | "prefix-*" | "*"], "publish": bool, "subscribe": bool,
//    "data": bool, "admin": bool}
// Defaults when a field is absent: rooms = none, publish = true, subscribe = true,
// data = true, admin = false. Absent `grants` means all defaults (no room at all).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sb::auth {

struct Grants {
  std::vector<std::string> rooms;  // exact names, "prefix-*" patterns, or "*"
  bool publish = true;
  bool subscribe = true;
  bool data = true;
  bool admin = false;

  // True when `room` matches an entry of `rooms`. A pattern ending in '*'
  // matches every room starting with what precedes the '*'. Cost: O(total
  // length of the patterns).
  bool may_join(std::string_view room) const;
};

}  // namespace sb::auth
