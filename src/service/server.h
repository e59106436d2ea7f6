// service/server.h — the process: shards, listener, signals, start and stop.
#pragma once

#include <memory>

#include "service/config.h"

namespace sb::service {

class Server {
 public:
  explicit Server(Config cfg);
  ~Server();

  // Binds, serves until SIGINT/SIGTERM, shuts down cleanly. Returns the exit
  // code: 0 after a clean shutdown, 2 for a configuration error.
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sb::service
