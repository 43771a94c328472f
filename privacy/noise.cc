#include "privacy/noise.h"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <numbers>

#include <fmt/format.h>
#include <openssl/evp.h>

namespace ecps::privacy {

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

  EVP_CIPHER_CTX* ctx;
  std::array<std::uint64_t, kWords> words{};
  std::size_t next = kWords;
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
  std::size_t i = 0;
  for (; i + 1 < out.size(); i += 2) {
    const double r = std::sqrt(-2.0 * std::log(stream_->Uniform()));
    const double theta = 2.0 * std::numbers::pi * stream_->Uniform();
    out[i] = r * std::cos(theta);
    out[i + 1] = r * std::sin(theta);
  }
  if (i < out.size()) {
    const double r = std::sqrt(-2.0 * std::log(stream_->Uniform()));
    out[i] = r * std::cos(2.0 * std::numbers::pi * stream_->Uniform());
  }
}

double GaussianNoise::SnapGrid(double stddev) {
  int exponent = 0;
  (void)std::frexp(stddev, &exponent);  // stddev = m * 2^exponent, m in [0.5, 1)
  return std::ldexp(1.0, exponent - 1 - 12);
}

namespace {
template <class T>
void AddSnapped(std::span<T> values, double stddev, GaussianNoise& noise, std::vector<double>& z) {
  const double grid = GaussianNoise::SnapGrid(stddev);
  constexpr std::size_t kBatch = 4096;
  for (std::size_t begin = 0; begin < values.size(); begin += kBatch) {
    const std::size_t n = std::min(kBatch, values.size() - begin);
    z.resize(n);
    noise.Standard(z);
    for (std::size_t i = 0; i < n; ++i) {
      const double noisy = static_cast<double>(values[begin + i]) + stddev * z[i];
      values[begin + i] = static_cast<T>(std::nearbyint(noisy / grid) * grid);
    }
  }
}
}  // namespace

void GaussianNoise::AddTo(std::span<double> values, double stddev) {
  AddSnapped(values, stddev, *this, scratch_);
}
void GaussianNoise::AddTo(std::span<float> values, double stddev) {
  AddSnapped(values, stddev, *this, scratch_);
}

}  // namespace ecps::privacy
