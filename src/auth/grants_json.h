// auth/grants_json.h — grants as JSON text, for storage and external backends.
//
// The same object as the `grants` claim (auth/grants.h):
//   {"rooms": [...], "publish": bool, "subscribe": bool, "data": bool, "admin": bool}
#pragma once

#include <string>
#include <string_view>

#include "auth/grants.h"

namespace sb::auth {

// Every field, in the order above. Cost: linear in the room patterns.
std::string grants_to_json(const Grants& g);

// Reads a JSON object over the defaults of Grants. Unknown members are
// ignored; a known member of the wrong type is an error. Returns an error
// detail, or an empty string on success. Cost: one JSON parse.
std::string grants_from_json(std::string_view text, Grants& out);

}  // namespace sb::auth
