// identity/user_store.h — users and their password hashes in a SQLite file.
//
// One table:
//   users(id TEXT PRIMARY KEY, name TEXT, password_hash TEXT, grants TEXT,
//         created_at INTEGER, updated_at INTEGER)
// `id` is the login name and the tokens' `sub`; `grants` is the JSON object of
// auth/grants_json.h. The file is created on first open (mode 0600 through the
// process umask is the operator's business; docs/auth.md says so).
// Thread safety: every method may be called from any thread; calls are
// serialised on one connection by a mutex (each is one short statement, well
// under a millisecond on a local file). The CLI and a running server may use
// the same file at once: SQLite locks the file, and a busy file is retried for
// up to 2 s (busy_timeout) before an operation fails.
// No Asio here: the server runs the store on its worker threads.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/grants.h"
#include "core/ids.h"

struct sqlite3;

namespace sb::identity {

struct User {
  UserId id;                  // login name, `sub`
  std::string name;           // display name, `name` claim (may be empty)
  std::string password_hash;  // identity/password.h format
  auth::Grants grants;
  int64_t created_at = 0;  // unix seconds
  int64_t updated_at = 0;
};

// A valid login name: 1-128 bytes of [A-Za-z0-9._@-]. Pure.
bool valid_username(std::string_view name);

class UserStore {
 public:
  // Opens (and creates, with the table) the database at `path`. Throws
  // std::runtime_error naming the file when it cannot be opened or is not a
  // Switchboard user database.
  explicit UserStore(const std::string& path);
  ~UserStore();
  UserStore(const UserStore&) = delete;
  UserStore& operator=(const UserStore&) = delete;

  // Adds `u` (created_at/updated_at set to `now`). False when the id exists.
  bool add(const User& u, int64_t now);
  // False when there is no such user.
  bool remove(const UserId& id);
  std::optional<User> find(const UserId& id);
  // Every user, ordered by id.
  std::vector<User> list();
  // False when there is no such user.
  bool set_password(const UserId& id, const std::string& hash, int64_t now);
  bool set_grants(const UserId& id, const auth::Grants& grants, int64_t now);
  bool set_name(const UserId& id, const std::string& name, int64_t now);

 private:
  void exec(const char* sql);
  bool update(const char* sql, const UserId& id, const std::string& value, int64_t now);
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace sb::identity
