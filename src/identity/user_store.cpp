#include "identity/user_store.h"

#include <sqlite3.h>

#include <stdexcept>

#include "auth/grants_json.h"

namespace sb::identity {

namespace {

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("user store: ") + sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  void text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void integer(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  // SQLITE_ROW or SQLITE_DONE; throws on anything else.
  int step() {
    const int rc = sqlite3_step(s_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE && rc != SQLITE_CONSTRAINT)
      throw std::runtime_error(std::string("user store: ") + sqlite3_errmsg(db_));
    return rc;
  }
  std::string column_text(int i) {
    const unsigned char* t = sqlite3_column_text(s_, i);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(s_, i)))
             : std::string();
  }
  int64_t column_int(int i) { return sqlite3_column_int64(s_, i); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

constexpr const char* kColumns = "id, name, password_hash, grants, created_at, updated_at";

User read_user(Stmt& st) {
  User u;
  u.id = UserId(st.column_text(0));
  u.name = st.column_text(1);
  u.password_hash = st.column_text(2);
  // A row whose grants do not parse grants nothing: safer than guessing.
  if (!auth::grants_from_json(st.column_text(3), u.grants).empty()) u.grants = auth::Grants{};
  u.created_at = st.column_int(4);
  u.updated_at = st.column_int(5);
  return u;
}

}  // namespace

bool valid_username(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

UserStore::UserStore(const std::string& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("user database '" + path + "': " + msg);
  }
  sqlite3_busy_timeout(db_, 2000);
  try {
    exec(
        "CREATE TABLE IF NOT EXISTS users ("
        " id TEXT PRIMARY KEY NOT NULL,"
        " name TEXT NOT NULL DEFAULT '',"
        " password_hash TEXT NOT NULL,"
        " grants TEXT NOT NULL DEFAULT '{}',"
        " created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL)");
    Stmt check(db_, "SELECT id, name, password_hash, grants, created_at, updated_at FROM users LIMIT 0");
    check.step();
  } catch (const std::exception& e) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("user database '" + path + "': " + e.what());
  }
}

UserStore::~UserStore() {
  sqlite3_close(db_);
}

void UserStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "error";
    sqlite3_free(err);
    throw std::runtime_error(msg);
  }
}

bool UserStore::add(const User& u, int64_t now) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "INSERT INTO users (id, name, password_hash, grants, created_at, updated_at) VALUES (?,?,?,?,?,?) "
          "ON CONFLICT(id) DO NOTHING");
  st.text(1, u.id.string());
  st.text(2, u.name);
  st.text(3, u.password_hash);
  st.text(4, auth::grants_to_json(u.grants));
  st.integer(5, now);
  st.integer(6, now);
  st.step();
  return sqlite3_changes(db_) == 1;
}

bool UserStore::remove(const UserId& id) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "DELETE FROM users WHERE id = ?");
  st.text(1, id.string());
  st.step();
  return sqlite3_changes(db_) == 1;
}

std::optional<User> UserStore::find(const UserId& id) {
  std::lock_guard lock(mu_);
  Stmt st(db_, (std::string("SELECT ") + kColumns + " FROM users WHERE id = ?").c_str());
  st.text(1, id.string());
  if (st.step() != SQLITE_ROW) return std::nullopt;
  return read_user(st);
}

std::vector<User> UserStore::list() {
  std::lock_guard lock(mu_);
  Stmt st(db_, (std::string("SELECT ") + kColumns + " FROM users ORDER BY id").c_str());
  std::vector<User> out;
  while (st.step() == SQLITE_ROW) out.push_back(read_user(st));
  return out;
}

bool UserStore::update(const char* sql, const UserId& id, const std::string& value, int64_t now) {
  std::lock_guard lock(mu_);
  Stmt st(db_, sql);
  st.text(1, value);
  st.integer(2, now);
  st.text(3, id.string());
  st.step();
  return sqlite3_changes(db_) == 1;
}

bool UserStore::set_password(const UserId& id, const std::string& hash, int64_t now) {
  return update("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?", id, hash, now);
}

bool UserStore::set_grants(const UserId& id, const auth::Grants& grants, int64_t now) {
  return update("UPDATE users SET grants = ?, updated_at = ? WHERE id = ?", id, auth::grants_to_json(grants),
                now);
}

bool UserStore::set_name(const UserId& id, const std::string& name, int64_t now) {
  return update("UPDATE users SET name = ?, updated_at = ? WHERE id = ?", id, name, now);
}

}  // namespace sb::identity
