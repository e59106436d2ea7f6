// service/admin_cli.h — `switchboard admin ...`: the admin API from a terminal.
//
//   switchboard admin rooms               [--server URL] [--key KEY] [--json]
//   switchboard admin peers ROOM
//   switchboard admin kick ROOM PEER      [--reason TEXT]
//   switchboard admin close ROOM
//   switchboard admin send ROOM DATA      [--to PEER]
// --server defaults to $SWITCHBOARD_SERVER or http://127.0.0.1:8080; --key to
// $SWITCHBOARD_ADMIN_KEY (an API key or an admin token). Output: aligned
// tables (or one line for actions); with --json, the API's JSON. Exit codes:
// 0 done, 1 the server refused or could not be reached, 2 usage.
// A blocking HTTP/1.1 client (Beast, sync): one request per command.
#pragma once

#include <string>
#include <vector>

namespace sb::service {

// Runs `switchboard admin` with argv[0] = "admin". Returns the exit code.
int admin_main(int argc, char** argv);

// Left-aligned columns separated by two spaces, header first, no trailing spaces.
std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

// "2026-01-02 03:04:05Z" for Unix seconds (UTC).
std::string format_time(long long unix_s);

}  // namespace sb::service
