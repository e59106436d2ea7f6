// core/random.h — unguessable identifiers and secrets.
#pragma once

#include <string>

namespace sb {

// `bytes` bytes from the OS CSPRNG (getrandom), hex encoded. Used for peer ids
// and secrets; a few hundred nanoseconds each, never on the relay path.
std::string random_hex(size_t bytes);

// `bytes` bytes from the OS CSPRNG, as they come. Session ids and resume
// tokens are 16 of them, base64url-encoded (auth/base64url.h): 22 characters,
// short enough to be stored inline (core/small_string.h) where 32 hex are not.
std::string random_bytes(size_t bytes);

}  // namespace sb
