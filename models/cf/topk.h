// Top-k neighbour lists and their merge on the servers.
//
// A neighbour list is ordered best first by (score descending, id ascending): ties are
// broken by the smaller id, so the k best of any set of candidates are unique, and merging
// the per-block lists of a row in any order or grouping gives the same list as selecting
// from all candidates at once. That is what makes the lists identical for 1, 2 or 4 workers.
//
// On the servers a list is one row of the neighbour table: k (id, score) pairs as 2k
// doubles, best first, empty slots with id -1. TopKMergeRule merges each pushed row into
// the stored one.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ps/rules.h"

namespace ecps::models::cf {

struct Neighbor {
  std::uint32_t id = 0;
  double score = 0;
  friend bool operator==(const Neighbor&, const Neighbor&) = default;
};

/// The order of neighbour lists: higher score first, then smaller id.
inline bool Better(const Neighbor& a, const Neighbor& b) {
  return a.score > b.score || (a.score == b.score && a.id < b.id);
}

/// Keeps the k best of `*c` (sorted best first); O(n + k log k).
void SelectTopK(std::vector<Neighbor>* c, std::size_t k);

/// Writes up to k neighbours (best first) into a 2k-double row, padding with id -1.
void EncodeRow(std::span<const Neighbor> best, std::size_t k, double* row);
/// Appends the neighbours stored in a 2k-double row to `out`; returns how many.
std::size_t DecodeRow(const double* row, std::size_t k, std::vector<Neighbor>* out);

/// Server rule of the neighbour table (width 2k): stored row := best k of (stored ∪ pushed),
/// a merge of the two best-first lists (ps/best_first.h).
///
/// Contract of the pushers: an id is pushed at most once per row over the whole job (each
/// pair of entities is scored in exactly one block), and a pair's score depends on the pair
/// only. A repeated id would then meet its twin as a neighbour in the merge: the rule leaves
/// that row as it was and keeps the violation in status(), which the job returns.
/// With `repeats` (a run resumed from a checkpoint, which pushes some blocks again), a twin
/// of the same score is taken once; one of another score is still a violation.
class TopKMergeRule final : public ps::Rule<double> {
 public:
  explicit TopKMergeRule(bool repeats = false) : repeats_(repeats) {}
  std::string name() const override { return "topk-merge"; }
  double InitialValue() const override { return -1.0; }  // id -1: empty
  void Apply(const ps::RowSpan<double>& rows, const double* pushed) override;
  /// Ok, or the first push that repeated an id.
  const Status& status() const { return status_; }

 private:
  bool repeats_;
  std::vector<double> merged_;
  Status status_;
};

}  // namespace ecps::models::cf
