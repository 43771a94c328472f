// Poisson sampling for DP-SGD from secret randomness: at each step every record joins the batch
// independently with probability q. Record `id`'s steps within a window (an epoch of `steps`
// steps) are drawn as geometric gaps — the same distribution as one Bernoulli(q) per step —
// each gap from a keyed pseudo-random function of (id, window, gap index) under a 256-bit key:
// the ChaCha20 block function (RFC 8439) with the key, block counter j / 8 and the nonce
// (id, window); its output bits 64·(j mod 8) .. +63 give gap j's uniform in (0, 1]. A record
// costs one block per window unless it joins 8 or more steps (rather than one per step), and
// StepsOfMany computes the blocks of 4 records at once (SIMD). Who holds a record does not matter
// (the same batches for any number of workers), and without the key nobody can tell which
// records a step used, which the accountant (rdp_accountant.h) assumes.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

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

/// Record `id`'s steps of each window at sample rate `q` in (0, 1].
class PoissonSampler {
 public:
  PoissonSampler(const SamplingKey& key, double sample_rate);
  /// Appends to `out`, ascending, the steps in [0, steps) of window `window` that record `id`
  /// joins.
  void Steps(std::uint64_t id, std::uint32_t window, std::uint32_t steps, std::vector<std::uint32_t>* out) const;
  /// A step that record ids[index] joins.
  struct Join {
    std::uint32_t index;
    std::uint32_t step;
  };
  /// Appends to `out` the joins of every record of `ids` (fewer than 2^32) in window `window`:
  /// by index, steps ascending; for each record the steps Steps() gives, only faster.
  void StepsOfMany(std::span<const std::uint64_t> ids, std::uint32_t window, std::uint32_t steps,
                   std::vector<Join>* out) const;
  double sample_rate() const { return q_; }

 private:
  SamplingKey key_;
  double q_;
  double log1m_q_;  // log(1 − q)

  // Walks a record's gaps from its block 0 (later blocks computed as needed), calling
  // emit(step) for each step joined.
  template <class Emit>
  void Walk(const std::array<std::uint32_t, 16>& block0, const std::array<std::uint32_t, 3>& nonce,
            std::uint32_t steps, double none_below, Emit&& emit) const;
  double NoneBelow(std::uint32_t steps) const;
};

}  // namespace ecps::privacy
