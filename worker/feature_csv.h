// Dense feature rows from a CSV file with a header: a user id column, numeric feature columns,
// categorical columns encoded one-hot or ordinal (categories listed by the user, so that every
// rank knows the feature dimension before reading any data), and an optional 0/1 label column
// kept for evaluation only.
//
//   --features age,gender,purchases --one-hot "gender=F|M|X"   ->  age, gender=F, gender=M,
//                                                                   gender=X, purchases
//   --ordinal "size=S|M|L"                                      ->  size as 0, 1, 2
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "ps/status.h"
#include "worker/csv.h"
#include "worker/line_reader.h"

namespace ecps::worker {

/// How one input column becomes numbers.
struct ColumnEncoding {
  enum class Kind : std::uint8_t { kNumeric = 0, kOneHot = 1, kOrdinal = 2 };
  std::string column;
  Kind kind = Kind::kNumeric;
  /// One-hot: one output column per category, in this order. Ordinal: category i -> i.
  std::vector<std::string> categories;

  template <class A>
  void serialize(A& ar) { ar(column, kind, categories); }
};

/// `id_column` value that makes the 1-based line number of each row its id (files without one).
inline constexpr const char* kLineId = "@line";

/// What the user asked for on the command line.
struct FeatureColumnsOptions {
  /// Column holding the user id (may be "" for a header field that is empty), or kLineId.
  std::string id_column;
  /// Feature columns, in output order. Numeric unless listed in one_hot or ordinal.
  std::vector<std::string> features;
  /// "column=cat1|cat2|..." for columns among `features` to encode one-hot.
  std::vector<std::string> one_hot;
  /// "column=cat1|cat2|..." for columns among `features` to encode as 0, 1, 2, ...
  std::vector<std::string> ordinal;
  /// Optional 0/1 column read for evaluation only (never a feature). Empty = none.
  std::string label_column;
  char delimiter = ',';
};

/// The resolved list of columns and the names of the output features. The same on every rank.
class FeatureSchema {
 public:
  /// Checks the options (non-empty features, no duplicates, well-formed encodings, encodings
  /// only for listed features, label not a feature) and resolves them.
  static Result<FeatureSchema> Make(const FeatureColumnsOptions& options);

  /// Number of output features (one-hot columns count once per category).
  std::size_t dim() const { return output_names_.size(); }
  /// "age", "gender=F", ... in output order.
  const std::vector<std::string>& output_names() const { return output_names_; }
  const std::vector<ColumnEncoding>& columns() const { return columns_; }
  const std::string& id_column() const { return id_column_; }
  const std::string& label_column() const { return label_column_; }
  bool has_label() const { return !label_column_.empty(); }
  /// True when ids are line numbers (kLineId).
  bool line_ids() const { return id_column_ == kLineId; }
  /// Forgets the label column (e.g. to score new users, whose files have no label).
  void DropLabel() { label_column_.clear(); }
  char delimiter() const { return delimiter_; }
  /// How to read the file's records: CSV records at the delimiter, whose quoted fields may
  /// span lines (LineReader::Open(range, schema.records())).
  ReadOptions records() const {
    ReadOptions r;
    r.csv_records = true;
    r.delimiter = delimiter_;
    return r;
  }

  template <class A>
  void serialize(A& ar) { ar(id_column_, columns_, output_names_, label_column_, delimiter_); }

 private:
  std::string id_column_;
  std::vector<ColumnEncoding> columns_;
  std::vector<std::string> output_names_;
  std::string label_column_;
  char delimiter_ = ',';
};

/// Parses records of one file against a schema. Not thread-safe (keeps scratch buffers).
class FeatureRowParser {
 public:
  /// Finds every column of `schema` in the header of `path` (kNotFound lists the columns).
  static Result<FeatureRowParser> Bind(const FeatureSchema& schema, const CsvHeader& header);
  /// Reads `path`'s header and binds to it; kNotFound / kDataError name the file.
  static Result<FeatureRowParser> Open(const FeatureSchema& schema, const std::string& path);

  /// Parses one record (no line ending): the user id (empty with kLineId: the caller supplies
  /// the line number), dim() features into `features`, and the label into *label when the
  /// schema has one. Numeric values must be finite and within kMaxDataMagnitude (csv.h).
  /// On bad input returns kDataError whose message
  /// names the column and the value ("column \"age\": \"abc\" is not a number"); the caller
  /// prefixes the file and line.
  Status Parse(std::string_view line, std::string_view* id, double* features, int* label);

  std::size_t num_fields() const { return num_fields_; }
  /// With true, an empty numeric field parses as NaN (a missing value for the caller to
  /// impute or drop) instead of an error; categorical fields must still be present.
  void set_missing_as_nan(bool on) { missing_as_nan_ = on; }

 private:
  struct Bound {
    std::size_t field = 0;
    const ColumnEncoding* enc = nullptr;
    std::size_t out = 0;  // first output column
  };
  const FeatureSchema* schema_ = nullptr;
  std::size_t num_fields_ = 0;
  std::size_t id_field_ = 0;
  bool line_ids_ = false;
  bool missing_as_nan_ = false;
  std::size_t label_field_ = 0;
  std::vector<Bound> bound_;
  // The fast path (ParseFast): what each field of a record is, in file order.
  enum class Role : std::uint8_t { kSkip, kId, kNumeric, kCategory, kLabel };
  struct FieldRole {
    Role role = Role::kSkip;
    std::uint32_t bound = 0;  // index into bound_ (numeric, category)
  };
  std::vector<FieldRole> roles_;
  bool fast_ok_ = false;  // false: every record takes the general path
  // Parses a record without quotes in one pass; false (outputs unspecified) for anything it
  // does not handle (quotes, spaces, other number forms, bad values): Parse's general path
  // then gives the value or the error.
  bool ParseFast(std::string_view line, std::string_view* id, double* features, int* label) const;
  std::vector<std::string_view> fields_;
  std::deque<std::string> scratch_;
};

/// --categorical: each column of `declared` (a feature of `options`, not already encoded)
/// becomes one-hot over the distinct values of the whole of `path` (sorted, as numbers when
/// they all are), appended to options->one_hot. *warnings gets one line per numeric feature
/// whose first 1000 values (over at least 100 rows) are 3 to 10 distinct integers, naming it.
/// Errors name the option or the file.
Status ResolveDeclaredCategorical(const std::vector<std::string>& declared, const std::string& path,
                                  FeatureColumnsOptions* options, std::vector<std::string>* warnings);

/// 1-based line number of the line starting at byte `offset` of `path` (counts newlines;
/// meant for error messages).
Result<std::uint64_t> LineNumberAt(const std::string& path, std::uint64_t offset);

}  // namespace ecps::worker
