// core/thin_string.h — a string that is one pointer wide and owns nothing while empty.
//
// For text a record usually lacks: a room member's display name, metadata
// and cluster node. Each is 32 bytes as a std::string (or a SmallString)
// whether it is set or not, and a room keeps a member record per peer, so
// three of them were 96 bytes of every idle connection. A ThinString is
// 8 bytes: null when empty, else one exact-size heap block holding the length
// and the bytes. It is a value (a copy copies the bytes); no mutation other
// than assignment.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace sb {

class ThinString {
 public:
  ThinString() noexcept = default;
  // Implicit, so that records holding one are built from strings as before.
  ThinString(std::string_view s) { assign(s.data(), s.size()); }         // NOLINT
  ThinString(const std::string& s) : ThinString(std::string_view(s)) {}  // NOLINT
  ThinString(const char* s) : ThinString(std::string_view(s)) {}         // NOLINT
  ThinString(const ThinString& o) : ThinString(o.view()) {}
  ThinString(ThinString&&) noexcept = default;
  ThinString& operator=(const ThinString& o) {
    if (this != &o) assign(o.data(), o.size());
    return *this;
  }
  ThinString& operator=(ThinString&&) noexcept = default;

  // Replaces the text with [s, s + n). One allocation unless n is 0. O(n).
  void assign(const char* s, size_t n) {
    if (n == 0) {
      p_.reset();
      return;
    }
    auto p = std::make_unique_for_overwrite<char[]>(sizeof(uint32_t) + n);
    const auto len = static_cast<uint32_t>(n);
    std::memcpy(p.get(), &len, sizeof len);
    std::memcpy(p.get() + sizeof len, s, n);
    p_ = std::move(p);
  }

  size_t size() const noexcept {
    if (!p_) return 0;
    uint32_t len;
    std::memcpy(&len, p_.get(), sizeof len);
    return len;
  }
  bool empty() const noexcept { return !p_; }
  const char* data() const noexcept { return p_ ? p_.get() + sizeof(uint32_t) : ""; }
  std::string_view view() const noexcept { return {data(), size()}; }
  operator std::string_view() const noexcept { return view(); }  // NOLINT
  std::string string() const { return std::string(view()); }

  friend bool operator==(const ThinString& a, const ThinString& b) noexcept { return a.view() == b.view(); }
  friend bool operator==(const ThinString& a, std::string_view b) noexcept { return a.view() == b; }
  friend bool operator==(const ThinString& a, const std::string& b) noexcept { return a.view() == b; }
  friend bool operator==(const ThinString& a, const char* b) noexcept { return a.view() == b; }

 private:
  std::unique_ptr<char[]> p_;  // null: empty; else a uint32_t length, then the bytes
};

}  // namespace sb
