// Similarity blocks: the top-k neighbours of every entity of one block among the entities
// of another, computed sparsely.
//
// "Entities" are what gets neighbours (items for item-based CF, users for user-based CF);
// "contexts" are what they are compared over (users, resp. items). A block holds the
// entity-major entries of a contiguous range of entities and their context-major transpose.
// For each entity i of the row block, the kernel walks i's contexts u and, for each u, the
// entities j of the column block that u touched, accumulating into a dense per-thread array
// of the column block's width (reset sparsely through a touched list); then it scores the
// touched j and keeps the k best with a partial sort. Memory is the two blocks' entries plus
// one block-wide accumulator per thread: no n x n matrix anywhere.
//
// Measures (x = values after centring, over the contexts both entities share unless noted):
//   cosine           sum x_i x_j * (1/|x_i|) * (1/|x_j|), norms over all of each entity's contexts
//   adjusted-cosine  cosine over co-rated contexts of values centred by the context's mean
//                    (Sarwar et al. 2001)
//   pearson          cosine over co-rated contexts of values centred by the entity's mean
//   jaccard          |C_i ∩ C_j| / |C_i ∪ C_j| (values ignored)
// then shrinkage: s * n / (n + lambda) with n = co-support, and pairs with co-support below
// min_support are dropped. Only scores > 0 become neighbours.
//
// Determinism: each entity's entries are sorted by context, so every pair's sums run over
// the same contexts in the same order whatever the block layout; results depend only on
// the data.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/cf/topk.h"
#include "ps/status.h"

namespace ecps::models::cf {

enum class Measure { kCosine, kAdjustedCosine, kPearson, kJaccard };

const char* MeasureName(Measure m);
/// Adjusted cosine and Pearson centre ratings: with implicit (all-1) data they are 0.
inline bool NeedsRatings(Measure m) { return m == Measure::kAdjustedCosine || m == Measure::kPearson; }

struct SimilarityOptions {
  Measure measure = Measure::kCosine;
  /// Neighbours kept per entity.
  std::size_t k = 20;
  /// Shrinkage lambda (0 = none).
  double shrinkage = 0.0;
  /// Pairs sharing fewer contexts are not neighbours.
  std::uint32_t min_support = 1;
  /// Every value is 1 (implicit feedback): the fast counting kernels are used.
  bool binary = true;
};

/// The entries of entities [begin, end), entity-major, and (after Prepare) the transpose.
struct EntityBlock {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  std::vector<std::uint64_t> ptr;  ///< end - begin + 1 offsets into ctx/val
  std::vector<std::uint32_t> ctx;  ///< context of each entry
  std::vector<float> val;          ///< value of each entry (empty when binary)
  // Filled by Prepare:
  std::vector<double> norm2;        ///< per entity: sum of squared (centred) values
  std::vector<double> inv_norm;     ///< 1 / sqrt(norm2), 0 for an empty entity
  std::vector<std::uint64_t> tptr;  ///< n_contexts + 1 offsets into tent/tval
  std::vector<std::uint32_t> tent;  ///< entity - begin, ascending within a context
  std::vector<float> tval;

  std::uint32_t size() const { return end - begin; }
  std::uint32_t Count(std::uint32_t local) const {
    return static_cast<std::uint32_t>(ptr[local + 1] - ptr[local]);
  }
  /// Sorts each entity's entries by context (entries written by several workers arrive
  /// grouped by worker). Cheap when already sorted.
  void SortEntities();
  /// Centres values as the measure needs (`context_mean` indexed by context; used by
  /// adjusted cosine), computes norms and builds the transpose over `n_contexts`.
  void Prepare(const SimilarityOptions& options, std::span<const double> context_mean,
               std::uint32_t n_contexts);
};

/// The k best neighbours of each entity of `rows` among the entities of `cols` (never
/// itself), and — when the blocks differ — of each entity of `cols` among those of `rows`.
/// `rows` must be the same block as `cols` or lie entirely before it. Writes rows.size()
/// rows of 2k doubles (see EncodeRow) into `out_rows` and, for different blocks,
/// cols.size() rows into `out_cols`. Each pair is accumulated once, from its smaller entity,
/// so a pair's score is the same whatever the blocks. Returns the number of ordered
/// candidate pairs. Runs on the TBB pool; memory: the two blocks, plus per thread one
/// accumulator of the column block's width and k candidates per column entity.
std::uint64_t ComputeBlock(const EntityBlock& rows, const EntityBlock& cols, const SimilarityOptions& options,
                           double* out_rows, double* out_cols);

}  // namespace ecps::models::cf
