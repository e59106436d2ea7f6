#include "auth/grants.h"

namespace sb::auth {

// Only a trailing '*' is a wildcard: "a*b" is matched literally, so a room name
// containing '*' can still be granted exactly. "*" is the empty prefix, i.e.
// every room. Linear in the patterns; the list is short and read per join.
bool Grants::may_join(std::string_view room) const {
  for (const std::string& pattern : rooms) {
    std::string_view p = pattern;
    if (!p.empty() && p.back() == '*') {
      p.remove_suffix(1);
      if (room.starts_with(p)) return true;
    } else if (room == p) {
      return true;
    }
  }
  return false;
}

}  // namespace sb::auth
