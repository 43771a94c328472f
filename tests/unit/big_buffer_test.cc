#include "util/big_buffer.h"

#include <cstdint>
#include <utility>

#include <gtest/gtest.h>

namespace ecps::util {
namespace {

// Fills the buffer with a pattern of its index and checks it back.
template <class T>
void FillAndCheck(BigBuffer<T>& b, std::uint32_t salt) {
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<T>(i * 2654435761u + salt);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < b.size(); ++i) bad += b[i] != static_cast<T>(i * 2654435761u + salt);
  EXPECT_EQ(bad, 0u);
}

TEST(BigBuffer, SmallBuffersComeFromTheHeapLargeOnesAreMappedOnHugePageBoundaries) {
  BigBuffer<std::uint32_t> small;
  small.Resize(1000);
  EXPECT_EQ(small.size(), 1000u);
  EXPECT_FALSE(small.mapped());
  FillAndCheck(small, 1);

  BigBuffer<std::uint32_t> large;
  large.Resize((std::size_t{3} << 20) + 7);  // 12 MiB + 28 bytes: 7 huge pages
  EXPECT_TRUE(large.mapped());
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(large.data()) % BigBuffer<std::uint32_t>::kHugePage, 0u);
  EXPECT_GE(large.capacity(), large.size());
  EXPECT_EQ(large.capacity() * sizeof(std::uint32_t) % BigBuffer<std::uint32_t>::kHugePage, 0u);
  FillAndCheck(large, 2);
}

TEST(BigBuffer, ResizingWithinTheCapacityKeepsTheMemoryAndItsValues) {
  BigBuffer<float> b;
  b.Resize(std::size_t{1} << 20);
  FillAndCheck(b, 3);
  const float* at = b.data();
  const float kept = b[12345];
  b.Resize(1000);  // smaller, then larger again up to the capacity: the same memory
  EXPECT_EQ(b.data(), at);
  b.Resize(b.capacity());
  EXPECT_EQ(b.data(), at);
  EXPECT_EQ(b[12345], kept);
  b.Resize(b.capacity() + 1);  // beyond it: new memory, room to spare
  EXPECT_GT(b.capacity(), b.size());
  FillAndCheck(b, 4);
}

TEST(BigBuffer, MovingHandsOverTheMemory) {
  BigBuffer<std::uint64_t> a;
  a.Resize(std::size_t{1} << 19);  // 4 MiB: mapped
  FillAndCheck(a, 5);
  const std::uint64_t* at = a.data();
  BigBuffer<std::uint64_t> b(std::move(a));
  EXPECT_EQ(b.data(), at);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(a.size(), 0u);
  BigBuffer<std::uint64_t> c;
  c.Resize(10);
  c = std::move(b);
  EXPECT_EQ(c.data(), at);
  EXPECT_EQ(c.size(), std::size_t{1} << 19);
  EXPECT_EQ(c[77], static_cast<std::uint64_t>(std::size_t{77} * 2654435761u + 5));
}

}  // namespace
}  // namespace ecps::util
