#include "models/kmeans/kernel.h"

#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace ecps::models::kmeans {
namespace {

constexpr std::size_t kBlock = 8;  // points per micro-kernel block
constexpr double kInf = std::numeric_limits<double>::infinity();

bool CpuHasAvx2Fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}
bool CpuHasAvx512() {
  static const bool has = CpuHasAvx2Fma() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
  return has;
}

// Copies points [i0, i0 + m) into xt (d x 8, feature-major), zero-padding missing points.
inline void Transpose(const double* x, std::size_t i0, std::size_t m, std::size_t d, double* xt) {
  for (std::size_t f = 0; f < d; ++f) {
    double* row = xt + f * kBlock;
    for (std::size_t i = 0; i < m; ++i) row[i] = x[(i0 + i) * d + f];
    for (std::size_t i = m; i < kBlock; ++i) row[i] = 0.0;
  }
}

void AssignPortable(const double* x, const double* norms, std::size_t n, const CentroidPanel& p,
                    std::int32_t* labels, double* d2) {
  const std::size_t d = p.d, kp = p.kpad;
  for (std::size_t i = 0; i < n; ++i) {
    const double* xi = x + i * d;
    double best = kInf;
    std::int32_t bi = 0;
    for (std::size_t j = 0; j < p.k; ++j) {
      double acc = p.cn[j];
      for (std::size_t f = 0; f < d; ++f) acc = std::fma(xi[f], p.ct[f * kp + j], acc);
      if (acc < best) {
        best = acc;
        bi = static_cast<std::int32_t>(j);
      }
    }
    labels[i] = bi;
    d2[i] = std::max(0.0, norms[i] + best);
  }
}

// Transpose with 4x4 shuffles: whole 256-bit stores, so that the kernel's 256-bit loads of
// the block are forwarded from the store buffer (scalar stores would stall them).
__attribute__((target("avx2,fma"))) void TransposeAvx2(const double* x, std::size_t i0, std::size_t m,
                                                       std::size_t d, double* xt) {
  if (m < kBlock) {
    Transpose(x, i0, m, d, xt);
    return;
  }
  std::size_t f = 0;
  for (; f + 4 <= d; f += 4) {
    for (std::size_t h = 0; h < 2; ++h) {
      const double* r = x + (i0 + 4 * h) * d + f;
      const __m256d r0 = _mm256_loadu_pd(r), r1 = _mm256_loadu_pd(r + d);
      const __m256d r2 = _mm256_loadu_pd(r + 2 * d), r3 = _mm256_loadu_pd(r + 3 * d);
      const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
      const __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
      double* out = xt + f * kBlock + 4 * h;
      _mm256_store_pd(out, _mm256_permute2f128_pd(t0, t2, 0x20));
      _mm256_store_pd(out + kBlock, _mm256_permute2f128_pd(t1, t3, 0x20));
      _mm256_store_pd(out + 2 * kBlock, _mm256_permute2f128_pd(t0, t2, 0x31));
      _mm256_store_pd(out + 3 * kBlock, _mm256_permute2f128_pd(t1, t3, 0x31));
    }
  }
  for (; f < d; ++f) {
    double* row = xt + f * kBlock;
    for (std::size_t i = 0; i < kBlock; ++i) row[i] = x[(i0 + i) * d + f];
  }
}

__attribute__((target("avx2,fma"))) void AssignAvx2(const double* x, const double* norms, std::size_t n,
                                                     const CentroidPanel& p, std::int32_t* labels,
                                                     double* d2, double* xt) {
  const std::size_t d = p.d, kp = p.kpad;
  const double* ctv = p.ctv.data();
  const double* cn = p.cn.data();
  alignas(32) double best_out[kBlock];
  alignas(32) double idx_out[kBlock];
  for (std::size_t i0 = 0; i0 < n; i0 += kBlock) {
    const std::size_t m = std::min(kBlock, n - i0);
    TransposeAvx2(x, i0, m, d, xt);
    __m256d best0 = _mm256_set1_pd(kInf), best1 = best0;
    __m256d idx0 = _mm256_setzero_pd(), idx1 = idx0;
    for (std::size_t j = 0; j < kp; j += 4) {
      __m256d a00 = _mm256_broadcast_sd(cn + j), a10 = a00;
      __m256d a01 = _mm256_broadcast_sd(cn + j + 1), a11 = a01;
      __m256d a02 = _mm256_broadcast_sd(cn + j + 2), a12 = a02;
      __m256d a03 = _mm256_broadcast_sd(cn + j + 3), a13 = a03;
      const double* c = ctv + j * 8;
      const double* xf = xt;
      for (std::size_t f = 0; f < d; ++f, c += kp * 8, xf += kBlock) {
        const __m256d x0 = _mm256_load_pd(xf), x1 = _mm256_load_pd(xf + 4);
        __m256d b = _mm256_loadu_pd(c);
        a00 = _mm256_fmadd_pd(x0, b, a00);
        a10 = _mm256_fmadd_pd(x1, b, a10);
        b = _mm256_loadu_pd(c + 8);
        a01 = _mm256_fmadd_pd(x0, b, a01);
        a11 = _mm256_fmadd_pd(x1, b, a11);
        b = _mm256_loadu_pd(c + 16);
        a02 = _mm256_fmadd_pd(x0, b, a02);
        a12 = _mm256_fmadd_pd(x1, b, a12);
        b = _mm256_loadu_pd(c + 24);
        a03 = _mm256_fmadd_pd(x0, b, a03);
        a13 = _mm256_fmadd_pd(x1, b, a13);
      }
      // Strictly smaller replaces: the lowest index wins ties, as in the portable kernel.
      // Strictly smaller replaces: the lowest index wins ties, as in the portable kernel.
      // (A macro: lambdas do not inherit the function's target attribute.)
#define ECPS_KMEANS_TAKE(a0, a1, jj)                                  \
  do {                                                                \
    const __m256d jv = _mm256_set1_pd(jj);                            \
    const __m256d m0 = _mm256_cmp_pd(a0, best0, _CMP_LT_OQ);          \
    const __m256d m1 = _mm256_cmp_pd(a1, best1, _CMP_LT_OQ);          \
    best0 = _mm256_blendv_pd(best0, a0, m0);                          \
    best1 = _mm256_blendv_pd(best1, a1, m1);                          \
    idx0 = _mm256_blendv_pd(idx0, jv, m0);                            \
    idx1 = _mm256_blendv_pd(idx1, jv, m1);                            \
  } while (0)
      const auto jd = static_cast<double>(j);
      ECPS_KMEANS_TAKE(a00, a10, jd);
      ECPS_KMEANS_TAKE(a01, a11, jd + 1);
      ECPS_KMEANS_TAKE(a02, a12, jd + 2);
      ECPS_KMEANS_TAKE(a03, a13, jd + 3);
#undef ECPS_KMEANS_TAKE
    }
    _mm256_store_pd(best_out, best0);
    _mm256_store_pd(best_out + 4, best1);
    _mm256_store_pd(idx_out, idx0);
    _mm256_store_pd(idx_out + 4, idx1);
    for (std::size_t i = 0; i < m; ++i) {
      labels[i0 + i] = static_cast<std::int32_t>(idx_out[i]);
      d2[i0 + i] = std::max(0.0, norms[i0 + i] + best_out[i]);
    }
  }
}

// GCC 12 reports its own AVX-512 intrinsics (which start from an undefined register) as
// "maybe uninitialized" once inlined; the values are all defined.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// One tile of T centroids [j, j + T) against the 8 points in xf: T chains of D FMAs, then
// the tile's minimum by a tree of pairwise comparisons of neighbours (short dependency chains;
// the lower index wins ties at every step), merged into the running minimum, which wins ties
// against later tiles: the result is the first minimum, as a sequential scan finds it.
template <int D, int T>
__attribute__((target("avx512f,avx512dq,avx2,fma"), always_inline)) inline void TileAvx512(
    const __m512d* xf, const double* ctv, const double* cn, std::size_t kp, std::size_t j, __m512d& best,
    __m512d& idx) {
  __m512d v[T], iv[T];
#pragma GCC unroll 8
  for (int q = 0; q < T; ++q) {
    v[q] = _mm512_set1_pd(cn[j + q]);
    iv[q] = _mm512_set1_pd(static_cast<double>(j + q));
  }
#pragma GCC unroll 8
  for (int f = 0; f < D; ++f) {
    const double* c = ctv + (f * kp + j) * 8;
#pragma GCC unroll 8
    for (int q = 0; q < T; ++q) v[q] = _mm512_fmadd_pd(xf[f], _mm512_loadu_pd(c + 8 * q), v[q]);
  }
#pragma GCC unroll 4
  for (int w = T / 2; w >= 1; w /= 2) {
#pragma GCC unroll 4
    for (int q = 0; q < w; ++q) {
      const __mmask8 mk = _mm512_cmp_pd_mask(v[2 * q + 1], v[2 * q], _CMP_LT_OQ);
      v[q] = _mm512_mask_mov_pd(v[2 * q], mk, v[2 * q + 1]);
      iv[q] = _mm512_mask_mov_pd(iv[2 * q], mk, iv[2 * q + 1]);
    }
  }
  const __mmask8 mk = _mm512_cmp_pd_mask(v[0], best, _CMP_LT_OQ);
  best = _mm512_mask_mov_pd(best, mk, v[0]);
  idx = _mm512_mask_mov_pd(idx, mk, iv[0]);
}

// AVX-512 for d <= 8: the 8 points of a block are loaded as rows (masked, zero-padded),
// transposed in registers (8x8, 24 shuffles) and kept there; each tile of 8 centroids is 8
// chains of D FMAs that read -2c as whole registers from the replicated panel. No stores
// between the load of a block and its use; 3 instructions per centroid for the argmin.
template <int D>
__attribute__((target("avx512f,avx512dq,avx2,fma"))) void AssignAvx512Small(
    const double* x, const double* norms, std::size_t n, const CentroidPanel& p, std::int32_t* labels,
    double* d2) {
  static_assert(D >= 1 && D <= 8);
  const std::size_t kp = p.kpad;
  const double* ctv = p.ctv.data();
  const double* cn = p.cn.data();
  const __mmask8 cols = static_cast<__mmask8>((1u << D) - 1);
  alignas(64) double best_out[kBlock];
  alignas(64) double idx_out[kBlock];
  for (std::size_t i0 = 0; i0 < n; i0 += kBlock) {
    const std::size_t m = std::min(kBlock, n - i0);
    __m512d r[8];
#pragma GCC unroll 8
    for (std::size_t i = 0; i < 8; ++i) {
      r[i] = i < m ? _mm512_maskz_loadu_pd(cols, x + (i0 + i) * D) : _mm512_setzero_pd();
    }
    const __m512d t0 = _mm512_unpacklo_pd(r[0], r[1]), t1 = _mm512_unpackhi_pd(r[0], r[1]);
    const __m512d t2 = _mm512_unpacklo_pd(r[2], r[3]), t3 = _mm512_unpackhi_pd(r[2], r[3]);
    const __m512d t4 = _mm512_unpacklo_pd(r[4], r[5]), t5 = _mm512_unpackhi_pd(r[4], r[5]);
    const __m512d t6 = _mm512_unpacklo_pd(r[6], r[7]), t7 = _mm512_unpackhi_pd(r[6], r[7]);
    __m512d xf[8];
    {
      const __m512d p0 = _mm512_shuffle_f64x2(t0, t2, 0x88), q0 = _mm512_shuffle_f64x2(t0, t2, 0xDD);
      const __m512d r0 = _mm512_shuffle_f64x2(t4, t6, 0x88), s0 = _mm512_shuffle_f64x2(t4, t6, 0xDD);
      xf[0] = _mm512_shuffle_f64x2(p0, r0, 0x88);
      xf[4] = _mm512_shuffle_f64x2(p0, r0, 0xDD);
      xf[2] = _mm512_shuffle_f64x2(q0, s0, 0x88);
      xf[6] = _mm512_shuffle_f64x2(q0, s0, 0xDD);
      const __m512d p1 = _mm512_shuffle_f64x2(t1, t3, 0x88), q1 = _mm512_shuffle_f64x2(t1, t3, 0xDD);
      const __m512d r1 = _mm512_shuffle_f64x2(t5, t7, 0x88), s1 = _mm512_shuffle_f64x2(t5, t7, 0xDD);
      xf[1] = _mm512_shuffle_f64x2(p1, r1, 0x88);
      xf[5] = _mm512_shuffle_f64x2(p1, r1, 0xDD);
      xf[3] = _mm512_shuffle_f64x2(q1, s1, 0x88);
      xf[7] = _mm512_shuffle_f64x2(q1, s1, 0xDD);
    }
    __m512d best = _mm512_set1_pd(kInf);
    __m512d idx = _mm512_setzero_pd();
    std::size_t j = 0;
    for (; j + 8 <= kp; j += 8) TileAvx512<D, 8>(xf, ctv, cn, kp, j, best, idx);
    for (; j < kp; j += 4) TileAvx512<D, 4>(xf, ctv, cn, kp, j, best, idx);
    _mm512_store_pd(best_out, best);
    _mm512_store_pd(idx_out, idx);
    for (std::size_t i = 0; i < m; ++i) {
      labels[i0 + i] = static_cast<std::int32_t>(idx_out[i]);
      d2[i0 + i] = std::max(0.0, norms[i0 + i] + best_out[i]);
    }
  }
}

#pragma GCC diagnostic pop

using SmallFn = void (*)(const double*, const double*, std::size_t, const CentroidPanel&, std::int32_t*, double*);
constexpr SmallFn kSmall[9] = {nullptr,
                               AssignAvx512Small<1>,
                               AssignAvx512Small<2>,
                               AssignAvx512Small<3>,
                               AssignAvx512Small<4>,
                               AssignAvx512Small<5>,
                               AssignAvx512Small<6>,
                               AssignAvx512Small<7>,
                               AssignAvx512Small<8>};

// Adds each point's row to one of 4 interleaved copies of the sums (so that consecutive
// points of one cluster do not wait on each other's stores).
void AccumulatePortable(const double* x, std::size_t n, std::size_t d, const std::int32_t* labels, std::size_t k,
                        double* copies) {
  const std::size_t w = d + 1;
  for (std::size_t i = 0; i < n; ++i) {
    double* s = copies + ((i & 3) * k + static_cast<std::size_t>(labels[i])) * w;
    const double* xi = x + i * d;
    for (std::size_t f = 0; f < d; ++f) s[f] += xi[f];
    s[d] += 1.0;
  }
}

__attribute__((target("avx2,fma"))) void AccumulateAvx2(const double* x, std::size_t n, std::size_t d,
                                                        const std::int32_t* labels, std::size_t k, double* copies) {
  const std::size_t w = d + 1;
  for (std::size_t i = 0; i < n; ++i) {
    double* s = copies + ((i & 3) * k + static_cast<std::size_t>(labels[i])) * w;
    const double* xi = x + i * d;
    std::size_t f = 0;
    for (; f + 4 <= d; f += 4) _mm256_storeu_pd(s + f, _mm256_add_pd(_mm256_loadu_pd(s + f), _mm256_loadu_pd(xi + f)));
    for (; f < d; ++f) s[f] += xi[f];
    s[d] += 1.0;
  }
}

// Rows, counts and norms by label, for d <= 8: one 8-wide add of the row per point into 4
// interleaved copies of the sums (so that consecutive points of a cluster do not wait on each
// other's stores), counts and norms as integers beside them.
__attribute__((target("avx512f,avx512dq,avx2,fma"))) void AccumulateNormsAvx512(
    const double* x, const std::int64_t* q, std::size_t n, std::size_t d, const std::int32_t* labels, std::size_t k,
    double* copies, std::int64_t* counts, std::int64_t* norms) {
  const auto cols = static_cast<__mmask8>((1u << d) - 1);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t r = (i & 3) * k + static_cast<std::size_t>(labels[i]);
    double* s = copies + r * 8;
    _mm512_store_pd(s, _mm512_add_pd(_mm512_load_pd(s), _mm512_maskz_loadu_pd(cols, x + i * d)));
    counts[r] += 1;
    norms[r] += q[i];
  }
}

bool UseAvx2(KernelKind kind) { return kind != KernelKind::kPortable && CpuHasAvx2Fma(); }
bool UseAvx512(KernelKind kind) { return kind == KernelKind::kAuto && CpuHasAvx512(); }

}  // namespace

void CentroidPanel::Set(std::span<const double> centroids, std::size_t num, std::size_t dim) {
  k = num;
  d = dim;
  kpad = (k + 3) / 4 * 4;
  ct.assign(d * kpad, 0.0);
  cn.assign(kpad, kInf);
  for (std::size_t j = 0; j < k; ++j) {
    const double* c = centroids.data() + j * d;
    double s = 0.0;
    for (std::size_t f = 0; f < d; ++f) {
      s = std::fma(c[f], c[f], s);
      ct[f * kpad + j] = -2.0 * c[f];
    }
    cn[j] = s;
  }
  ctv.resize(ct.size() * 8);
  for (std::size_t i = 0; i < ct.size(); ++i) std::fill_n(ctv.begin() + static_cast<std::ptrdiff_t>(8 * i), 8, ct[i]);
}

bool UsingAvx2(KernelKind kind) { return UseAvx2(kind); }
bool UsingAvx512(KernelKind kind) { return UseAvx512(kind); }
std::string KernelName(KernelKind kind) {
  return UseAvx512(kind) ? "avx512" : UseAvx2(kind) ? "avx2+fma" : "portable";
}

void SquaredNorms(const double* x, std::size_t n, std::size_t d, double* out) {
  for (std::size_t i = 0; i < n; ++i) {
    const double* xi = x + i * d;
    double s = 0.0;
    for (std::size_t f = 0; f < d; ++f) s = std::fma(xi[f], xi[f], s);
    out[i] = s;
  }
}

void Assign(const double* x, const double* norms, std::size_t n, const CentroidPanel& panel,
            std::int32_t* labels, double* d2, KernelKind kind) {
  if (!UseAvx2(kind)) {
    AssignPortable(x, norms, n, panel, labels, d2);
    return;
  }
  std::vector<double> buf(panel.d * kBlock + 8);
  // 64-byte alignment for the aligned loads of the transposed block.
  auto addr = reinterpret_cast<std::uintptr_t>(buf.data());
  double* xt = buf.data() + ((64 - addr % 64) % 64) / sizeof(double);
  if (UseAvx512(kind) && panel.d <= 8) {
    kSmall[panel.d](x, norms, n, panel, labels, d2);
  } else {
    AssignAvx2(x, norms, n, panel, labels, d2, xt);
  }
}

namespace {

// One point, as AssignPortable computes it. Inlined into a target("fma") function, std::fma
// becomes the instruction instead of a library call (the same correctly rounded result).
__attribute__((always_inline)) inline std::int32_t NearestOne(const double* x, const CentroidPanel& p) {
  double best = kInf;
  std::int32_t bi = 0;
  for (std::size_t j = 0; j < p.k; ++j) {
    double acc = p.cn[j];
    for (std::size_t f = 0; f < p.d; ++f) acc = std::fma(x[f], p.ct[f * p.kpad + j], acc);
    if (acc < best) {
      best = acc;
      bi = static_cast<std::int32_t>(j);
    }
  }
  return bi;
}

__attribute__((always_inline)) inline double DistanceOne(const double* x, double norm, std::size_t j,
                                                         const CentroidPanel& p) {
  double acc = p.cn[j];
  for (std::size_t f = 0; f < p.d; ++f) acc = std::fma(x[f], p.ct[f * p.kpad + j], acc);
  return std::max(0.0, norm + acc);
}

__attribute__((target("fma"))) std::int32_t NearestFma(const double* x, const CentroidPanel& p) {
  return NearestOne(x, p);
}
__attribute__((target("fma"))) double DistanceFma(const double* x, double norm, std::size_t j,
                                                  const CentroidPanel& p) {
  return DistanceOne(x, norm, j, p);
}

}  // namespace

std::int32_t NearestCentroid(const double* x, const CentroidPanel& panel) {
  return CpuHasAvx2Fma() ? NearestFma(x, panel) : NearestOne(x, panel);
}

double AssignedDistance(const double* x, double norm, std::size_t j, const CentroidPanel& panel) {
  return CpuHasAvx2Fma() ? DistanceFma(x, norm, j, panel) : DistanceOne(x, norm, j, panel);
}

namespace {
__attribute__((always_inline)) inline double SquaredDistanceOne(const double* x, const double* c, std::size_t d) {
  double s = 0.0;
  for (std::size_t f = 0; f < d; ++f) {
    const double t = x[f] - c[f];
    s = std::fma(t, t, s);
  }
  return s;
}
__attribute__((target("fma"))) double SquaredDistanceFma(const double* x, const double* c, std::size_t d) {
  return SquaredDistanceOne(x, c, d);
}
}  // namespace

double SquaredDistance(const double* x, const double* c, std::size_t d) {
  return CpuHasAvx2Fma() ? SquaredDistanceFma(x, c, d) : SquaredDistanceOne(x, c, d);
}

namespace {
__attribute__((target("fma"))) void SquaredDistancesFma(const double* x, std::size_t n,
                                                        const double* c, std::size_t d,
                                                        double* out) {
  for (std::size_t i = 0; i < n; ++i) out[i] = SquaredDistanceOne(x + i * d, c, d);
}
}  // namespace

void SquaredDistances(const double* x, std::size_t n, const double* c, std::size_t d,
                      double* out) {
  if (CpuHasAvx2Fma()) return SquaredDistancesFma(x, n, c, d, out);
  for (std::size_t i = 0; i < n; ++i) out[i] = SquaredDistanceOne(x + i * d, c, d);
}

int FixedExponent(double bound, std::uint64_t count) {
  if (!(bound > 0.0) || !std::isfinite(bound)) return 0;
  // Each term |v| * 2^e <= 2^t where t = min(50, 52 - ceil(log2(count + 1))), so that count
  // terms stay below 2^53.
  int log_count = 0;
  while (log_count < 62 && (std::uint64_t{1} << log_count) < count + 1) ++log_count;
  const int t = std::min(50, 52 - log_count);
  int be = 0;
  (void)std::frexp(bound, &be);  // bound < 2^be
  return t - be;
}

void AccumulateSumsAndNorms(const double* x, const std::int64_t* q, std::size_t n, std::size_t d,
                            const std::int32_t* labels, std::size_t k, double* acc, std::int64_t* q_acc,
                            KernelKind kind) {
  if (!UseAvx512(kind) || d > 8) {
    AccumulateSums(x, n, d, labels, k, acc, kind);
    for (std::size_t i = 0; i < n; ++i) q_acc[labels[i]] += q[i];
    return;
  }
  struct alignas(64) Row {
    double v[8];
  };
  std::vector<Row> copies(4 * k, Row{});
  std::vector<std::int64_t> counts(4 * k, 0), norms(4 * k, 0);
  AccumulateNormsAvx512(x, q, n, d, labels, k, copies.front().v, counts.data(), norms.data());
  for (std::size_t c = 0; c < 4; ++c) {
    for (std::size_t j = 0; j < k; ++j) {
      const double* r = copies[c * k + j].v;
      for (std::size_t f = 0; f < d; ++f) acc[j * (d + 1) + f] += r[f];
      acc[j * (d + 1) + d] += static_cast<double>(counts[c * k + j]);
      q_acc[j] += norms[c * k + j];
    }
  }
}

void AssignAndAccumulate(const double* x, const double* norms, std::size_t n, const CentroidPanel& panel,
                         std::int32_t* labels, double* d2, double* acc, KernelKind kind) {
  // Two passes over a chunk that stays in cache: adding each row inside the AVX-512 kernel
  // is slower (its masked read-modify-writes of the sums) than this second pass.
  Assign(x, norms, n, panel, labels, d2, kind);
  AccumulateSums(x, n, panel.d, labels, panel.k, acc, kind);
}

void AccumulateSums(const double* x, std::size_t n, std::size_t d, const std::int32_t* labels, std::size_t k,
                    double* acc, KernelKind kind) {
  const std::size_t w = d + 1;
  std::vector<double> copies(4 * k * w, 0.0);
  if (UseAvx2(kind)) {
    AccumulateAvx2(x, n, d, labels, k, copies.data());
  } else {
    AccumulatePortable(x, n, d, labels, k, copies.data());
  }
  for (std::size_t c = 0; c < 4; ++c) {
    for (std::size_t i = 0; i < k * w; ++i) acc[i] += copies[c * k * w + i];
  }
}

}  // namespace ecps::models::kmeans
