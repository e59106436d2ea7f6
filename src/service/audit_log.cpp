#include "service/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "core/json_text.h"

namespace sb::service {

std::string audit_line(const AuditEvent& e, int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(unix_ms % 1000));
  std::string s = "{\"time\":\"";
  s += buf;
  s += "\",\"event\":";
  json_append_string(s, e.event);
  s += ",\"outcome\":";
  json_append_string(s, e.outcome);
  auto field = [&](const char* key, std::string_view v) {
    if (v.empty()) return;
    s += ",\"";
    s += key;
    s += "\":";
    json_append_string(s, v);
  };
  field("reason", e.reason);
  field("user", e.user);
  field("peer", e.peer);
  field("remote", e.remote);
  field("room", e.room);
  field("detail", e.detail);
  s += "}";
  return s;
}

AuditLog::AuditLog(const std::string& target) {
  if (target == "stdout") {
    out_ = stdout;
    return;
  }
  const int fd = ::open(target.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("audit log '" + target + "': " + std::strerror(errno));
  out_ = ::fdopen(fd, "a");
  if (!out_) {
    ::close(fd);
    throw std::runtime_error("audit log '" + target + "': " + std::strerror(errno));
  }
  owned_ = true;
}

AuditLog::~AuditLog() {
  if (owned_) std::fclose(out_);
}

void AuditLog::write(const AuditEvent& e) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::string line = audit_line(e, ms);
  line.push_back('\n');
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace sb::service
