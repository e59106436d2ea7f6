// core/json_text.h — writing JSON text by hand on the hot path.
//
// Server messages are small, fixed-shape objects; building them with string
// appends is several times faster than a DOM and lets relay payloads be copied
// byte for byte. Only strings need care: json_append_string escapes them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sb {

// Appends `s` as a quoted JSON string. `s` must be valid UTF-8 (everything we
// embed comes from validated JSON or from our own ids). Cost: one pass over s.
void json_append_string(std::string& out, std::string_view s);

// Returns `s` as a quoted JSON string.
std::string json_quote(std::string_view s);

// Appends a decimal integer.
void json_append_uint(std::string& out, uint64_t v);

}  // namespace sb
