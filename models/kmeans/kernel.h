// The k-means compute kernels of one worker: nearest-centroid assignment and per-cluster
// sums in fixed point.
//
// Assignment uses ||x - c||^2 = ||x||^2 + (||c||^2 - 2 x.c): points are taken 8 at a time,
// transposed into a small block, and multiplied against panels of 4 centroids held in
// registers (a GEMM micro-kernel with the argmin fused in). On CPUs with AVX-512 or AVX2+FMA
// a hand-vectorised version runs (chosen at run time; the build stays generic x86-64); the
// portable version performs the same floating-point operations in the same order (std::fma),
// so all give the same bits.
//
// Sums are exact: coordinates lie on a grid of 2^-e (e chosen per feature so that no total
// can exceed 2^53 grid steps), so per-cluster sums, counts and inertia do not depend on the
// order of addition — not on the number of threads, nor of workers, nor on the order in
// which servers receive pushes. The same seed therefore gives bit-identical centroids for 1,
// 2 or 4 workers.
#pragma once

#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ecps::models::kmeans {

/// Centroids laid out for the assignment kernel: -2c by feature, and ||c||^2; padded to a
/// multiple of 4 centroids with +inf norms (never chosen).
struct CentroidPanel {
  std::size_t k = 0, d = 0, kpad = 0;
  std::vector<double> ct;  ///< d x kpad: ct[f * kpad + j] = -2 c_jf
  std::vector<double> cn;  ///< kpad: ||c_j||^2
  /// ct with every value repeated 8 times, so that the vector kernels load it as a whole
  /// register (broadcasting from memory is slow on some CPUs, e.g. 2 uops on AMD Zen).
  std::vector<double> ctv;

  /// `centroids`: k x d, row-major.
  void Set(std::span<const double> centroids, std::size_t k, std::size_t d);
};

/// Which kernels may run: kAuto = the best the CPU has (AVX-512, else AVX2+FMA, else
/// portable); kAvx2 = at most AVX2+FMA; kPortable = the portable kernel. All give the same
/// bits; tests and benchmarks compare them. The functions that choose take it last.
enum class KernelKind { kAuto, kAvx2, kPortable };
/// Which kernel runs: "avx512", "avx2+fma" or "portable".
std::string KernelName(KernelKind kind = KernelKind::kAuto);
bool UsingAvx2(KernelKind kind = KernelKind::kAuto);
bool UsingAvx512(KernelKind kind = KernelKind::kAuto);

/// ||x_i||^2 for n points (row-major n x d), as an fma chain over the features.
void SquaredNorms(const double* x, std::size_t n, std::size_t d, double* out);

/// For n points: labels[i] = the nearest centroid (lowest index on ties) and d2[i] = the
/// squared distance to it (norms[i] + min_j(||c_j||^2 - 2 x.c_j), clamped at 0).
void Assign(const double* x, const double* norms, std::size_t n, const CentroidPanel& panel,
            std::int32_t* labels, double* d2, KernelKind kind = KernelKind::kAuto);

/// The label Assign gives one point (the same operations in the same order), for callers
/// that need it for a few points only.
std::int32_t NearestCentroid(const double* x, const CentroidPanel& panel);

/// The squared distance Assign reports for a point whose label is j: max(0, norm +
/// ||c_j||^2 - 2 x.c_j) with Assign's operations, bit for bit.
double AssignedDistance(const double* x, double norm, std::size_t j, const CentroidPanel& panel);

/// Exact squared distance sum_f (x_f - c_f)^2 (fma chain).
double SquaredDistance(const double* x, const double* c, std::size_t d);
/// out[i] = SquaredDistance(x + i * d, c, d) for the n rows of x (the same bits, one call).
void SquaredDistances(const double* x, std::size_t n, const double* c, std::size_t d,
                      double* out);

// ---- Exact sums ---------------------------------------------------------------------------
//
// Coordinates are snapped once to a grid of 2^-e (e per feature, chosen so that no sum of all
// users can reach 2^53 * 2^-e). Sums of grid values then stay on the grid and are exact in
// double precision, so the order of addition does not matter.

/// Largest e such that values with |v| <= bound, rounded to multiples of 2^-e, can be summed
/// over `count` terms without the total reaching 2^52 (so sums carried as doubles stay exact)
/// and each term stays below 2^50 (the conversion below needs |v * 2^e| < 2^51).
int FixedExponent(double bound, std::uint64_t count);
/// round(v * scale) as an integer, for |v * scale| < 2^51 (scale = 2^e). Round to nearest even:
/// adding 1.5 * 2^52 leaves the rounded integer in the low mantissa bits.
inline std::int64_t ToFixed(double v, double scale) {
  constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52
  return std::bit_cast<std::int64_t>(v * scale + kMagic) - std::bit_cast<std::int64_t>(kMagic);
}
/// v rounded to the nearest multiple of 1 / scale (scale = 2^e, |v * scale| < 2^51).
inline double SnapToGrid(double v, double scale) {
  constexpr double kMagic = 6755399441055744.0;
  return ((v * scale + kMagic) - kMagic) / scale;
}

/// Adds each point's coordinates to row labels[i] of `acc` and 1 to that row's count; `acc`
/// is k x (d + 1) (sums, then count). Exact when the coordinates are on a grid (above).
void AccumulateSums(const double* x, std::size_t n, std::size_t d, const std::int32_t* labels, std::size_t k,
                    double* acc, KernelKind kind = KernelKind::kAuto);

/// AccumulateSums, and q_acc[labels[i]] += q[i] (integers, |sum| < 2^52). For the Lloyd
/// loop's recomputation of all sums; one pass, vectorised for d <= 8 with AVX-512.
void AccumulateSumsAndNorms(const double* x, const std::int64_t* q, std::size_t n, std::size_t d,
                            const std::int32_t* labels, std::size_t k, double* acc, std::int64_t* q_acc,
                            KernelKind kind = KernelKind::kAuto);

/// Assign, then AccumulateSums on the same points (call it on cache-sized chunks).
void AssignAndAccumulate(const double* x, const double* norms, std::size_t n, const CentroidPanel& panel,
                         std::int32_t* labels, double* d2, double* acc, KernelKind kind = KernelKind::kAuto);

}  // namespace ecps::models::kmeans
