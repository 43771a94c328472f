#include "models/kmeans/screen.h"

#include <immintrin.h>
#include <sys/mman.h>

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "models/kmeans/kernel.h"

namespace ecps::models::kmeans {
namespace {

constexpr std::size_t kB = kScreenBlock;
// Padding centroids: a finite value far above any real one (Set refuses |s| >= 2^101), so
// that they never win and the index bits below stay in a finite float.
constexpr float kPad = FLT_MAX / 2;

// The lane indices 0..15, read as broadcast memory operands by Tile.
struct LaneIndex {
  std::int32_t v[16];
};
constexpr LaneIndex kLaneIndex = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}};

bool CpuHasScreen() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512bw");
  return has;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 on AVX-512 intrinsics, as in kernel.cc

// The error bound (all in the screen's scaled space, u = 2^-24, t-hat = float32 of -2b):
//  - float32 values: y, t = -2b and ||b||^2 are each rounded once (relative u), the chain of
//    d FMAs adds gamma_d = d u / (1 - d u) of |cn| + sum |y_f t_f|, and the index written into
//    the 4 low mantissa bits moves a value by < 16 ulp <= 32 u |value|. Together
//    |s_hat - s| <= (d + 36) u 1.01 (||b||^2 + 2 ||y|| ||b||) <= (d + 36) u 1.01 (2 B^2 + ||y||^2),
//    with B = max_j ||b_j|| (2ab <= a^2 + b^2).
//  - the float64 kernel (kernel.h) computes ||c||^2 and then ||c||^2 - 2 x.c as FMA chains:
//    error <= 2 d 2^-53 1.01 (||c||^2 + 2 ||x|| ||c||) <= (2d + 2) 2^-53 1.01 (2 C^2 + 2 ||y||^2 + 2 ||o||^2).
//  If the screen's gap exceeds twice the first plus twice the second, the true gap exceeds
//  twice the float64 error, so the float64 kernel picks the same, unique minimum.
//  - an absolute term covers values that underflow float32 (denormals, or zero under FTZ).
//  alpha and beta carry a further 2% for the float32 evaluation of the test itself.
struct Bound {
  double alpha, beta;
};
Bound ErrorBound(std::size_t d, double b2_max, double c2_max, double o2) {
  const double u = 0x1.0p-24, u64 = 0x1.0p-53;
  const double a32 = 2.0 * (static_cast<double>(d) + 36.0) * u * 1.01;
  const double a64 = 2.0 * (2.0 * static_cast<double>(d) + 2.0) * u64 * 1.01;
  const double tiny = (static_cast<double>(d) + 8.0) * 0x1.0p-120;
  return {1.02 * (a32 * 2.0 * b2_max + a64 * (2.0 * c2_max + 2.0 * o2) + tiny), 1.02 * (a32 + 2.0 * a64)};
}

// One tile of 16 centroids (panel layout in screen.h) against a block: 16 chains of FMAs,
// the tile's index written into the low 4 bits of each value, then the smallest and second
// smallest by a tree of min/max. xf: the block's D feature rows in registers (D > 0), or the
// block itself (d rows at `blk`, D = 0).
template <int D>
__attribute__((target("avx512f,avx512dq,avx512bw"), always_inline)) inline void Tile(
    const __m512* xf, const float* blk, std::size_t d, const float* tile, const LaneIndex& lane,
    __m512& lo_out, __m512& hi_out) {
  // Centroid values are broadcast from memory inside the FMAs (one 4-byte load each; whole
  // 64-byte rows would make the loads, not the FMAs, the limit).
  __m512 v[16];
#pragma GCC unroll 16
  for (int q = 0; q < 16; ++q) v[q] = _mm512_set1_ps(tile[q]);
  if constexpr (D > 0) {
#pragma GCC unroll 8
    for (int f = 0; f < D; ++f) {
      const float* c = tile + kB * static_cast<std::size_t>(f + 1);
#pragma GCC unroll 16
      for (int q = 0; q < 16; ++q) v[q] = _mm512_fmadd_ps(xf[f], _mm512_set1_ps(c[q]), v[q]);
    }
  } else {
    for (std::size_t f = 0; f < d; ++f) {
      const __m512 x = _mm512_load_ps(blk + f * kB);
      const float* c = tile + kB * (f + 1);
#pragma GCC unroll 16
      for (int q = 0; q < 16; ++q) v[q] = _mm512_fmadd_ps(x, _mm512_set1_ps(c[q]), v[q]);
    }
  }
  const __m512i keep = _mm512_set1_epi32(~15);
#pragma GCC unroll 16
  for (int q = 0; q < 16; ++q) {
    // (v & ~15) | q: ternary logic A & B | C = 0xEA, with q broadcast from memory (16
    // constants in registers would crowd out the accumulators). Inline assembly because GCC
    // does not fold the broadcast into vpternlogd, and rebuilds known constants from
    // immediates.
    __m512i w = _mm512_castps_si512(v[q]);
    asm("vpternlogd $0xea, %2%{1to16%}, %1, %0" : "+v"(w) : "v"(keep), "m"(lane.v[q]));
    v[q] = _mm512_castsi512_ps(w);
  }
  __m512 lo[8], hi[8];
#pragma GCC unroll 8
  for (int q = 0; q < 8; ++q) {
    lo[q] = _mm512_min_ps(v[2 * q], v[2 * q + 1]);
    hi[q] = _mm512_max_ps(v[2 * q], v[2 * q + 1]);
  }
#pragma GCC unroll 4
  for (int w = 4; w >= 1; w /= 2) {
#pragma GCC unroll 4
    for (int q = 0; q < w; ++q) {
      const __m512 a = lo[2 * q], b = lo[2 * q + 1];
      hi[q] = _mm512_min_ps(_mm512_max_ps(a, b), _mm512_min_ps(hi[2 * q], hi[2 * q + 1]));
      lo[q] = _mm512_min_ps(a, b);
    }
  }
  lo_out = lo[0];
  hi_out = hi[0];
}

template <int D>
__attribute__((target("avx512f,avx512dq,avx512bw"))) void ScreenBlocks(const ScreenPoints& pts,
                                                                    const ScreenPanel& p, std::size_t b0,
                                                                    std::size_t b1, const std::int32_t* labels,
                                                                    std::int32_t* next, std::uint16_t* todo,
                                                                    std::uint16_t* unsure,
                                                                    const double* prefetch) {
  const std::size_t d = pts.dim(), kp = p.kpad(), n = pts.size();
  const std::size_t row_bytes = kB * d * sizeof(double);  // a block's rows in `prefetch`
  const std::size_t tile_size = (d + 1) * kB;
  const float* tiles = p.tiles();
  const __m512 alpha = _mm512_set1_ps(p.alpha()), beta = _mm512_set1_ps(p.beta());
  const __m512i low = _mm512_set1_epi32(15);
  for (std::size_t b = b0; b < b1; ++b) {
    const float* blk = pts.block(b);
    if (prefetch) {
      const char* rows = reinterpret_cast<const char*>(prefetch) + (b - b0) * row_bytes;
      for (std::size_t at = 0; at < row_bytes; at += 64) _mm_prefetch(rows + at, _MM_HINT_T1);
    }
    __m512 xf[D > 0 ? D : 1];
    if constexpr (D > 0) {
#pragma GCC unroll 8
      for (int f = 0; f < D; ++f) xf[f] = _mm512_load_ps(blk + static_cast<std::size_t>(f) * kB);
    }
    __m512 best, second;
    Tile<D>(xf, blk, d, tiles, kLaneIndex, best, second);
    __m512i idx = _mm512_and_si512(_mm512_castps_si512(best), low);
    const float* tile = tiles + tile_size;
    for (std::size_t j = kB; j < kp; j += kB, tile += tile_size) {
      __m512 lo, hi;
      Tile<D>(xf, blk, d, tile, kLaneIndex, lo, hi);
      const __mmask16 m = _mm512_cmp_ps_mask(lo, best, _CMP_LT_OQ);
      second = _mm512_min_ps(_mm512_min_ps(second, hi), _mm512_max_ps(best, lo));
      best = _mm512_min_ps(best, lo);
      idx = _mm512_mask_add_epi32(idx, m, _mm512_and_si512(_mm512_castps_si512(lo), low),
                                  _mm512_set1_epi32(static_cast<int>(j)));
    }
    const __m512 thr = _mm512_fmadd_ps(_mm512_load_ps(blk + d * kB), beta, alpha);
    const __mmask16 sure = _mm512_cmp_ps_mask(_mm512_sub_ps(second, best), thr, _CMP_GT_OQ);
    const std::size_t i0 = (b - b0) * kB;
    const std::size_t left = n - b * kB;
    const auto valid = static_cast<__mmask16>(left >= kB ? 0xFFFFu : (1u << left) - 1u);
    const __m512i old = _mm512_maskz_loadu_epi32(valid, labels + i0);
    const __mmask16 moved = _mm512_cmpneq_epi32_mask(idx, old);
    todo[b - b0] = static_cast<std::uint16_t>(valid & (moved | static_cast<__mmask16>(~sure)));
    unsure[b - b0] = static_cast<std::uint16_t>(valid & static_cast<__mmask16>(~sure));
    _mm512_storeu_si512(next + i0, idx);
  }
}

#pragma GCC diagnostic pop

using ScreenFn = void (*)(const ScreenPoints&, const ScreenPanel&, std::size_t, std::size_t, const std::int32_t*,
                          std::int32_t*, std::uint16_t*, std::uint16_t*, const double*);
constexpr ScreenFn kScreenFns[9] = {ScreenBlocks<0>, ScreenBlocks<1>, ScreenBlocks<2>, ScreenBlocks<3>, ScreenBlocks<4>,
                                    ScreenBlocks<5>, ScreenBlocks<6>, ScreenBlocks<7>, ScreenBlocks<8>};

}  // namespace

void* AllocateLarge(std::size_t bytes) {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  if (bytes < 2 * kHuge) return ::operator new(bytes, std::align_val_t{64});
  const std::size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
  void* p = ::operator new(rounded, std::align_val_t{kHuge});
  (void)madvise(p, rounded, MADV_HUGEPAGE);  // a hint: without it, 4 KiB pages
  return p;
}

void FreeLarge(void* p, std::size_t bytes) {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  ::operator delete(p, std::align_val_t{bytes < 2 * kHuge ? 64 : kHuge});
}

bool ScreenAvailable(KernelKind kind) { return UsingAvx512(kind) && CpuHasScreen(); }

void ScreenPoints::Reset(std::size_t n, std::size_t d, std::vector<double> origin, double scale) {
  n_ = n;
  d_ = d;
  origin_ = std::move(origin);
  scale_ = scale;
  data_.resize(blocks() * (d + 1) * kB);  // uninitialised: Fill writes every value
}

void ScreenPoints::Fill(const double* x, std::size_t b0, std::size_t b1) {
  const std::size_t d = d_;
  for (std::size_t b = b0; b < b1; ++b) {
    float* blk = data_.data() + b * (d + 1) * kB;
    const std::size_t m = std::min(kB, n_ - b * kB);
    for (std::size_t i = 0; i < m; ++i) {
      const double* xi = x + (b * kB + i) * d;
      double s = 0;
      for (std::size_t f = 0; f < d; ++f) {
        const auto y = static_cast<float>((xi[f] - origin_[f]) * scale_);
        blk[f * kB + i] = y;
        s += static_cast<double>(y) * static_cast<double>(y);
      }
      // An upper bound after rounding; +inf (never settles) where float32 could overflow.
      blk[d * kB + i] = s < 0x1.0p100 ? static_cast<float>(s * (1.0 + 0x1.0p-20)) : INFINITY;
    }
    for (std::size_t row = 0; row <= d; ++row) std::fill(blk + row * kB + m, blk + row * kB + kB, 0.0f);
  }
}

bool ScreenPanel::Set(std::span<const double> centroids, std::size_t k, const ScreenPoints& points) {
  const std::size_t d = points.dim();
  const auto& o = points.origin();
  const double sc = points.scale();
  k_ = k;
  d_ = d;
  kpad_ = (k + kB - 1) / kB * kB;
  const std::size_t tile_size = (d + 1) * kB;
  tiles_.assign(kpad_ / kB * tile_size, 0.0f);
  double b2_max = 0, c2_max = 0, o2 = 0;
  for (std::size_t f = 0; f < d; ++f) o2 += (o[f] * sc) * (o[f] * sc);
  auto at = [&](std::size_t j, std::size_t row) -> float& {  // row 0: norms; row 1 + f: feature f
    return tiles_[j / kB * tile_size + row * kB + j % kB];
  };
  for (std::size_t j = k; j < kpad_; ++j) at(j, 0) = kPad;
  for (std::size_t j = 0; j < k; ++j) {
    const double* c = centroids.data() + j * d;
    double b2 = 0, c2 = 0;
    for (std::size_t f = 0; f < d; ++f) {
      const double b = (c[f] - o[f]) * sc;
      b2 += b * b;
      c2 += (c[f] * sc) * (c[f] * sc);
      at(j, 1 + f) = static_cast<float>(-2.0 * b);
    }
    at(j, 0) = static_cast<float>(b2);
    b2_max = std::max(b2_max, b2 * 1.0001);
    c2_max = std::max(c2_max, c2 * 1.0001);
  }
  // |s| stays below 2^101 for points with ||y|| <= ~1 (their scale), far from kPad and from
  // float32 overflow; beyond that the float64 kernel decides.
  if (!(b2_max < 0x1.0p100) || !std::isfinite(c2_max) || !std::isfinite(o2)) return false;
  const Bound bound = ErrorBound(d, b2_max, c2_max, o2);
  alpha_ = static_cast<float>(bound.alpha * (1 + 0x1.0p-20));
  beta_ = static_cast<float>(bound.beta * (1 + 0x1.0p-20));
  return std::isfinite(alpha_) && std::isfinite(beta_);
}

void Screen(const ScreenPoints& points, const ScreenPanel& panel, std::size_t b0, std::size_t b1,
            const std::int32_t* labels, std::int32_t* next, std::uint16_t* todo, std::uint16_t* unsure,
            const double* prefetch) {
  const std::size_t d = points.dim();
  kScreenFns[d <= 8 ? d : 0](points, panel, b0, b1, labels, next, todo, unsure, prefetch);
}

}  // namespace ecps::models::kmeans
