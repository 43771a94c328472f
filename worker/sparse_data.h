// SparseData: a worker's shard of labelled sparse examples in memory (compressed rows of
// 32-bit keys), and LoadRows, which fills it from byte ranges of text files in parallel.
//
// Memory: 4 bytes per non-zero for keys, plus 4 for values unless every value is 1 (one-hot
// data), plus about 32 bytes per row (label, example id, row pointers). A worker holds only
// the rows of its own ranges.
//
// Example ids: (file index << 40) | byte offset of the row in its file. They do not depend on
// how the files were split among workers, so anything keyed by them (mini-batch assignment,
// held-out rows) is the same whatever the worker count.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ps/status.h"
#include "scheduler/shard_plan.h"
#include "worker/example_parser.h"

namespace ecps::worker {

/// Rows as parsed from one piece of a file; SparseData views point into these.
struct RowBlock {
  std::vector<std::uint32_t> keys;
  std::vector<float> values;
  std::vector<std::uint64_t> row_ptr{0};
  std::vector<float> labels;
  std::vector<std::uint64_t> ids;
  bool all_ones = true;  ///< every value is 1; `values` is then empty (or all ones)
};

class SparseData {
 public:
  std::size_t rows() const { return labels_.size(); }
  std::uint64_t nnz() const { return nnz_; }
  /// True when every value is 1 (values() returns nullptr).
  bool binary() const { return row_vals_.empty(); }
  std::span<const std::uint32_t> keys(std::size_t r) const { return {row_keys_[r], row_len_[r]}; }
  /// The row's values (keys(r).size() of them), or nullptr for binary data.
  const float* values(std::size_t r) const { return binary() ? nullptr : row_vals_[r]; }
  float label(std::size_t r) const { return labels_[r]; }
  std::uint64_t id(std::size_t r) const { return ids_[r]; }
  std::span<const float> labels() const { return labels_; }

  /// The rows r with keep(r), sharing this data's storage (a view; the rows stay alive as
  /// long as any view does).
  SparseData Select(const std::function<bool(std::size_t)>& keep) const;
  /// Calls f(key, value) -> new value for every stored non-zero of this view's rows.
  /// Requires !binary().
  void TransformValues(const std::function<float(std::uint32_t, float)>& f);

  /// Builds a view over `blocks` (all of their rows, in order). `keep_values` keeps value
  /// arrays even when every value is 1.
  static SparseData FromBlocks(std::vector<std::shared_ptr<RowBlock>> blocks, bool keep_values);

 private:
  std::vector<std::shared_ptr<RowBlock>> blocks_;
  std::vector<const std::uint32_t*> row_keys_;
  std::vector<std::uint32_t> row_len_;
  std::vector<float*> row_vals_;  // empty when binary
  std::vector<float> labels_;
  std::vector<std::uint64_t> ids_;
  std::uint64_t nnz_ = 0;
};

/// One byte range to read and the index of its file (for example ids).
struct FileShard {
  sched::FileRange range;
  std::uint32_t file_index = 0;
};

struct LoadOptions {
  /// Skip malformed rows (counting them) instead of failing on the first one.
  bool skip_bad_rows = false;
  /// How many skipped rows' messages to keep for the report.
  std::size_t max_bad_messages = 10;
  /// Ranges are cut into pieces of about this size, parsed in parallel (oneTBB).
  std::uint64_t piece_bytes = 8u << 20;
  /// Keep value arrays even if every value is 1 (e.g. when values will be rescaled).
  bool keep_values = false;
  /// CSV: collect the distinct values of each categorical column (for feature names), up
  /// to this many per column; 0 = do not collect.
  std::size_t max_categories = 0;
};

struct LoadStats {
  std::uint64_t rows = 0;
  std::uint64_t bad_rows = 0;
  /// "file:line: message" of the first skipped rows.
  std::vector<std::string> bad_messages;
  /// Per categorical CSV column: distinct values seen (see LoadOptions::max_categories).
  std::vector<std::vector<std::string>> categories;
};

/// Reads every line that starts in the shards' ranges (skipping a CSV header at offset 0 and
/// blank lines) and parses it. CSV rows are records whose quoted fields may span lines
/// (worker/line_reader.h); pieces are cut at record starts (CutIntoPieces), a row's line is
/// the line where its record starts. Without skip_bad_rows the first malformed row (in file order)
/// fails the load with "file:line: message".
Result<SparseData> LoadRows(const std::vector<FileShard>& shards, const ExampleParser& parser,
                            const LoadOptions& options, LoadStats* stats);

/// Example id of a row: (file index << 40) | byte offset.
inline std::uint64_t ExampleId(std::uint32_t file_index, std::uint64_t offset) {
  return (std::uint64_t{file_index} << 40) | offset;
}

}  // namespace ecps::worker
