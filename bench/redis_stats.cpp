#include "redis_stats.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

namespace sb::bench {

namespace {

constexpr std::string_view kRequest = "*3\r\n$4\r\nINFO\r\n$3\r\ncpu\r\n$12\r\ncommandstats\r\n";

// Owns one socket descriptor.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string sys_error(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// Runs INFO and returns its text (a RESP bulk string), or an empty string and `error`.
std::string fetch_info(const boost::asio::ip::tcp::endpoint& at, std::string& error) {
  Fd sock{::socket(AF_INET, SOCK_STREAM, 0)};
  if (sock.fd < 0) {
    error = sys_error("socket");
    return {};
  }
  timeval tv{5, 0};
  setsockopt(sock.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(sock.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(at.port());
  addr.sin_addr.s_addr = htonl(at.address().to_v4().to_uint());
  if (::connect(sock.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    error = sys_error("connect to Redis");
    return {};
  }
  if (::send(sock.fd, kRequest.data(), kRequest.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(kRequest.size())) {
    error = sys_error("send to Redis");
    return {};
  }
  std::string in;
  size_t header = 0;  // bytes of the "$LEN\r\n" line, once read
  size_t need = 0;    // bytes of the whole reply, once the header is read
  char buf[16384];
  while (need == 0 || in.size() < need) {
    const ssize_t n = ::recv(sock.fd, buf, sizeof buf, 0);
    if (n <= 0) {
      error = n == 0 ? "Redis closed the connection" : sys_error("recv from Redis");
      return {};
    }
    in.append(buf, static_cast<size_t>(n));
    const size_t eol = in.find("\r\n");
    if (need > 0 || eol == std::string::npos) continue;
    size_t len = 0;
    auto [end, ec] = std::from_chars(in.data() + 1, in.data() + eol, len);
    if (in[0] != '$' || ec != std::errc() || end != in.data() + eol) {
      error = "Redis answered " + in.substr(0, std::min<size_t>(eol, 200));
      return {};
    }
    header = eol + 2;
    need = header + len + 2;
  }
  return in.substr(header, need - header - 2);
}

}  // namespace

RedisSample sample_redis(const boost::asio::ip::tcp::endpoint& at) {
  RedisSample s;
  const std::string info = fetch_info(at, s.error);
  if (!s.error.empty()) return s;
  double cpu_user = -1, cpu_sys = -1;
  // Lines: "cmdstat_publish:calls=12,usec=34,...", "used_cpu_sys:1.23", "# Section".
  std::string_view rest = info;
  while (!rest.empty()) {
    const size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon), value = line.substr(colon + 1);
    if (key.rfind("cmdstat_", 0) == 0 && value.rfind("calls=", 0) == 0) {
      uint64_t calls = 0;
      std::from_chars(value.data() + 6, value.data() + value.size(), calls);
      s.calls[std::string(key.substr(8))] = calls;
    } else if (key == "used_cpu_user" || key == "used_cpu_sys") {
      double v = -1;
      std::from_chars(value.data(), value.data() + value.size(), v);
      (key == "used_cpu_user" ? cpu_user : cpu_sys) = v;
    }
  }
  if (cpu_user >= 0 && cpu_sys >= 0) s.cpu_s = cpu_user + cpu_sys;
  return s;
}

RedisDelta redis_delta(const RedisSample& before, const RedisSample& after) {
  RedisDelta d;
  for (const auto& [name, calls] : after.calls) {
    if (name == "info") continue;
    const auto was = before.calls.find(name);
    const uint64_t prior = was == before.calls.end() ? 0 : was->second;
    if (calls <= prior) continue;
    d.calls[name] = calls - prior;
    d.total += calls - prior;
  }
  if (before.cpu_s >= 0 && after.cpu_s >= 0) d.cpu_s = after.cpu_s - before.cpu_s;
  return d;
}

}  // namespace sb::bench
