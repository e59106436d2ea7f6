#include "proto/message.h"

namespace sb::proto {

std::string_view to_string(MsgType t) {
  switch (t) {
    case MsgType::hello: return "hello";
    case MsgType::join: return "join";
    case MsgType::leave: return "leave";
    case MsgType::update: return "update";
    case MsgType::offer: return "offer";
    case MsgType::answer: return "answer";
    case MsgType::ice_candidate: return "ice-candidate";
    case MsgType::message: return "message";
    case MsgType::ping: return "ping";
    case MsgType::refresh: return "refresh";
  }
  return "?";
}

bool is_relay(MsgType t) {
  return t == MsgType::offer || t == MsgType::answer || t == MsgType::ice_candidate || t == MsgType::message;
}

std::string_view to_string(ErrorCode c) {
  switch (c) {
    case ErrorCode::bad_request: return "bad-request";
    case ErrorCode::unauthorized: return "unauthorized";
    case ErrorCode::forbidden: return "forbidden";
    case ErrorCode::not_in_room: return "not-in-room";
    case ErrorCode::already_joined: return "already-joined";
    case ErrorCode::peer_not_found: return "peer-not-found";
    case ErrorCode::room_full: return "room-full";
    case ErrorCode::too_large: return "too-large";
    case ErrorCode::rate_limited: return "rate-limited";
    case ErrorCode::internal: return "internal";
    case ErrorCode::token_expired: return "token-expired";
    case ErrorCode::unavailable: return "unavailable";
  }
  return "internal";
}

}  // namespace sb::proto
