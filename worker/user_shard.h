// Loading the users a worker owns from a CSV file of dense feature rows.
//
// Every worker reads its byte ranges of the file (ShardPlan::file_ranges: every record is
// read by exactly one worker; quoted fields may span lines, see LineReader's CSV records),
// parsing pieces of them in parallel (oneTBB), keeps the rows of the users it owns (ShardPlan::UserOwner, a hash of
// the user id) and forwards the other rows, already parsed, to their owners in batches over
// control messages. So the file is parsed once in all, each user ends on exactly one worker
// whatever the byte split, and a worker holds only its own users plus a few batches in
// flight. The result is sorted by input order (byte offset), so it does not depend on the
// order in which batches arrive.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "privacy/pseudonym.h"
#include "ps/node.h"
#include "scheduler/shard_plan.h"
#include "worker/feature_csv.h"

namespace ecps::worker {

/// Users with dense features, row-major. `offsets` are the byte offsets of the rows in the
/// input file: unique, and the input order.
struct UserTable {
  std::size_t dim = 0;
  std::vector<std::uint64_t> offsets;
  std::vector<double> features;       ///< size() * dim values
  std::vector<std::int8_t> labels;    ///< one per user when the schema has a label, else empty
  std::string id_bytes;               ///< the ids, concatenated
  std::vector<std::uint64_t> id_end;  ///< id i is id_bytes[id_end[i-1], id_end[i])

  std::size_t size() const { return offsets.size(); }
  std::string_view id(std::size_t i) const {
    const std::uint64_t b = i ? id_end[i - 1] : 0;
    return std::string_view(id_bytes).substr(b, id_end[i] - b);
  }
  void Append(std::uint64_t offset, std::string_view id, const double* x, int label, bool has_label);
  /// Reserves room for `rows` rows.
  void Reserve(std::size_t rows);
  /// Appends every row of `other` (same dim), leaving it empty.
  void AppendAll(UserTable&& other);
  /// Appends row i of `other`.
  void AppendFrom(const UserTable& other, std::size_t i);
  /// Reorders the rows by offset (input order).
  void SortByOffset();
  void Clear();

  template <class A>
  void serialize(A& ar) { ar(dim, offsets, features, labels, id_bytes, id_end); }
};

struct ShardLoadOptions {
  /// Skip rows with missing or malformed values (counted) instead of failing on the first.
  bool skip_bad_rows = false;
  /// Empty numeric fields load as NaN (FeatureRowParser::set_missing_as_nan).
  bool missing_as_nan = false;
  /// Control topic for the forwarded rows (a model's own topic).
  std::uint32_t topic = 0;
  /// Rows per forwarded batch.
  std::size_t batch_rows = 8192;
  /// When set, each id is replaced as it is read (privacy/pseudonym.h) and the rows of
  /// opted-out users are dropped (counted in LoadReport::rows_excluded) before anything else
  /// sees them. Not owned.
  const privacy::IdFilter* ids = nullptr;
};

/// What one worker saw while loading.
struct LoadReport {
  std::uint64_t rows_read = 0;       ///< data rows in this worker's byte ranges
  std::uint64_t rows_skipped = 0;    ///< bad rows skipped (with skip_bad_rows)
  std::uint64_t rows_forwarded = 0;  ///< rows sent to other workers
  std::uint64_t users_owned = 0;     ///< users this worker holds after the exchange
  std::vector<std::string> skipped_examples;  ///< "file:line: why" for the first few skipped
  std::uint64_t rows_excluded = 0;  ///< rows of opted-out users dropped (ShardLoadOptions::ids)

  template <class A>
  void serialize(A& ar) {
    ar(rows_read, rows_skipped, rows_forwarded, users_owned, skipped_examples, rows_excluded);
  }
};

/// Parses every row of `ranges` of one feature CSV file (its header is line 1) into one table
/// in input order, with options.ids applied; no exchange and no duplicate check. The ranges
/// are cut into pieces at record starts and parsed in parallel in the caller's oneTBB arena.
/// Errors as LoadUserShard's.
Result<UserTable> ParseUserRows(const std::vector<sched::FileRange>& ranges, const FeatureSchema& schema,
                                const ShardLoadOptions& options, LoadReport* report);

/// Loads this worker's users (see the file comment). Every worker of the job calls it at the
/// same point with the same schema and options. `path` is the single data file the plan's
/// ranges cover; its first line is the header. Fails with kDataError naming file, line and
/// column on a bad row (unless skip_bad_rows), on a row with the wrong number of fields, and on
/// a user id that appears on more than one row; kNotFound for a missing file or column.
Result<UserTable> LoadUserShard(ps::Node& node, const sched::ShardPlan& plan, int worker_index,
                                const FeatureSchema& schema, const ShardLoadOptions& options,
                                LoadReport* report);

}  // namespace ecps::worker
