// Gaussian noise for differential privacy, drawn from a cryptographically secure generator.
//
// Bits: the ChaCha20 keystream (OpenSSL libcrypto) under a 256-bit key from the operating
// system (getrandom), so the noise cannot be predicted or replayed from anything ecps writes
// (unlike --seed), taken 64 KiB at a time (OpenSSL's vectorised ChaCha20). Normal samples:
// Marsaglia & Tsang's ziggurat (256 layers; an exact rejection sampler of N(0, 1)) in double,
// one 64-bit word per sample in ~99% of draws (layer, sign and a 53-bit position), the
// wedges and the tail beyond 3.654 from further 53-bit uniforms.
//
// Floating-point attacks (Mironov 2012: the low bits of x + noise computed in floating point
// can reveal x) are guarded against as in his snapping mechanism: every noisy result is
// rounded to a fixed power-of-two grid, SnapGrid(stddev) = the largest power of two
// <= stddev / 2^12, so its low bits are a rounding of a sum that many noise values share
// rather than a fingerprint of x. The rounding moves a value by at most stddev / 2^13.
// The grid is finer than a float's spacing once |x + noise| > 2^12 · stddev; values are
// therefore noised in double and converted afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ps/status.h"

namespace ecps::privacy {

/// A stream of normal samples. Not thread-safe: one per thread.
class GaussianNoise {
 public:
  /// Keyed from the operating system's entropy: not reproducible.
  static Result<GaussianNoise> FromEntropy();
  /// Keyed from `seed`: the same noise on every run. For tests only (`--dp-seed`): noise that
  /// can be replayed protects nothing.
  static GaussianNoise FromTestSeed(std::uint64_t seed);

  GaussianNoise(GaussianNoise&&) noexcept;
  GaussianNoise& operator=(GaussianNoise&&) noexcept;
  ~GaussianNoise();

  /// Fills `out` with N(0, 1) samples.
  void Standard(std::span<double> out);
  /// Adds N(0, stddev²) to every value, each sum rounded to SnapGrid(stddev). stddev > 0.
  void AddTo(std::span<double> values, double stddev);
  void AddTo(std::span<float> values, double stddev);
  /// values[i] += stddev · normals[i], each sum formed in double and rounded to
  /// SnapGrid(stddev), as AddTo does with its own samples: for N(0, 1) samples drawn
  /// beforehand (Standard). The spans have the same size.
  static void AddSnapped(std::span<float> values, std::span<const double> normals, double stddev);

  /// The grid noisy values are rounded to: the largest power of two <= stddev / 2^12.
  static double SnapGrid(double stddev);

 private:
  struct Stream;
  explicit GaussianNoise(std::unique_ptr<Stream> stream);
  std::unique_ptr<Stream> stream_;
  std::vector<double> scratch_;
};

}  // namespace ecps::privacy
