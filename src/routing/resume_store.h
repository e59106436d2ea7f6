// routing/resume_store.h — which sessions may be resumed, and by whom.
//
// A session that may be resumed is registered here under its session id with
// its peer id, which names its home loop. A `hello` with `resume` on any loop
// looks the session up here to know which loop to ask; that loop checks the
// user and the resume secret against the session itself, the one authority,
// so the record holds no copy of them (one record per session: an idle
// connection's ~100 bytes saved). The in-process implementation is a map
// behind a mutex. (In cluster mode the records of every node are in Redis,
// routing/cluster_sessions.cpp: a session this map lacks is looked up there.)
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/ids.h"

namespace sb::routing {

struct ResumeRecord {
  PeerId peer;  // the session's peer id; its home loop is encoded in it
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
