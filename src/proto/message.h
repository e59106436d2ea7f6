// proto/message.h — protocol v1 vocabulary: client message types and error codes.
#pragma once

#include <cstdint>
#include <string_view>

namespace sb::proto {

enum class MsgType : uint8_t {
  hello,
  join,
  leave,
  update,
  offer,
  answer,
  ice_candidate,
  message,
  ping,
  refresh
};

// Wire names ("ice-candidate", ...). Relay types are exactly the ones a peer receives.
std::string_view to_string(MsgType t);
bool is_relay(MsgType t);

enum class ErrorCode : uint8_t {
  bad_request,
  unauthorized,
  forbidden,
  not_in_room,
  already_joined,
  peer_not_found,
  room_full,
  too_large,
  rate_limited,
  internal,
  token_expired,  // the session's token expired without a refresh (then close 4401)
  unavailable,    // cluster mode: the shared state (Redis) is unreachable; retry later
};

std::string_view to_string(ErrorCode c);

// WebSocket close codes the server uses.
namespace close_code {
inline constexpr uint16_t going_away = 1001;    // shutdown / drain
inline constexpr uint16_t bad_payload = 1007;   // text frame not UTF-8
inline constexpr uint16_t too_big = 1009;       // frame over the limit
inline constexpr uint16_t bad_request = 4400;   // binary frame, or too many bad requests
inline constexpr uint16_t unauthorized = 4401;  // no valid hello in time, bad or expired token
inline constexpr uint16_t heartbeat_timeout = 4408;
inline constexpr uint16_t resumed_elsewhere = 4409;  // the session was resumed on another connection
inline constexpr uint16_t rate_limited = 4429;       // sustained flooding after rate-limited errors
inline constexpr uint16_t slow_reader = 1008;        // outbound queue over its limit
}  // namespace close_code

// Size limits that are part of the contract.
inline constexpr size_t kMaxIdChars = 64;
inline constexpr size_t kMaxMetadataBytes = 4096;
inline constexpr size_t kMaxJsonDepth = 64;

}  // namespace sb::proto
