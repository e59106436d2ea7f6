// ws/accept_key.h — the opening handshake's key check (RFC 6455 4.2).
#pragma once

#include <string>
#include <string_view>

namespace sb::ws {

// True when `key` (Sec-WebSocket-Key) is the base64 of 16 bytes, as 4.2.1 requires.
bool valid_client_key(std::string_view key);

// Sec-WebSocket-Accept for a client's key: base64(SHA-1(key + the RFC's GUID)). One SHA-1 of 60 bytes.
std::string accept_key(std::string_view key);

}  // namespace sb::ws
