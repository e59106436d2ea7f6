// service/audit_log.h — security events, one JSON line each, apart from the log.
//
// Every login (success or failure, with the reason), token rejection at hello
// and refresh, refresh, join denial and admin action is one line:
//   {"time":"2026-01-02T03:04:05.678Z","event":"login","outcome":"failure",
//    "reason":"invalid-credentials","user":"alice","remote":"10.0.0.7"}
// with `peer`, `room` and `detail` when they apply. Tokens and passwords are
// never passed in, so they cannot be written.
// AuditSink is the seam the Hub, the admin API and the token endpoint write
// to; AuditLog writes to a file (appended) or stdout.
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace sb::service {

struct AuditEvent {
  std::string_view event;    // login | hello | refresh | join | admin
  std::string_view outcome;  // success | failure | denied
  std::string_view reason;   // a stable code ("invalid-credentials", "expired", ...); may be empty
  std::string_view user;     // the user id, or the login name attempted
  std::string_view peer;
  std::string_view remote;  // client address
  std::string_view room;
  std::string_view detail;  // free text (e.g. "DELETE /v1/rooms/x 204"); never a credential
};

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Any thread. Must not block for long.
  virtual void write(const AuditEvent& e) = 0;
};

// The JSON line for `e` at `unix_ms` (milliseconds), without the newline. Pure.
std::string audit_line(const AuditEvent& e, int64_t unix_ms);

class AuditLog final : public AuditSink {
 public:
  // `target`: a file path (opened for appending, created 0600) or "stdout".
  // Throws std::runtime_error naming the file when it cannot be opened.
  explicit AuditLog(const std::string& target);
  ~AuditLog() override;

  // Formats outside the lock, then appends the line and flushes, under a
  // mutex. Writers from several event loops are serialised only for one
  // fwrite+fflush of ~200 bytes into the page cache (a few µs); lines never
  // interleave, and a line is on disk (in the kernel) when write() returns, so
  // a crash right after a security event does not lose it. A slow disk could
  // stall a loop for the length of one write; audit volume is low (logins,
  // denials, admin actions), so that is accepted over a queue and a thread.
  void write(const AuditEvent& e) override;

 private:
  std::mutex mu_;
  std::FILE* out_ = nullptr;
  bool owned_ = false;
};

}  // namespace sb::service
