// ws/frame_reader.h — RFC 6455 frames from a client, read in place.
//
// The server's half of the WebSocket framing layer, without sockets: the
// session hands it the bytes it has read, and it parses whole frames at the
// start of them, unmasks each payload where it lies, and reports complete
// messages and control frames. A message that fits one frame is reported as a
// view into the caller's buffer (no copy); only a fragmented message is
// assembled, in a buffer of the reader's own that exists only while one is
// under way. Every rule a server must enforce on a client's frames (RFC 6455
// sections 5 and 7.4) is checked here, each failure with the close code the
// connection is failed with: 1002 protocol, 1007 text that is not UTF-8, 1009
// a message over the size limit, found at the frame header, before its payload
// is waited for or stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace sb::ws {

enum class Opcode : uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA
};

// Why the reader failed the connection: the close code to send (RFC 6455 7.4.1).
enum class Failure : uint16_t { none = 0, protocol = 1002, bad_payload = 1007, too_big = 1009 };

struct Event {
  enum class Kind : uint8_t { message, ping, pong, close };
  Kind kind = Kind::message;
  bool text = false;     // message: a text message (else binary)
  char* data = nullptr;  // message, ping, pong: the unmasked payload
  size_t len = 0;
  // message: bytes readable at `data`, at least len + kPadding (see FrameReader::next).
  size_t capacity = 0;
  uint16_t close_code = 0;        // close: the status code; 0 when the frame carried none
  std::string_view close_reason;  // close: valid UTF-8
};

class FrameReader {
 public:
  // Bytes after a message that a reader of it may touch (simdjson reads ahead).
  static constexpr size_t kPadding = 64;

  // `max_message`: the largest message, in payload bytes over all its fragments.
  explicit FrameReader(size_t max_message) : max_(max_message) {}

  enum class Step : uint8_t {
    event,     // `ev` is set and the frame was `used` bytes long
    fragment,  // a non-final fragment of `used` bytes was taken in; nothing to report yet
    more,      // [data, data + len) does not hold the whole frame yet: call again with more bytes
    failed,    // the connection must be failed with failure(); nothing is read after this
  };

  // Parses the frame at the start of [data, data + len). The caller must
  // provide `capacity` readable bytes at `data` (capacity >= len): a message
  // reported in place gets capacity - its offset as Event::capacity, so the
  // caller needs len + kPadding to hand it to the JSON parser directly.
  // Unmasks the frame's payload in place. An assembled message's bytes stay
  // valid until the next call. Cost: O(frame size), one pass to unmask, one
  // to check UTF-8 for text.
  Step next(char* data, size_t len, size_t capacity, size_t& used, Event& ev);

  Failure failure() const { return failure_; }
  // True while a fragmented message is under way.
  bool in_message() const { return assembly_ && !release_; }

 private:
  Step fail(Failure f) {
    failure_ = f;
    return Step::failed;
  }

  // A fragmented message under way. Out of line and only while one is: an
  // idle connection (and almost every client: browsers send each message in
  // one frame) carries 8 bytes for it instead of 48.
  struct Assembly {
    std::string bytes;   // the fragments so far (capacity includes kPadding)
    size_t checked = 0;  // text: the prefix of bytes known to be valid UTF-8
    bool text = false;
  };

  size_t max_;
  std::unique_ptr<Assembly> assembly_;
  Failure failure_ = Failure::none;
  bool release_ = false;  // the last call reported the assembled message: drop it first
};

// Applies the 4-byte masking key to `len` bytes at `p`, starting at key byte 0. O(len), 8 bytes a step.
void unmask(char* p, size_t len, const unsigned char key[4]);

// True when a close frame may carry `code` (RFC 6455 7.4 and the IANA registry).
bool valid_close_code(uint16_t code);

}  // namespace sb::ws
