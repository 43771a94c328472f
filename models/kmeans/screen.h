// A float32 screen for the nearest-centroid search of the Lloyd iterations, exact by
// construction.
//
// The screen evaluates s_j = ||c_j - o||^2 - 2 (x - o).(c_j - o) (the squared distance to c_j
// up to a term that does not depend on j) for 16 points at a time in float32 (twice the lanes
// of float64, half the bytes to stream), and keeps per point the smallest and second smallest
// value and the index of the smallest. A rigorous bound on the float32 error, plus the error
// of the float64 kernel itself (kernel.h), says when the gap between the two is wide enough
// for the float64 kernel's argmin to be the same centroid: then the screen's label is the
// exact one. Otherwise the point is reported as unsure and the caller asks the float64 kernel
// (NearestCentroid). Labels are therefore the float64 kernel's bit for bit, whatever the
// screen decides; the screen only decides how much work that takes.
//
// The screen needs AVX-512 (AVX512F/DQ/BW); ScreenAvailable() says whether this process runs
// it. Elsewhere the Lloyd loop uses the float64 Assign directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "models/kmeans/kernel.h"

namespace ecps::models::kmeans {

/// Points per screen block (one AVX-512 register of float32).
constexpr std::size_t kScreenBlock = 16;

/// True when the screen runs here: the CPU has AVX-512 and `kind` allows it (kAuto).
bool ScreenAvailable(KernelKind kind = KernelKind::kAuto);

/// Memory for large arrays that are streamed or read at random: 64-byte aligned (whole cache
/// lines per block) and, from 4 MiB on, in 2 MiB pages where the kernel offers them (fewer TLB
/// misses). Throws std::bad_alloc like operator new.
void* AllocateLarge(std::size_t bytes);
void FreeLarge(void* p, std::size_t bytes);

/// A std::vector allocator over AllocateLarge. resize() leaves new elements uninitialised
/// (default-initialised): the first write touches the memory, on the thread that fills it.
template <class T>
struct CacheAligned {
  using value_type = T;
  CacheAligned() = default;
  template <class U>
  CacheAligned(const CacheAligned<U>&) {}  // NOLINT: allocator rebinding
  T* allocate(std::size_t n) { return static_cast<T*>(AllocateLarge(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) { FreeLarge(p, n * sizeof(T)); }
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... A>
  void construct(U* p, A&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<A>(args)...);
  }
  bool operator==(const CacheAligned&) const { return true; }
};

/// One worker's points for the screen: y = (x - origin) * scale rounded to float32, in blocks
/// of 16 points. Block b holds d rows of 16 values (feature by feature), then a row of upper
/// bounds on ||y||^2 of its points. Points past n (in the last block) are zero.
class ScreenPoints {
 public:
  /// Sizes the blocks for n points of d features. `origin` (d values) and `scale` (a power of
  /// two, so that scaling is exact) map the fitted space to the screen's; choose them so that
  /// |y| is about 1 (any choice is correct; a poor one makes more points unsure).
  void Reset(std::size_t n, std::size_t d, std::vector<double> origin, double scale);
  /// Fills blocks [b0, b1) from x (row-major n x d: the points of Reset). Blocks are
  /// independent: threads may fill disjoint ranges.
  void Fill(const double* x, std::size_t b0, std::size_t b1);

  std::size_t size() const { return n_; }
  std::size_t dim() const { return d_; }
  std::size_t blocks() const { return (n_ + kScreenBlock - 1) / kScreenBlock; }
  const float* block(std::size_t b) const { return data_.data() + b * (d_ + 1) * kScreenBlock; }
  const std::vector<double>& origin() const { return origin_; }
  double scale() const { return scale_; }

 private:
  std::size_t n_ = 0, d_ = 0;
  std::vector<double> origin_;
  double scale_ = 1;
  std::vector<float, CacheAligned<float>> data_;
};

/// Centroids laid out for the screen (tiles of 16), with the coefficients of the error bound.
class ScreenPanel {
 public:
  /// `centroids`: k x d in the fitted space. Returns false when the screen cannot bound its
  /// error for these centroids (too far from the points' origin for float32); then the caller
  /// must use the float64 kernel for this set of centroids.
  bool Set(std::span<const double> centroids, std::size_t k, const ScreenPoints& points);

  std::size_t k() const { return k_; }
  std::size_t kpad() const { return kpad_; }
  /// Tile t (centroids 16t .. 16t + 15) at tiles() + t * (d + 1) * 16: a row of the 16 values
  /// ||b_j||^2, then per feature f a row of the 16 values -2 b_jf (b_j = (c_j - o) * scale).
  /// Padding centroids have a huge norm and b = 0.
  const float* tiles() const { return tiles_.data(); }
  /// A point settles when second - best > alpha + beta * (its bound on ||y||^2).
  float alpha() const { return alpha_; }
  float beta() const { return beta_; }

 private:
  std::size_t k_ = 0, d_ = 0, kpad_ = 0;
  std::vector<float, CacheAligned<float>> tiles_;
  float alpha_ = 0, beta_ = 0;
};

/// Screens blocks [b0, b1) of `points` against `panel`. `labels` holds the current label of
/// each point of the range (from point b0 * 16; -1 = none); `next` receives the screen's
/// label (16 per block; meaningful for settled points only). Per block, `todo` gets a bit for
/// every point whose label changes or that is unsure, `unsure` a bit for the unsure ones (the
/// caller decides those with NearestCentroid). Bits of points past the end are clear.
/// `prefetch` (optional): row-major rows of d doubles, from point b0 * 16, that the caller
/// reads next; they are brought into the L2 cache while the screen computes, so that a
/// following pass over them does not wait on memory. Requires ScreenAvailable().
void Screen(const ScreenPoints& points, const ScreenPanel& panel, std::size_t b0, std::size_t b1,
            const std::int32_t* labels, std::int32_t* next, std::uint16_t* todo, std::uint16_t* unsure,
            const double* prefetch = nullptr);

}  // namespace ecps::models::kmeans
