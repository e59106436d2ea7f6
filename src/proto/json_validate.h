// proto/json_validate.h — is this text exactly one JSON value?
//
// Relayed values are forwarded byte for byte, so the server never needs their
// numbers as numbers: a grammar check (RFC 8259) is all that is required, and
// unlike a parsing validator it accepts every valid number, however large
// (1e400, 2^70). UTF-8 validity is checked separately by simdjson for the whole
// frame, so strings here are checked for escapes and control characters only.
#pragma once

#include <cstddef>
#include <string_view>

namespace sb::proto {

// True when `text` is one JSON value, optionally surrounded by white space,
// nested at most `max_depth` arrays/objects deep. Cost: one pass, no allocation.
bool json_valid(std::string_view text, size_t max_depth);

}  // namespace sb::proto
