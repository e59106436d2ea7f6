// switchboard — WebRTC signaling server. See README.md and docs/.
#include <csignal>
#include <cstring>

#include "service/admin_cli.h"
#include "service/config.h"
#include "service/log.h"
#include "service/server.h"
#include "service/user_cli.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  // Subcommands come before the server's own flags.
  if (argc >= 2 && std::strcmp(argv[1], "admin") == 0) return sb::service::admin_main(argc - 1, argv + 1);
  if (argc >= 2 && std::strcmp(argv[1], "user") == 0) return sb::service::user_main(argc - 1, argv + 1);
  int code = 0;
  auto cfg = sb::service::load_config(argc, argv, code);
  if (!cfg) return code;
  sb::service::setup_logging(cfg->log_format, cfg->log_level);
  sb::service::Server server(std::move(*cfg));
  return server.run();
}
