// Item text for text similarity (itemcf --item-text): rows read by byte ranges like the
// attributes, TF-IDF vectors built by the scheduler, and the content features that put text
// vectors beside attribute features for the block kernel.
//
// Weights: TF-IDF, w(t, d) = tf(t, d) * ln(N / df(t)), then each item's vector L2-normalised;
// N = items with a row in the text file, df(t) = those whose text has term t, tf = the
// term's count in the item's text (the text columns joined). A term of every item has
// weight 0 and is dropped (it tells no two items apart); an item whose terms are all
// dropped has no text vector. TF-IDF rather than BM25: BM25 scores a short query against a
// long document, with length normalisation (k1, b) that is asymmetric; for item-to-item
// cosine the L2 normalisation already takes the length out, and TF-IDF weights can be
// checked by hand.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/cf/attributes.h"
#include "models/cf/messages.h"
#include "ps/node.h"
#include "ps/status.h"
#include "scheduler/shard_plan.h"

namespace ecps::models::cf {

/// Reads the item text rows of `range` (header on line 1; item id in `id_column`, "" = the
/// first column). `text_columns` (empty = every column but the id) are joined into one text
/// per row: out->columns is {"text"} and out->values holds one text per row. A column that
/// is not in the header is a kNotFound naming the file and listing the columns.
Status ReadItemText(const sched::FileRange& range, const std::string& id_column,
                    const std::vector<std::string>& text_columns, AttributeRows* out);

/// Scheduler: TF-IDF vectors of items [0, n_items) from `texts`, one per row, of the items
/// `item_index` (rows of every worker, in worker order). Features are terms (names sorted),
/// weights in `val`; items_with_text counts the items with a vector. A repeated item is a
/// kDataError naming it and `path`.
Result<ItemFeatures> BuildTextVectors(const std::vector<std::uint32_t>& item_index,
                                      const std::vector<std::string>& texts,
                                      std::uint32_t n_items, bool stop_words,
                                      const std::vector<std::string>& item_ids,
                                      const std::string& path);

/// Content features of both kinds: attribute features, then text terms (indices after the
/// attributes'), each part of an item L2-normalised and scaled by sqrt(1 - text_weight),
/// resp. sqrt(text_weight). The cosine of two items that both have both parts is then
/// (1 - text_weight) cos_attributes + text_weight cos_text. Of an item with one part, the
/// cosine with another of that part only is that part's cosine, and with one of both parts
/// sqrt(that part's weight) times it (the kernel normalises the whole vector).
ItemFeatures JoinContent(const ItemFeatures& attributes, const ItemFeatures& text,
                         double text_weight);

/// Scheduler of itemcf --item-text: the text vectors of the rows the workers read (`counts`,
/// in worker order) joined with `attributes` (empty without --item-attributes), logged with
/// the time they took.
Result<ItemFeatures> BuildContentWithText(ps::Node& node, const CfOptions& options,
                                          const std::vector<CountReport>& counts,
                                          const std::vector<std::string>& item_ids,
                                          ItemFeatures attributes);

}  // namespace ecps::models::cf
