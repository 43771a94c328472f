// Differentially private item-CF (`train itemcf --dp-epsilon`, after McSherry & Mironov 2009):
// per-user contribution bounding on the workers, Gaussian noise on the item co-occurrence
// counts on the servers, and neighbour lists and popularity computed from the noisy counts only.
//
// Neighbouring data sets differ by one user (added or removed with all of their
// interactions). The item set is public: a private run takes a catalogue (--dp-items), its
// items are the model's items whatever the data holds, and rows of other items are dropped
// as they are read.
//
// Sensitivity. The worker that owns user u keeps I_u: the user's distinct training items, at
// most --dp-max-items m of them (BoundedItems: a choice that depends on u's own items and
// the seed only). With n = |I_u| the user adds the weight w_u = 1 / sqrt(n (n + 1) / 2) to
// the diagonal entry (i, i) of every i in I_u and to the entry (i, j), i < j, of every pair of
// I_u: n + n (n - 1) / 2 = n (n + 1) / 2 entries of the upper triangle, so the user's whole
// contribution has L2 norm w_u · sqrt(n (n + 1) / 2) = 1 exactly. Adding or removing a user
// moves the matrix by at most 1 in L2: the Gaussian mechanism with noise N(0, σ²) on every
// entry of the triangle (all C (C + 1) / 2 of them, touched or not) has noise multiplier σ.
// One such release at sampling rate 1 has RDP α / (2σ²); privacy::FindNoiseMultiplier
// (q = 1, one step) gives the σ that meets (ε, δ), as k-means' plan does.
//
// Everything after the noise is post-processing: the cosine of items i and j is
// c_ij / sqrt(max(d_i, f) · max(d_j, f)) from the noisy pair count c_ij and the noisy
// diagonal d (floor f = z · σ, public), for pairs whose noisy count exceeds f (else pure
// noise would fill the lists); jaccard likewise c_ij / (D_i + D_j − c_ij). z depends on the
// catalogue's size C only: P(N(0, 1) > z) = 0.01 / C, so that on average one item in a
// hundred has a neighbour made of noise alone (z = 4.1 for 500 items, 4.9 for 23,715), and
// at least 3.
// Shrinkage multiplies by c / (c + λ) with the noisy weighted count c. Popularity is the
// noisy diagonal.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/cf/choices.h"
#include "ps/status.h"

namespace ecps::models::cf {

/// The --dp-* options of `train itemcf`. DP is on when `epsilon` > 0.
struct DpCfOptions {
  double epsilon = 0;        ///< 0 = not private
  double delta = 1e-6;       ///< in (0, 1); the k-means default
  std::string items;         ///< --dp-items: the public catalogue, one item id per line
  int max_items = 50;        ///< --dp-max-items: items per user that count
  /// --dp-seed: replayable noise (tests only; the run is then not private).
  std::optional<std::uint64_t> test_seed;
  /// Tests only (no option): each worker's noisy triangle rows [first_row, end) as pulled,
  /// `entries` from key TriangleKey(first_row, first_row). Called from worker threads.
  std::function<void(std::uint32_t first_row, std::span<const double> entries)> observe_rows;

  bool enabled() const { return epsilon > 0; }
};

/// The catalogue: ids in file order, and as a set.
struct DpCatalogue {
  std::vector<std::string> ids;
  std::unordered_set<std::string> set;
};

/// Reads --dp-items: one id per line, surrounding spaces and "\r" trimmed, blank lines
/// skipped; refuses (naming --dp-items and the line) a repeated id, and an empty file.
Result<std::shared_ptr<const DpCatalogue>> LoadDpCatalogue(const std::string& path);

/// Noise floor and pair threshold in units of σ for a catalogue of `items` (see above).
double DpThresholdSigmas(std::uint64_t items);

/// Entries of the upper triangle (diagonal included) of n items.
inline std::uint64_t TriangleKeys(std::uint64_t n) { return n * (n + 1) / 2; }
/// The key of entry (i, j), i <= j < n: row-major over the upper triangle.
inline std::uint64_t TriangleKey(std::uint64_t i, std::uint64_t j, std::uint64_t n) {
  return i * n - (i * (i + 1)) / 2 + j;  // row i starts at i n - i (i - 1) / 2
}
/// Bytes of the dense noisy triangle in all ranks together: the servers' visible values and
/// their clock's aggregate, and the workers' pulled rows (8 bytes each).
inline std::uint64_t DpMatrixBytes(std::uint64_t n) { return 3 * 8 * TriangleKeys(n); }
/// Refuses a catalogue whose DpMatrixBytes exceeds half of `memory` (0: unknown, allowed).
Status CheckDpMatrixMemory(std::uint64_t items, std::uint64_t memory, const std::string& path);

/// What a private run was planned with.
struct DpCfPlan {
  double epsilon = 0, delta = 0;
  double sigma = 0;  ///< noise multiplier = the noise's standard deviation (sensitivity 1)
  int max_items = 0;
  std::uint64_t items = 0;  ///< catalogue size
  bool test_seed = false;
  double threshold_sigmas = 3;  ///< DpThresholdSigmas(items)
  double floor() const { return threshold_sigmas * sigma; }
};

/// σ for (options.epsilon, options.delta): one Gaussian mechanism of L2 sensitivity 1.
Result<DpCfPlan> PlanDpCf(const DpCfOptions& options, std::uint64_t items);

/// The items of a user that count: all of `items` (sorted, distinct) when at most
/// `max_items`, else the `max_items` of smallest keyed hash, the key mixing `seed` with a
/// hash of the user's whole item list (so the choice depends on this user's data only, and
/// differs between users). Sorted.
std::vector<std::uint32_t> BoundedItems(std::span<const std::uint32_t> items, int max_items,
                                        std::uint64_t seed);
/// w = 1 / sqrt(n (n + 1) / 2): the weight that gives n items' contribution L2 norm 1.
double DpUserWeight(std::size_t n);
/// Appends the (key, weight) entries of one user's bounded items (sorted) to `out`.
void AddDpContribution(std::span<const std::uint32_t> kept, std::uint64_t n_items,
                       std::vector<std::pair<std::uint64_t, double>>* out);
/// Sorts `entries` by key and adds up repeated keys into `keys`, `values`.
void CombineDpEntries(std::vector<std::pair<std::uint64_t, double>>* entries,
                      std::vector<std::uint64_t>* keys, std::vector<double>* values);

/// Triangle rows [first, second) of worker `index` of `workers`: about the same number of
/// entries each.
std::pair<std::uint32_t, std::uint32_t> DpRowShare(std::uint32_t n, int workers, int index);

/// Candidate neighbour rows (2k doubles per item, topk.h's encoding) of all `n` items from
/// the noisy triangle rows [first, end) (`entries`) and the noisy diagonal: each pair of
/// those rows above the floor goes to both items' lists. Returns the candidate pairs.
std::uint64_t DpNeighborRows(std::span<const double> entries, std::uint32_t first,
                             std::uint32_t end, std::span<const double> diag, Measure measure,
                             double shrinkage, double floor, std::size_t k,
                             std::vector<double>* rows);

/// The popularity counts of the model: max(0, noisy diagonal) in thousandths, rounded.
std::vector<std::uint32_t> DpPopularity(std::span<const double> diag);

/// metrics.json's "privacy" object.
nlohmann::json DpCfPrivacyJson(const DpCfPlan& plan);

}  // namespace ecps::models::cf
