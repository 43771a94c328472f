// Item attributes for content-based similarity (cold items).
//
// An attributes file is a CSV (comma- or tab-separated, RFC 4180 quoting) with a header:
// one column holds the item id (--attribute-id-column, default the first), the others are
// attributes. A column whose non-empty values are all numbers is numeric and is cut into
// quantile bands (price band 0 .. B-1); any other column is categorical. Each item becomes
// a set of binary features ("brand=acme", "price#2"), compared with cosine by the same
// block kernel as interactions. Workers read byte ranges of the file; the scheduler, which
// sees every row, decides column kinds and band edges and numbers the features.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "ps/status.h"
#include "scheduler/shard_plan.h"

namespace ecps::models::cf {

/// Rows read from one byte range.
struct AttributeRows {
  std::vector<std::string> columns;   ///< attribute column names (the id column excluded)
  std::vector<std::string> item_ids;  ///< one per row
  std::vector<std::string> values;    ///< row-major, columns.size() per row ("" = missing)
};

/// Reads the rows of `range` (the header, line 1, is skipped). Errors name file and line.
Status ReadAttributes(const sched::FileRange& range, const std::string& id_column, AttributeRows* out);

/// Item features, item-major: binary attribute features, or weighted ones when item text
/// joins them (text_features.h).
struct ItemFeatures {
  std::vector<std::uint64_t> ptr;  ///< n_items + 1
  std::vector<std::uint32_t> feat; ///< ascending within an item
  std::vector<float> val;          ///< weight of each entry of `feat` (empty: every weight 1)
  std::vector<std::string> names;  ///< feature index -> "column=value", "column#band" or a term
  std::uint64_t items_with_attributes = 0;  ///< items with at least one feature
  std::uint64_t items_with_text = 0;        ///< of them, items with a text vector
  std::uint64_t invalid_utf8_bytes = 0;     ///< bytes of the item text replaced by U+FFFD
  template <class A>
  void serialize(A& ar) {
    ar(ptr, feat, val, names, items_with_attributes, items_with_text, invalid_utf8_bytes);
  }
};

/// Scheduler: features of items [0, n_items) from rows whose items have dense indices
/// `item_index` (one per row; rows of every worker, in worker order). A repeated item is
/// a kDataError naming it and `path`.
Result<ItemFeatures> BuildItemFeatures(const std::vector<std::string>& columns,
                                       const std::vector<std::uint32_t>& item_index,
                                       const std::vector<std::string>& values, std::uint32_t n_items,
                                       int numeric_bands, const std::vector<std::string>& item_ids,
                                       const std::string& path);

}  // namespace ecps::models::cf
