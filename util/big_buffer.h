// BigBuffer<T>: a resizable array of trivially copyable values for large scratch memory that
// is rewritten in full after each resize (e.g. a DP-SGD worker's copies of an epoch's sampled
// rows). Unlike std::vector it does not value-initialise what it allocates (a vector of 150 MB
// is written twice: zeroed, then filled), and from 2 MiB on its memory comes from mmap,
// aligned to 2 MiB and advised MADV_HUGEPAGE, so that where transparent huge pages are
// enabled (`madvise` mode included) the kernel backs it with 2 MiB pages: one page fault per
// 2 MiB instead of one per 4 KiB (a fault costs microseconds, much more in a virtual machine).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <utility>

namespace ecps::util {

template <class T>
class BigBuffer {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  /// Allocations of at least this many bytes are mapped, in whole huge pages.
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;

  BigBuffer() = default;
  BigBuffer(const BigBuffer&) = delete;
  BigBuffer& operator=(const BigBuffer&) = delete;
  BigBuffer(BigBuffer&& other) noexcept { Swap(other); }
  BigBuffer& operator=(BigBuffer&& other) noexcept {
    BigBuffer(std::move(other)).Swap(*this);
    return *this;
  }
  ~BigBuffer() { Release(); }

  /// Sizes the buffer to n values. The memory is kept when it holds n values, otherwise
  /// replaced (with room for n + n/16); the values are unspecified after a replacement.
  void Resize(std::size_t n) {
    if (n > capacity_) {
      Release();
      Allocate(n + n / 16);
    }
    size_ = n;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  /// Whether the memory was mapped in huge-page-aligned 2 MiB units (large buffers).
  bool mapped() const { return mapped_bytes_ > 0; }

 private:
  void Swap(BigBuffer& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(capacity_, o.capacity_);
    std::swap(mapped_bytes_, o.mapped_bytes_);
  }

  void Allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) {
      data_ = static_cast<T*>(std::malloc(bytes > 0 ? bytes : 1));
      if (!data_) throw std::bad_alloc();
      capacity_ = n;
      return;
    }
    // Map one huge page more than needed, then unmap the ends so the rest is 2 MiB aligned.
    const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* m = mmap(nullptr, rounded + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<std::uintptr_t>(m);
    const std::uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
    if (aligned > start) munmap(m, aligned - start);
    const std::uintptr_t tail = start + rounded + kHugePage - (aligned + rounded);
    if (tail > 0) munmap(reinterpret_cast<void*>(aligned + rounded), tail);
    madvise(reinterpret_cast<void*>(aligned), rounded, MADV_HUGEPAGE);  // a hint: failure is harmless
    data_ = reinterpret_cast<T*>(aligned);
    mapped_bytes_ = rounded;
    capacity_ = rounded / sizeof(T);
  }

  void Release() {
    if (mapped_bytes_ > 0) {
      munmap(data_, mapped_bytes_);
    } else {
      std::free(data_);
    }
    data_ = nullptr;
    size_ = capacity_ = mapped_bytes_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  std::size_t mapped_bytes_ = 0;  // > 0: data_ was mapped (that many bytes)
};

}  // namespace ecps::util
