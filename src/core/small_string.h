// core/small_string.h — an immutable string that keeps up to 31 bytes inside itself.
//
// Ids are copied into every table that indexes a connection (sessions, rooms,
// resume records), so each copy of an id that spills to the heap costs a block
// per connection per table. libstdc++'s std::string keeps 15 bytes inline: a
// peer id (18 characters) or a session id (22) is a heap block in every copy.
// A SmallString is the same 32 bytes as a std::string but keeps 31 bytes
// inline; longer strings (a long room name or `sub`) take one exact-size heap
// block. It is a value: no mutation after construction other than assignment.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sb {

class SmallString {
 public:
  static constexpr size_t kInline = 31;

  SmallString() noexcept { raw_[kTag] = 0; }
  explicit SmallString(std::string_view s) { assign(s); }
  SmallString(const SmallString& o) { assign(o.view()); }
  SmallString(SmallString&& o) noexcept {
    std::memcpy(raw_, o.raw_, sizeof raw_);
    o.raw_[kTag] = 0;
  }
  SmallString& operator=(const SmallString& o) {
    if (this != &o) {
      SmallString copy(o);
      *this = std::move(copy);
    }
    return *this;
  }
  SmallString& operator=(SmallString&& o) noexcept {
    if (this != &o) {
      release();
      std::memcpy(raw_, o.raw_, sizeof raw_);
      o.raw_[kTag] = 0;
    }
    return *this;
  }
  ~SmallString() { release(); }

  // The bytes; valid until this string is assigned to, moved from or destroyed
  // (inline bytes move with the object). O(1).
  std::string_view view() const noexcept {
    if (!on_heap()) return {raw_, static_cast<uint8_t>(raw_[kTag])};
    return {heap_ptr(), heap_size()};
  }
  size_t size() const noexcept { return view().size(); }
  bool empty() const noexcept { return size() == 0; }
  bool on_heap() const noexcept { return static_cast<uint8_t>(raw_[kTag]) == kHeap; }

 private:
  static constexpr size_t kTag = 31;      // last byte: the inline length, or kHeap
  static constexpr uint8_t kHeap = 0xFF;  // then raw_ starts with {char*, size_t}

  void assign(std::string_view s) {
    if (s.size() <= kInline) {
      if (!s.empty()) std::memcpy(raw_, s.data(), s.size());
      raw_[kTag] = static_cast<char>(s.size());
      return;
    }
    char* p = new char[s.size()];
    std::memcpy(p, s.data(), s.size());
    const size_t n = s.size();
    std::memcpy(raw_, &p, sizeof p);
    std::memcpy(raw_ + sizeof p, &n, sizeof n);
    raw_[kTag] = static_cast<char>(kHeap);
  }
  void release() noexcept {
    if (on_heap()) delete[] heap_ptr();
    raw_[kTag] = 0;
  }
  char* heap_ptr() const noexcept {
    char* p;
    std::memcpy(&p, raw_, sizeof p);
    return p;
  }
  size_t heap_size() const noexcept {
    size_t n;
    std::memcpy(&n, raw_ + sizeof(char*), sizeof n);
    return n;
  }

  alignas(8) char raw_[32];
};

static_assert(sizeof(SmallString) == 32);

}  // namespace sb
