// service/user_cli.h — `switchboard user ...`: the user store from a terminal.
//
//   switchboard user add NAME     --db FILE [--display-name TEXT] [--rooms LIST] [grant flags]
//   switchboard user remove NAME  --db FILE
//   switchboard user list         --db FILE [--json]
//   switchboard user passwd NAME  --db FILE
//   switchboard user grant NAME   --db FILE [--rooms LIST] [--publish BOOL] [--subscribe BOOL]
//                                           [--data BOOL] [--admin BOOL]
// LIST is comma-separated room names or patterns ("team-*", "*"); an empty
// LIST grants no room. BOOL is true|false. `grant` changes only what it names.
// --db defaults to $SWITCHBOARD_USER_DB. Passwords (add, passwd) are read from
// the terminal without echo, twice; or, when stdin is not a terminal, as the
// first line of stdin (for scripts: `printf '%s\n' "$PW" | switchboard user add ...`).
// Exit codes: 0 done, 1 refused (no such user, exists, bad password), 2 usage
// or the database cannot be opened.
#pragma once

#include <string>
#include <vector>

namespace sb::service {

// Runs `switchboard user` with argv[0] = "user". Returns the exit code.
int user_main(int argc, char** argv);

// Splits a comma-separated list, trimming spaces and dropping empty items. Pure.
std::vector<std::string> split_rooms(const std::string& list);

}  // namespace sb::service
