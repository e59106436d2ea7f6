// routing/resume_store.h — which sessions may be resumed, and by whom.
//
// A session that may be resumed is registered here under its session id with
// its peer id (which names its home loop), its user and its resume secret. A
// `hello` with `resume` on any loop looks the session up here before asking the
// home loop to hand the session over; the home loop checks again against the
// session itself, which is authoritative. The in-process implementation is a
// map behind a mutex; a cluster implementation keeps the same records in Redis
// (with the home node), so a resume can land on any node.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/ids.h"

namespace sb::routing {

struct ResumeRecord {
  PeerId peer;         // the session's peer id; its home loop is encoded in it
  UserId user;         // the token `sub` the session belongs to
  SmallString secret;  // the resume_token handed out in welcome (22 characters: inline)
};

class ResumeStore {
 public:
  virtual ~ResumeStore() = default;
  // Registers (or replaces) the record of `session`. Thread-safe.
  virtual void put(const SessionId& session, ResumeRecord record) = 0;
  // The record of `session`, if registered. Thread-safe.
  virtual std::optional<ResumeRecord> get(const SessionId& session) const = 0;
  // Forgets `session` (it ended for good). Thread-safe.
  virtual void erase(const SessionId& session) = 0;
};

// The in-process store: one map behind one mutex; each call O(1) and touched
// only on hello, resume and session end, never on the relay path.
class LocalResumeStore final : public ResumeStore {
 public:
  void put(const SessionId& session, ResumeRecord record) override;
  std::optional<ResumeRecord> get(const SessionId& session) const override;
  void erase(const SessionId& session) override;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<SessionId, ResumeRecord> records_;
};

// Compares two secrets in time that depends only on their lengths, never on
// where they first differ.
bool secrets_equal(std::string_view a, std::string_view b);

}  // namespace sb::routing
