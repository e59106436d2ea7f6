// core/random.h — unguessable identifiers and secrets.
#pragma once

#include <string>

namespace sb {

// `bytes` bytes from the OS CSPRNG (getrandom), hex encoded. Used for peer ids,
// session ids and secrets; a few hundred nanoseconds each, never on the relay path.
std::string random_hex(size_t bytes);

// `bytes` bytes from the OS CSPRNG, base64url encoded without padding (RFC 4648
// §5): 16 bytes make 22 characters, short enough for an id to be stored inline
// (core/small_string.h) where 32 hex characters are not. Session ids and resume tokens.
std::string random_b64url(size_t bytes);

}  // namespace sb
