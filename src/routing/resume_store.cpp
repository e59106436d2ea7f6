#include "routing/resume_store.h"

namespace sb::routing {

void LocalResumeStore::put(const SessionId& session, ResumeRecord record) {
  std::lock_guard lock(mu_);
  records_[session] = std::move(record);
}

std::optional<ResumeRecord> LocalResumeStore::get(const SessionId& session) const {
  std::lock_guard lock(mu_);
  auto it = records_.find(session);
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

void LocalResumeStore::erase(const SessionId& session) {
  std::lock_guard lock(mu_);
  records_.erase(session);
}

size_t LocalResumeStore::size() const {
  std::lock_guard lock(mu_);
  return records_.size();
}

bool secrets_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]));
  volatile unsigned char sink = diff;  // keeps the loop from being cut short
  return sink == 0;
}

}  // namespace sb::routing
