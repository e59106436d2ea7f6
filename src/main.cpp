// switchboard — WebRTC signaling server. See README.md and docs/.
#include <csignal>

#include "service/config.h"
#include "service/log.h"
#include "service/server.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  int code = 0;
  auto cfg = sb::service::load_config(argc, argv, code);
  if (!cfg) return code;
  sb::service::setup_logging(cfg->log_format, cfg->log_level);
  sb::service::Server server(std::move(*cfg));
  return server.run();
}
