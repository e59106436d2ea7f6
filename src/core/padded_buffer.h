// core/padded_buffer.h — a byte buffer that owns nothing while empty and
// always has readable padding after its bytes.
//
// For input that is parsed in place by readers that look ahead (simdjson and
// the JSON check read up to 64 bytes past the end): every allocation has
// kPadding bytes more than the capacity it reports. Unlike std::string it can
// give its memory back the moment it is empty, which is what an idle
// connection's receive buffer should do. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>

namespace sb {

class PaddedBuffer {
 public:
  static constexpr size_t kPadding = 64;

  char* data() { return p_.get(); }
  size_t size() const { return len_; }
  bool empty() const { return len_ == 0; }
  size_t capacity() const { return cap_; }
  // Free space after the bytes (not counting the padding).
  size_t room() const { return cap_ - len_; }
  char* end() { return p_.get() + len_; }

  // Makes room() at least `n`, keeping the bytes. Grows by at least half, so appends are amortized O(1).
  void reserve_more(size_t n) {
    if (room() >= n) return;
    size_t cap = cap_ + cap_ / 2;
    if (cap < len_ + n) cap = len_ + n;
    auto p = std::make_unique_for_overwrite<char[]>(cap + kPadding);
    if (len_) std::memcpy(p.get(), p_.get(), len_);
    p_ = std::move(p);
    cap_ = cap;
  }
  void append(const char* s, size_t n) {
    reserve_more(n);
    if (n == 0) return;  // p_ may still be null, and memcpy must not get a null pointer
    std::memcpy(p_.get() + len_, s, n);
    len_ += n;
  }
  // Counts `n` bytes written at end() as part of the buffer.
  void commit(size_t n) { len_ += n; }
  // Drops the first `n` bytes. O(size - n).
  void consume(size_t n) {
    if (n >= len_) {
      len_ = 0;
      return;
    }
    std::memmove(p_.get(), p_.get() + n, len_ - n);
    len_ -= n;
  }
  // Gives the memory back when empty.
  void release_if_empty() {
    if (len_ == 0 && p_) {
      p_.reset();
      cap_ = 0;
    }
  }

 private:
  std::unique_ptr<char[]> p_;
  size_t len_ = 0;
  size_t cap_ = 0;
};

}  // namespace sb
