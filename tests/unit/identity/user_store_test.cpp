#include "identity/user_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace sb::identity {

namespace {
std::string temp_db() {
  auto p = std::filesystem::temp_directory_path() /
           ("sb-users-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()) + ".db");
  std::filesystem::remove(p);
  return p.string();
}
}  // namespace

TEST(UserStore, AddFindListRemove) {
  const std::string path = temp_db();
  {
    UserStore s(path);
    User u;
    u.id = UserId("alice");
    u.name = "Alice";
    u.password_hash = "$argon2id$fake";
    u.grants.rooms = {"team-*", "lobby"};
    u.grants.publish = false;
    EXPECT_TRUE(s.add(u, 100));
    EXPECT_FALSE(s.add(u, 101));  // exists
    User b;
    b.id = UserId("bob");
    b.password_hash = "h";
    EXPECT_TRUE(s.add(b, 102));
  }
  UserStore s(path);  // reopened: persisted
  auto a = s.find(UserId("alice"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "Alice");
  EXPECT_EQ(a->password_hash, "$argon2id$fake");
  EXPECT_EQ(a->grants.rooms, (std::vector<std::string>{"team-*", "lobby"}));
  EXPECT_FALSE(a->grants.publish);
  EXPECT_TRUE(a->grants.subscribe);
  EXPECT_EQ(a->created_at, 100);
  auto all = s.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id.str(), "alice");
  EXPECT_EQ(all[1].id.str(), "bob");
  EXPECT_TRUE(s.remove(UserId("bob")));
  EXPECT_FALSE(s.remove(UserId("bob")));
  EXPECT_FALSE(s.find(UserId("bob")));
  std::filesystem::remove(path);
}

TEST(UserStore, UpdatesNeedAnExistingUser) {
  const std::string path = temp_db();
  UserStore s(path);
  EXPECT_FALSE(s.set_password(UserId("nobody"), "h", 1));
  User u;
  u.id = UserId("carol");
  u.password_hash = "old";
  ASSERT_TRUE(s.add(u, 1));
  EXPECT_TRUE(s.set_password(UserId("carol"), "new", 5));
  auth::Grants g;
  g.rooms = {"*"};
  g.admin = true;
  EXPECT_TRUE(s.set_grants(UserId("carol"), g, 6));
  auto c = s.find(UserId("carol"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->password_hash, "new");
  EXPECT_TRUE(c->grants.admin);
  EXPECT_EQ(c->updated_at, 6);
  std::filesystem::remove(path);
}

TEST(UserStore, RefusesAFileThatIsNotADatabase) {
  const std::string path = temp_db();
  {
    FILE* f = std::fopen(path.c_str(), "w");
    std::fputs("this is not sqlite, just some text that is long enough to be looked at", f);
    std::fclose(f);
  }
  EXPECT_THROW(UserStore{path}, std::runtime_error);
  std::filesystem::remove(path);
}

TEST(UserStore, ValidUsernames) {
  EXPECT_TRUE(valid_username("alice"));
  EXPECT_TRUE(valid_username("a.b-c_d@example.com"));
  EXPECT_FALSE(valid_username(""));
  EXPECT_FALSE(valid_username("has space"));
  EXPECT_FALSE(valid_username(std::string(129, 'a')));
}

}  // namespace sb::identity
