// core/fifo.h — a first-in first-out queue that costs nothing while empty.
//
// std::deque allocates a 64-byte map and a 512-byte block as soon as it is
// constructed (libstdc++), so every connection paid ~0.6 KB per deque it owns,
// idle or not. Fifo keeps its elements in a std::vector from `head_` on: an
// empty Fifo that never held anything owns no memory, and one that holds a few
// elements owns a few elements' worth. pop_front() moves the head; the consumed
// prefix is dropped when the queue empties (O(1)) or when it is over half of
// the vector (O(size), once per size/2 pops: amortized O(1)). Not thread-safe.
#pragma once

#include <cassert>
#include <cstddef>
#include <utility>
#include <vector>

namespace sb {

template <class T>
class Fifo {
 public:
  using iterator = typename std::vector<T>::iterator;
  using const_iterator = typename std::vector<T>::const_iterator;

  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }

  T& front() {
    assert(!empty());
    return items_[head_];
  }
  const T& front() const {
    assert(!empty());
    return items_[head_];
  }

  T& back() {
    assert(!empty());
    return items_.back();
  }
  const T& back() const {
    assert(!empty());
    return items_.back();
  }
  // The i-th element from the front (i < size()).
  const T& operator[](size_t i) const { return items_[head_ + i]; }

  // May move the elements (vector growth): hand out no pointer into one across a push.
  void push_back(T v) { items_.push_back(std::move(v)); }

  void pop_front() {
    assert(!empty());
    items_[head_] = T();  // release what it holds now, not at the next compaction
    if (++head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    } else if (head_ >= 32 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  // Drops every element after the first `keep` (keep <= size()).
  void truncate(size_t keep) {
    assert(keep <= size());
    items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(head_ + keep), items_.end());
    if (empty()) clear();
  }

  // Drops everything and gives the memory back.
  void clear() {
    std::vector<T>().swap(items_);
    head_ = 0;
  }

  iterator begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  const_iterator end() const { return items_.end(); }

 private:
  std::vector<T> items_;
  size_t head_ = 0;
};

}  // namespace sb
