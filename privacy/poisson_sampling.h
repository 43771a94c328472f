// Poisson sampling for DP-SGD from secret randomness: at step t every record joins the batch
// independently with probability q. Membership is a keyed pseudo-random function of (record
// id, step) under a 256-bit key: the ChaCha20 block function (RFC 8439) with the key, block
// counter 0 and the nonce (id, step); its first 64 output bits, as a uniform in [0, 1), are
// compared with q. Who holds a record does not matter (the same batches for any number of
// workers), and without the key nobody can tell which records a step used, which the
// accountant (rdp_accountant.h) assumes.
#pragma once

#include <array>
#include <cstdint>

#include "ps/status.h"

namespace ecps::privacy {

/// A 256-bit sampling key. Keep it in memory only: never write or log it.
using SamplingKey = std::array<std::uint32_t, 8>;

/// A key from the operating system's entropy (getrandom).
Result<SamplingKey> RandomSamplingKey();
/// A key spread from `seed`: the same batches on every run. For tests only (`--dp-seed`).
SamplingKey TestSamplingKey(std::uint64_t seed);

/// The ChaCha20 block (RFC 8439, 2.3) of `key`, block counter `counter` and the 96-bit nonce
/// `nonce` (little-endian words), as 16 little-endian words.
std::array<std::uint32_t, 16> ChaCha20Block(const SamplingKey& key, std::uint32_t counter,
                                            const std::array<std::uint32_t, 3>& nonce);

/// Whether record `id` joins step `step`'s batch at sample rate `q` in [0, 1].
class PoissonSampler {
 public:
  PoissonSampler(const SamplingKey& key, double sample_rate);
  /// The uniform in [0, 1) (53 bits) of (id, step) under the key.
  double Uniform(std::uint64_t id, std::uint32_t step) const;
  bool Member(std::uint64_t id, std::uint32_t step) const { return Uniform(id, step) < q_; }
  double sample_rate() const { return q_; }

 private:
  SamplingKey key_;
  double q_;
};

}  // namespace ecps::privacy
