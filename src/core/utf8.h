// core/utf8.h — checking and cutting UTF-8 text from untrusted sources.
//
// JSON frames are checked by simdjson as a whole; these are for the few
// strings that arrive elsewhere (URL query parameters, HTTP bodies, CLI input)
// and end up inside JSON we build or tokens we sign.
#pragma once

#include <cstddef>
#include <string_view>

namespace sb {

// True when `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF). Cost: one pass over s.
bool utf8_valid(std::string_view s);

// The longest prefix of the valid UTF-8 text `s` of at most `max_bytes` bytes
// that does not split a character. O(1): looks back at most 3 bytes.
std::string_view utf8_prefix(std::string_view s, size_t max_bytes);

}  // namespace sb
