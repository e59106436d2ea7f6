#include "service/user_cli.h"

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <ctime>
#include <iostream>

#include "auth/grants_json.h"
#include "core/json_text.h"
#include "identity/password.h"
#include "identity/user_store.h"
#include "service/admin_cli.h"

namespace sb::service {

std::vector<std::string> split_rooms(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string item = list.substr(start, end - start);
    const auto b = item.find_first_not_of(" \t");
    const auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    start = end + 1;
  }
  return out;
}

namespace {

// One line from stdin; without echo when stdin is a terminal (the prompt goes to stderr).
std::optional<std::string> read_line(const char* prompt, bool tty) {
  termios old{};
  if (tty) {
    std::cerr << prompt << std::flush;
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  const bool ok = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::cerr << "\n";
  }
  if (!ok) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// The new password: twice from a terminal, once from a pipe. Empty on failure (message printed).
std::string read_new_password() {
  const bool tty = isatty(STDIN_FILENO) != 0;
  auto pw = read_line("Password: ", tty);
  if (!pw || pw->empty()) {
    std::cerr << "switchboard user: no password given\n";
    return {};
  }
  if (pw->size() > identity::kMaxPasswordBytes) {
    std::cerr << "switchboard user: the password is longer than " << identity::kMaxPasswordBytes
              << " bytes\n";
    return {};
  }
  if (tty) {
    auto again = read_line("Again: ", tty);
    if (!again || *again != *pw) {
      std::cerr << "switchboard user: the passwords differ\n";
      return {};
    }
  }
  return *pw;
}

bool parse_bool(const std::string& s, bool& out) {
  if (s == "true" || s == "yes" || s == "1" || s == "on") return out = true, true;
  if (s == "false" || s == "no" || s == "0" || s == "off") return out = false, true;
  return false;
}

}  // namespace

int user_main(int argc, char** argv) {
  CLI::App app{"switchboard user — the user store of POST /v1/token (docs/auth.md)", "switchboard user"};
  app.require_subcommand(1);
  app.get_formatter()->column_width(30);
  std::string db, name, display, rooms, publish, subscribe, data, admin;
  bool as_json = false;
  if (const char* v = std::getenv("SWITCHBOARD_USER_DB")) db = v;
  app.add_option("--db", db, "User database (SQLite; default $SWITCHBOARD_USER_DB)");
  auto grant_flags = [&](CLI::App* c) {
    c->add_option("--rooms", rooms, "Comma-separated rooms or patterns (\"team-*\", \"*\"); empty: none");
    c->add_option("--publish", publish, "true|false (default true)");
    c->add_option("--subscribe", subscribe, "true|false (default true)");
    c->add_option("--data", data, "true|false (default true)");
    c->add_option("--admin", admin, "true|false (default false)");
  };
  auto* add = app.add_subcommand("add", "Add user NAME; the password is read from the terminal or stdin");
  add->add_option("NAME", name)->required();
  add->add_option("--display-name", display, "Display name (the tokens' `name`)");
  grant_flags(add);
  auto* remove = app.add_subcommand("remove", "Remove user NAME");
  remove->add_option("NAME", name)->required();
  auto* list = app.add_subcommand("list", "List users: name, display name, grants, created");
  list->add_flag("--json", as_json, "One JSON object per line");
  auto* passwd = app.add_subcommand("passwd", "Set NAME's password (terminal or stdin)");
  passwd->add_option("NAME", name)->required();
  auto* grant = app.add_subcommand("grant", "Change NAME's grants (only the flags given)");
  grant->add_option("NAME", name)->required();
  grant_flags(grant);
  for (auto* sub : {add, remove, list, passwd, grant}) sub->add_option("--db", db, "User database (SQLite)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (db.empty()) {
    std::cerr << "switchboard user: --db FILE is required (or set SWITCHBOARD_USER_DB)\n";
    return 2;
  }

  // The grant flags, applied over `g`.
  auto apply_grants = [&](CLI::App* c, auth::Grants& g) -> bool {
    if (c->count("--rooms")) g.rooms = split_rooms(rooms);
    const std::pair<const char*, std::pair<std::string*, bool*>> flags[] = {
        {"--publish", {&publish, &g.publish}},
        {"--subscribe", {&subscribe, &g.subscribe}},
        {"--data", {&data, &g.data}},
        {"--admin", {&admin, &g.admin}}};
    for (const auto& [flag, target] : flags) {
      if (!c->count(flag)) continue;
      if (!parse_bool(*target.first, *target.second)) {
        std::cerr << "switchboard user: " << flag << " takes true or false, got '" << *target.first << "'\n";
        return false;
      }
    }
    return true;
  };

  try {
    identity::UserStore store(db);
    const auto now = static_cast<int64_t>(std::time(nullptr));
    const UserId id(name);
    if (add->parsed()) {
      if (!identity::valid_username(name)) {
        std::cerr << "switchboard user: a name is 1-128 characters of A-Z a-z 0-9 . _ @ -\n";
        return 2;
      }
      identity::User u;
      u.id = id;
      u.name = display;
      if (!apply_grants(add, u.grants)) return 2;
      if (store.find(id)) {
        std::cerr << "switchboard user: '" << name << "' exists\n";
        return 1;
      }
      std::string pw = read_new_password();
      if (pw.empty()) return 1;
      u.password_hash = identity::hash_password(pw);
      if (!store.add(u, now)) {
        std::cerr << "switchboard user: '" << name << "' exists\n";
        return 1;
      }
      std::cout << "added " << name << "\n";
      return 0;
    }
    if (remove->parsed()) {
      if (!store.remove(id)) {
        std::cerr << "switchboard user: no user '" << name << "'\n";
        return 1;
      }
      std::cout << "removed " << name << "\n";
      return 0;
    }
    if (passwd->parsed()) {
      if (!store.find(id)) {
        std::cerr << "switchboard user: no user '" << name << "'\n";
        return 1;
      }
      std::string pw = read_new_password();
      if (pw.empty()) return 1;
      if (!store.set_password(id, identity::hash_password(pw), now)) {
        std::cerr << "switchboard user: no user '" << name << "'\n";
        return 1;
      }
      std::cout << "password changed for " << name << "\n";
      return 0;
    }
    if (grant->parsed()) {
      auto u = store.find(id);
      if (!u) {
        std::cerr << "switchboard user: no user '" << name << "'\n";
        return 1;
      }
      if (!apply_grants(grant, u->grants)) return 2;
      store.set_grants(id, u->grants, now);
      std::cout << name << ": " << auth::grants_to_json(u->grants) << "\n";
      return 0;
    }
    // list
    std::vector<std::vector<std::string>> rows;
    for (const identity::User& u : store.list()) {
      if (as_json) {
        std::string line = "{\"user\":";
        json_append_string(line, u.id.str());
        line += ",\"name\":";
        json_append_string(line, u.name);
        line += ",\"grants\":" + auth::grants_to_json(u.grants) +
                ",\"created_at\":" + std::to_string(u.created_at) + "}";
        std::cout << line << "\n";
        continue;
      }
      std::string room_list;
      for (const auto& r : u.grants.rooms) room_list += (room_list.empty() ? "" : ",") + r;
      std::string flags;
      for (auto [on, letter] :
           {std::pair{u.grants.publish, "publish"}, std::pair{u.grants.subscribe, "subscribe"},
            std::pair{u.grants.data, "data"}, std::pair{u.grants.admin, "admin"}})
        if (on) flags += (flags.empty() ? "" : ",") + std::string(letter);
      rows.push_back({u.id.string(), u.name, room_list.empty() ? "-" : room_list, flags.empty() ? "-" : flags,
                      format_time(u.created_at)});
    }
    if (!as_json) std::cout << format_table({"USER", "NAME", "ROOMS", "GRANTS", "CREATED"}, rows);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "switchboard user: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace sb::service
