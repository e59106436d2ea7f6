// ws/frame_writer.h — the header of a server frame (RFC 6455 5.2).
//
// A server's frames are not masked, so a frame is its header followed by the
// payload as it is: the session writes the header from here and the payload
// from where it already lies (a shared message body), in one gathered write.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ws/frame_reader.h"

namespace sb::ws {

// The longest header: 2 bytes, then a 64-bit length.
inline constexpr size_t kMaxHeader = 10;

// Writes the header of a final, unmasked frame of `op` carrying `len` payload
// bytes to `out` (at least kMaxHeader bytes); returns its size: 2, 4 or 10. O(1).
inline size_t write_header(char* out, Opcode op, uint64_t len) {
  out[0] = static_cast<char>(0x80 | static_cast<uint8_t>(op));
  if (len < 126) {
    out[1] = static_cast<char>(len);
    return 2;
  }
  if (len <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<char>(len >> 8);
    out[3] = static_cast<char>(len);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<char>(len >> (56 - 8 * i));
  return 10;
}

}  // namespace sb::ws
