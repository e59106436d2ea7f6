// core/random.h — unguessable identifiers and secrets.
#pragma once

#include <string>

namespace sb {

// `bytes` bytes from the OS CSPRNG (getrandom), hex encoded. Used for peer ids,
// session ids and secrets; a few hundred nanoseconds each, never on the relay path.
std::string random_hex(size_t bytes);

}  // namespace sb
