// service/config.h — server settings: defaults < TOML file < environment < flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb::service {

struct Config {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  std::string config_file;

  std::string jwt_hs256_secret;
  std::vector<std::string> jwt_public_key_files;
  std::string jwt_issuer;
  std::string jwt_audience;

  std::string web_root = "web";
  std::string log_format = "text";  // text | json
  std::string log_level = "info";
  bool dev = false;

  unsigned threads = 0;  // 0: one event loop per core
  unsigned heartbeat_s = 20;
  unsigned hello_timeout_s = 10;
  size_t max_frame_bytes = 64 * 1024;
  size_t max_room_peers = 50;
  unsigned shutdown_grace_s = 5;
};

// Splits "HOST:PORT", "[v6]:PORT" or ":PORT". False when malformed.
bool parse_listen(const std::string& s, std::string& host, uint16_t& port);

// Builds the configuration from argv, SWITCHBOARD_* variables and the TOML file
// named by --config or SWITCHBOARD_CONFIG. Returns nullopt after printing help,
// the version or an error; `exit_code` then says how the process should exit.
std::optional<Config> load_config(int argc, char** argv, int& exit_code);

}  // namespace sb::service
