// Seeded synthetic click-through data (for benchmarks and tests; no real data is copied
// into the project).
//
// Each row has one value in each of `fields` categorical fields (Criteo-like: the first
// `fields / 3` have small cardinalities, the others log-uniform up to `max_cardinality`),
// drawn from a Zipf-like distribution so a few values are frequent and most are rare. A
// hidden logistic model (a normal weight per field value, a bias giving roughly
// `base_rate` positives) draws the label. Rows are written in libsvm format,
// `label idx:1 ...`, indices ascending and 1-based; the same seed gives the same bytes.
#pragma once

#include <cstdint>
#include <string>

#include "ps/status.h"

namespace ecps::models::lr {

struct SyntheticCtrOptions {
  std::uint64_t rows = 100000;
  int fields = 39;
  std::uint64_t max_cardinality = 100000;
  /// Zipf exponent of the value distribution in every field.
  double zipf = 1.1;
  /// Standard deviation of the hidden weights (scaled per field).
  double weight_sd = 0.3;
  double base_rate = 0.15;
  std::uint64_t seed = 42;
  /// Rows drawn before the first written one: a test file is the same model with another
  /// `skip` (or seed stream), so train and test share the hidden weights.
  std::uint64_t skip = 0;
};

/// Writes `o.rows` rows to `path`. The hidden model depends only on (seed, fields,
/// max_cardinality, zipf, weight_sd, base_rate); rows on those and `skip`.
Status WriteSyntheticCtr(const SyntheticCtrOptions& o, const std::string& path);

}  // namespace ecps::models::lr
