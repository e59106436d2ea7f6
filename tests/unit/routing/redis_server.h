// tests/unit/routing/redis_server.h — a real redis-server for one test.
//
// Started on a unix socket in a fresh temporary directory (or on a TCP port),
// with persistence off; stopped (SIGKILL) and restarted on the same address
// to test outages. ready() waits, bounded, until the server answers PING.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace sb::testing {

// Runs `ioc` in small steps until `done()` or `limit` passes; false on the latter.
template <class Pred>
bool run_until(boost::asio::io_context& ioc, Pred done,
               std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    ioc.restart();
    ioc.run_one_for(std::chrono::milliseconds(10));
  }
  return true;
}

class RedisServer {
 public:
  explicit RedisServer(std::vector<std::string> extra = {}) : extra_(std::move(extra)) {
    char tmpl[] = "/tmp/sb-redis-XXXXXX";
    dir_ = mkdtemp(tmpl);
    socket_ = dir_ + "/redis.sock";
    start();
  }
  ~RedisServer() {
    kill_now();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  const std::string& socket_path() const { return socket_; }
  std::string url() const { return "unix://" + socket_; }

  void start() {
    std::vector<std::string> args = {
        "redis-server", "--port", "0",  "--unixsocket",           socket_, "--save", "", "--appendonly",
        "no",           "--dir",  dir_, "--enable-debug-command", "yes"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      execvp("redis-server", argv.data());
      _exit(127);
    }
  }

  // True once the server accepts connections on its socket (at most ~5 s).
  bool ready() const {
    for (int i = 0; i < 500; ++i) {
      int fd = socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::snprintf(a.sun_path, sizeof a.sun_path, "%s", socket_.c_str());
      const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      close(fd);
      if (ok) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a condition, bounded
    }
    return false;
  }

  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    std::error_code ignored;
    std::filesystem::remove(socket_, ignored);
  }

 private:
  std::vector<std::string> extra_;
  std::string dir_;
  std::string socket_;
  pid_t pid_ = -1;
};

}  // namespace sb::testing
