// ExampleParser: turns one text line of a training file into a labelled sparse example.
//
// Formats:
//  - libsvm  `label idx:val idx:val ...`   (labels 0/1 or -1/+1; real-valued for regression)
//  - libffm  `label field:idx:val ...`
//  - csv     a header line names the columns; one label column, numeric columns and
//            categorical columns (one-hot, hashed). RFC 4180 quoting; CRLF handled by the
//            line reader.
//
// The key space of a parser (what a model's weight table covers):
//   [0, num_buckets)            hashed (or, with num_features > 0, direct) feature ids
//   num_buckets                 the bias term (value 1 on every row), when bias is on
//   num_buckets + 1 + j         numeric CSV column j (its value as read)
// Hashing is stable across runs, platforms and worker counts (util::MixId / util::HashFeature),
// so a key means the same feature everywhere, and `ecps predict` reproduces it.
//
// Feature values and real labels are finite numbers within kMaxDataMagnitude (csv.h); a
// larger one (or nan/inf) is a parse error.
//
// Parse errors are DataError messages without a location ("feature \"7:x\" is not
// idx:value"); the caller prefixes "file:line: " (see LoadRows).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "ps/status.h"

namespace ecps::worker {

enum class DataFormat : std::uint8_t { kLibsvm, kLibffm, kCsv };
/// "libsvm", "libffm", "csv".
std::string_view DataFormatName(DataFormat f);
Result<DataFormat> ParseDataFormat(std::string_view name);

enum class LabelKind : std::uint8_t {
  kBinary,  ///< 0/1, -1/+1 (libsvm) or true/false, yes/no (csv); stored as 0 or 1
  kReal,    ///< a number within kMaxDataMagnitude (regression targets)
};

/// Roles of CSV columns, by header name. Stored in model files so that prediction binds the
/// same columns in a file whose header may be ordered differently (or lack the label).
struct CsvColumns {
  std::string label;
  std::vector<std::string> numeric;
  std::vector<std::string> categorical;
  /// Inferred roles only: non-numeric columns left out because every sampled value was
  /// distinct (user or order ids, which one-hot encoding would only memorise). Not saved.
  std::vector<std::string> identifiers;
  /// How each column's role and type was decided ("age: numeric, every sampled value a
  /// number"), and warnings about inferred types (a numeric column of a few distinct integers:
  /// a code?). For the log and metrics.json; not saved.
  std::vector<std::string> notes;
  std::vector<std::string> warnings;
  template <class A>
  void serialize(A& ar) { ar(label, numeric, categorical); }
};

struct ParserOptions {
  DataFormat format = DataFormat::kLibsvm;
  /// Hashed features go to 2^hash_bits buckets. 1..30.
  int hash_bits = 22;
  /// > 0: libsvm/libffm indices are used as they are (no hashing) and must be below this;
  /// the bucket count is then num_features (for dense models such as linear regression).
  std::uint64_t num_features = 0;
  /// Adds a bias feature (value 1) to every row.
  bool bias = true;
  LabelKind label_kind = LabelKind::kBinary;
  /// Rows may come without a label (prediction input): libsvm/libffm lines whose first token
  /// is a feature, CSV files without the label column. Such rows get label NaN.
  bool label_optional = false;

  // ---- csv ----
  char delimiter = ',';
  std::string label_column;
  /// Columns used as numbers / as one-hot categories. When both are empty, every column but
  /// the label and `ignore_columns` is used, typed by sniffing the first rows: a column whose
  /// values all parse as numbers is numeric, any other categorical.
  std::vector<std::string> numeric_columns;
  std::vector<std::string> categorical_columns;
  std::vector<std::string> ignore_columns;
  /// Integer-coded categorical columns (--categorical Browser,Region): hashed one-hot like
  /// categorical_columns, while the other columns keep being inferred.
  std::vector<std::string> declared_categorical;

  Status Validate() const;
};

/// Works out the CSV column roles from the options and the file's header (and, when types
/// are to be inferred, its first `sniff_rows` rows; a non-numeric column whose values there
/// are all distinct, over at least 100 rows, is an identifier and left out; a numeric one
/// whose values there are 3 to 10 distinct integers, over at least 100 rows, gets a warning
/// naming --categorical). Deterministic: every rank that calls it
/// on the same file gets the same answer.
Result<CsvColumns> ResolveCsvColumns(const ParserOptions& options, const std::string& path,
                                     int sniff_rows = 1000);

/// Per-call scratch space, so that parsing allocates nothing per row. One per thread.
struct ParseScratch {
  std::vector<std::string_view> fields;
  std::deque<std::string> unquoted;
};

class ExampleParser {
 public:
  /// libsvm/libffm parser.
  static Result<ExampleParser> Make(const ParserOptions& options);
  /// CSV parser bound to `header_line` (the file's first line) with the given roles. `path`
  /// names the file in messages.
  static Result<ExampleParser> MakeCsv(const ParserOptions& options, const CsvColumns& columns,
                                       std::string_view header_line, const std::string& path);

  const ParserOptions& options() const { return options_; }
  bool has_header() const { return options_.format == DataFormat::kCsv; }
  std::uint64_t num_buckets() const { return num_buckets_; }
  std::uint64_t bias_key() const { return num_buckets_; }
  std::uint64_t numeric_key(std::size_t j) const { return num_buckets_ + 1 + j; }
  /// Size of the key space: buckets, bias, numeric columns.
  std::uint64_t num_keys() const { return num_buckets_ + 1 + num_numeric_; }
  const CsvColumns& csv_columns() const { return columns_; }

  /// Parses `line`, appending its features to keys/values and setting *label. On error
  /// keys/values may hold a partial row (the caller truncates). Thread-safe (const).
  Status Parse(std::string_view line, float* label, std::vector<std::uint32_t>* keys,
               std::vector<float>* values, ParseScratch* scratch) const;

  // Key of a feature as the parser computes it (for feature names and tests).
  std::uint32_t IndexKey(std::uint64_t index) const;
  std::uint32_t FieldIndexKey(std::uint64_t field, std::uint64_t index) const;
  std::uint32_t CategoryKey(std::size_t categorical_column, std::string_view value) const;
  /// After a successful Parse of a CSV row: the (trimmed) value of categorical column j.
  std::string_view CategoryValue(const ParseScratch& scratch, std::size_t j) const;

 private:
  ExampleParser() = default;
  Status ParseSparse(std::string_view line, float* label, std::vector<std::uint32_t>* keys,
                     std::vector<float>* values) const;
  Status ParseCsv(std::string_view line, float* label, std::vector<std::uint32_t>* keys,
                  std::vector<float>* values, ParseScratch* scratch) const;
  Status ParseLabel(std::string_view token, float* label) const;

  ParserOptions options_;
  std::uint64_t num_buckets_ = 0;
  std::size_t num_numeric_ = 0;
  // csv
  CsvColumns columns_;
  std::size_t num_fields_ = 0;
  int label_index_ = -1;  // -1: no label column in this file (label_optional)
  std::vector<std::size_t> numeric_index_;
  std::vector<std::size_t> categorical_index_;
  std::vector<std::uint64_t> categorical_seed_;
};

}  // namespace ecps::worker
