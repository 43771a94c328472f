#include "privacy/noise.h"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <utility>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "privacy/per_x86_level.h"

namespace ecps::privacy {
namespace {

// Marsaglia & Tsang's 256-layer ziggurat for the standard normal's right half: layer i covers
// x in [0, x[i]) between the heights f(x[i]) and f(x[i + 1]), all with area kV; layer 0 is the
// base strip [0, R) plus the tail beyond R, with virtual width kV / f(R).
struct Ziggurat {
  static constexpr double kR = 3.6541528853610088;
  static constexpr double kV = 4.92867323399e-3;
  std::array<double, 257> x{};
  std::array<double, 257> f{};  // exp(-x² / 2)

  Ziggurat() {
    const auto density = [](double v) { return std::exp(-0.5 * v * v); };
    x[0] = kV / density(kR);
    x[1] = kR;
    for (int i = 1; i < 255; ++i) x[i + 1] = std::sqrt(-2.0 * std::log(kV / x[i] + density(x[i])));
    x[256] = 0.0;
    for (int i = 0; i <= 256; ++i) f[i] = density(x[i]);
  }
};
const Ziggurat& Table() {
  static const Ziggurat table;
  return table;
}

// The ziggurat's first try for each of n words: out[j] = ±(position · x[layer]) and
// rejected[j] = 1 where that falls outside the layer's core (out[j] is then finished later).
// Branch-free, so it vectorises (with gathers from the table on x86-64-v4); the same values
// at every x86-64 level (the conversion is of an integer below 2^53, the products not fused).
ECPS_PER_X86_LEVEL
void FirstTries(const std::uint64_t* __restrict w, std::size_t n, const double* __restrict x,
                double* __restrict out, unsigned char* __restrict rejected) {
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint64_t i = w[j] & 0xff;
    const double v = static_cast<double>(static_cast<std::int64_t>(w[j] >> 11)) * 0x1.0p-53 * x[i];
    out[j] = (w[j] & 0x100) != 0 ? -v : v;
    rejected[j] = !(v < x[i + 1]);
  }
}

}  // namespace

struct GaussianNoise::Stream {
  static constexpr std::size_t kWords = 8192;  // 64 KiB of keystream per refill

  explicit Stream(const std::array<unsigned char, 32>& key) : ctx(EVP_CIPHER_CTX_new()) {
    const std::array<unsigned char, 16> iv{};  // block counter 0, nonce 0: the key is fresh
    if (ctx == nullptr || EVP_EncryptInit_ex(ctx, EVP_chacha20(), nullptr, key.data(), iv.data()) != 1) {
      // Only a libcrypto without ChaCha20 or out of memory gets here; noise must not be weak.
      std::abort();
    }
  }
  ~Stream() { EVP_CIPHER_CTX_free(ctx); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  std::uint64_t Next() {
    if (next == kWords) Refill();
    return words[next++];
  }
  void Refill() {
    std::memset(words.data(), 0, sizeof(words));
    auto* bytes = reinterpret_cast<unsigned char*>(words.data());
    int written = 0;
    if (EVP_EncryptUpdate(ctx, bytes, &written, bytes, static_cast<int>(sizeof(words))) != 1 ||
        written != static_cast<int>(sizeof(words))) {
      std::abort();
    }
    next = 0;
  }
  /// Uniform in (0, 1] with 53 random bits.
  double Uniform() { return static_cast<double>((Next() >> 11) + 1) * 0x1.0p-53; }

  /// Fills out[0, n) with N(0, 1) samples (ziggurat). Each sample starts from one 64-bit word:
  /// the layer (bits 0-7), the sign (bit 8) and the position (bits 11-63). About 99% land in
  /// a layer's core and are done in a tight loop over the keystream; the rest (wedges, the
  /// tail) are finished afterwards with further words.
  void Normals(double* out, std::size_t n) {
    const Ziggurat& z = Table();
    std::size_t done = 0;
    while (done < n) {
      if (next == kWords) Refill();
      const std::size_t m = std::min(n - done, kWords - next);
      const std::uint64_t* w = words.data() + next;
      double* o = out + done;
      FirstTries(w, m, z.x.data(), o, flags.data());
      rejected.clear();
      for (std::size_t j = 0; j < m; ++j) {
        if (flags[j]) rejected.push_back({j, w[j]});
      }
      next += m;
      for (const auto& [j, first] : rejected) o[j] = Finish(first);
      done += m;
    }
  }

  /// The sample whose first word `w` fell outside its layer's core.
  double Finish(std::uint64_t w) {
    const Ziggurat& z = Table();
    for (;;) {
      const std::size_t i = w & 0xff;
      const double sign = (w & 0x100) != 0 ? -1.0 : 1.0;
      const double x = static_cast<double>(w >> 11) * 0x1.0p-53 * z.x[i];
      if (x < z.x[i + 1]) return sign * x;  // inside the layer's core: under the density
      if (i == 0) {                         // the tail beyond R (Marsaglia 1964)
        double a = 0, b = 0;
        do {
          a = -std::log(Uniform()) / Ziggurat::kR;
          b = -std::log(Uniform());
        } while (2.0 * b < a * a);
        return sign * (Ziggurat::kR + a);
      }
      // The wedge: a uniform height in the layer, accepted under the density.
      if (z.f[i] + Uniform() * (z.f[i + 1] - z.f[i]) < std::exp(-0.5 * x * x)) return sign * x;
      w = Next();
    }
  }

  EVP_CIPHER_CTX* ctx;
  std::array<std::uint64_t, kWords> words{};
  std::size_t next = kWords;
  std::array<unsigned char, kWords> flags{};                      // FirstTries' rejections
  std::vector<std::pair<std::size_t, std::uint64_t>> rejected;  // (index, first word)
};
Result<GaussianNoise> GaussianNoise::FromEntropy() {
  std::array<unsigned char, 32> key{};
  std::size_t got = 0;
  while (got < key.size()) {
    const ssize_t n = getrandom(key.data() + got, key.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Internal(fmt::format("getrandom: {}", std::strerror(errno)));
    }
    got += static_cast<std::size_t>(n);
  }
  return GaussianNoise(std::make_unique<Stream>(key));
}

GaussianNoise GaussianNoise::FromTestSeed(std::uint64_t seed) {
  std::array<unsigned char, 32> key{};
  for (std::size_t i = 0; i < key.size(); i += 8) {
    // SplitMix64: spreads a small seed over the whole key.
    seed += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    std::memcpy(key.data() + i, &z, 8);
  }
  return GaussianNoise(std::make_unique<Stream>(key));
}

GaussianNoise::GaussianNoise(std::unique_ptr<Stream> stream) : stream_(std::move(stream)) {}
GaussianNoise::GaussianNoise(GaussianNoise&&) noexcept = default;
GaussianNoise& GaussianNoise::operator=(GaussianNoise&&) noexcept = default;
GaussianNoise::~GaussianNoise() = default;

void GaussianNoise::Standard(std::span<double> out) {
  stream_->Normals(out.data(), out.size());
}

double GaussianNoise::SnapGrid(double stddev) {
  int exponent = 0;
  (void)std::frexp(stddev, &exponent);  // stddev = m * 2^exponent, m in [0.5, 1)
  return std::ldexp(1.0, exponent - 1 - 12);
}

namespace {
// round-to-nearest-even of t, as std::nearbyint in the default rounding mode, in a form the
// compiler vectorises: below 2^52 adding and subtracting 2^52 (with t's sign) rounds; from
// 2^52 on every double is an integer.
inline double RoundToInteger(double t) {
  const double magic = std::copysign(0x1.0p52, t);
  const double r = (t + magic) - magic;
  return std::abs(t) < 0x1.0p52 ? r : t;
}

// v[i] = v[i] + stddev · z[i] on the grid, for i < n; the same values at every x86-64 level
// (no fused multiply-adds, and RoundToInteger is exact at any width).
template <class T>
[[gnu::always_inline]] inline void AddOnGridBody(T* v, const double* zs, std::size_t n, double stddev) {
  const double grid = GaussianNoise::SnapGrid(stddev);
  const double inverse_grid = 1.0 / grid;  // a power of two: exact
  for (std::size_t i = 0; i < n; ++i) {
    const double noisy = static_cast<double>(v[i]) + stddev * zs[i];
    v[i] = static_cast<T>(RoundToInteger(noisy * inverse_grid) * grid);
  }
}
ECPS_PER_X86_LEVEL void AddOnGrid(float* v, const double* zs, std::size_t n, double stddev) {
  AddOnGridBody(v, zs, n, stddev);
}
ECPS_PER_X86_LEVEL void AddOnGrid(double* v, const double* zs, std::size_t n, double stddev) {
  AddOnGridBody(v, zs, n, stddev);
}

template <class T>
void DrawAndAdd(std::span<T> values, double stddev, GaussianNoise& noise, std::vector<double>& z) {
  constexpr std::size_t kBatch = 4096;
  z.resize(kBatch);
  for (std::size_t begin = 0; begin < values.size(); begin += kBatch) {
    const std::size_t n = std::min(kBatch, values.size() - begin);
    noise.Standard(std::span<double>(z.data(), n));
    AddOnGrid(values.data() + begin, z.data(), n, stddev);
  }
}
}  // namespace

void GaussianNoise::AddSnapped(std::span<float> values, std::span<const double> normals, double stddev) {
  AddOnGrid(values.data(), normals.data(), std::min(values.size(), normals.size()), stddev);
}

void GaussianNoise::AddTo(std::span<double> values, double stddev) {
  DrawAndAdd(values, stddev, *this, scratch_);
}
void GaussianNoise::AddTo(std::span<float> values, double stddev) {
  DrawAndAdd(values, stddev, *this, scratch_);
}

}  // namespace ecps::privacy
