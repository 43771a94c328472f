#include "models/cf/text_features.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "models/cf/text_tokens.h"
#include "ps/stopwatch.h"

namespace ecps::models::cf {
namespace {

// The rows of `item_index` by item: row_of[item] = its row, -1 without one.
Result<std::vector<std::int64_t>> RowOfItem(const std::vector<std::uint32_t>& item_index,
                                            std::uint32_t n_items,
                                            const std::vector<std::string>& item_ids,
                                            const std::string& path) {
  std::vector<std::int64_t> row_of(n_items, -1);
  for (std::size_t r = 0; r < item_index.size(); ++r) {
    auto& slot = row_of[item_index[r]];
    if (slot >= 0) {
      return DataError(fmt::format("{}: item \"{}\" appears more than once", path,
                                   item_ids[item_index[r]]));
    }
    slot = static_cast<std::int64_t>(r);
  }
  return row_of;
}

// Appends the entries [b, e) of `f` scaled to the norm `scale` (their own norm taken out),
// with feature indices shifted by `shift`.
void AppendScaled(const ItemFeatures& f, std::uint64_t b, std::uint64_t e, double scale,
                  std::uint32_t shift, ItemFeatures* out) {
  if (scale <= 0 || b == e) return;
  double norm2 = 0;
  for (auto p = b; p < e; ++p) {
    const double v = f.val.empty() ? 1.0 : f.val[p];
    norm2 += v * v;
  }
  const double s = scale / std::sqrt(norm2);
  for (auto p = b; p < e; ++p) {
    out->feat.push_back(f.feat[p] + shift);
    out->val.push_back(static_cast<float>((f.val.empty() ? 1.0 : f.val[p]) * s));
  }
}

}  // namespace

Status ReadItemText(const sched::FileRange& range, const std::string& id_column,
                    const std::vector<std::string>& text_columns, AttributeRows* out) {
  AttributeRows all;
  ECPS_RETURN_IF_ERROR(ReadAttributes(range, id_column, &all));
  std::vector<std::size_t> pick;
  if (text_columns.empty()) {
    for (std::size_t c = 0; c < all.columns.size(); ++c) pick.push_back(c);
  }
  for (const auto& name : text_columns) {
    const auto it = std::find(all.columns.begin(), all.columns.end(), name);
    if (it == all.columns.end()) {
      std::string list;
      for (const auto& c : all.columns) list += (list.empty() ? "\"" : ", \"") + c + "\"";
      return NotFound(fmt::format(
          "{}:1: no text column \"{}\" in the header (text columns: {}; the item id column "
          "is not one)",
          range.path, name, list));
    }
    pick.push_back(static_cast<std::size_t>(it - all.columns.begin()));
  }
  const std::size_t nc = all.columns.size();
  out->columns = {"text"};
  out->item_ids = std::move(all.item_ids);
  out->values.clear();
  out->values.reserve(out->item_ids.size());
  for (std::size_t r = 0; r < out->item_ids.size(); ++r) {
    std::string text;
    for (std::size_t c : pick) {
      if (!text.empty()) text.push_back('\n');
      text += all.values[r * nc + c];
    }
    out->values.push_back(std::move(text));
  }
  return Status::Ok();
}

Result<ItemFeatures> BuildTextVectors(const std::vector<std::uint32_t>& item_index,
                                      const std::vector<std::string>& texts,
                                      std::uint32_t n_items, bool stop_words,
                                      const std::vector<std::string>& item_ids,
                                      const std::string& path) {
  ECPS_ASSIGN_OR_RETURN(const auto row_of, RowOfItem(item_index, n_items, item_ids, path));
  ItemFeatures out;
  // Term counts per row (sorted by term) and document frequencies.
  TokenStats stats;
  std::vector<std::vector<std::pair<std::string, std::uint32_t>>> counts(texts.size());
  std::unordered_map<std::string, std::uint64_t> df;
  std::vector<std::string> tokens;
  for (std::size_t r = 0; r < texts.size(); ++r) {
    tokens.clear();
    Tokenize(texts[r], stop_words, &tokens, &stats);
    std::sort(tokens.begin(), tokens.end());
    for (std::size_t a = 0; a < tokens.size();) {
      std::size_t b = a;
      while (b < tokens.size() && tokens[b] == tokens[a]) ++b;
      ++df[tokens[a]];
      counts[r].emplace_back(std::move(tokens[a]), static_cast<std::uint32_t>(b - a));
      a = b;
    }
  }
  out.invalid_utf8_bytes = stats.invalid_bytes;
  // Terms of fewer than all items, numbered in sorted order.
  const auto n_docs = static_cast<std::uint64_t>(texts.size());
  for (const auto& [term, d] : df) {
    if (d < n_docs) out.names.push_back(term);
  }
  std::sort(out.names.begin(), out.names.end());
  std::unordered_map<std::string_view, std::uint32_t> index;
  index.reserve(out.names.size());
  for (std::size_t t = 0; t < out.names.size(); ++t) {
    index.emplace(out.names[t], static_cast<std::uint32_t>(t));
  }
  // Weights tf * ln(N / df), L2-normalised per item.
  out.ptr.assign(1, 0);
  std::vector<std::pair<std::uint32_t, double>> v;
  for (std::uint32_t i = 0; i < n_items; ++i) {
    if (row_of[i] >= 0) {
      v.clear();
      double norm2 = 0;
      for (const auto& [term, tf] : counts[static_cast<std::size_t>(row_of[i])]) {
        const auto it = index.find(term);
        if (it == index.end()) continue;
        const double w = tf * std::log(static_cast<double>(n_docs) / static_cast<double>(df[term]));
        v.emplace_back(it->second, w);
        norm2 += w * w;
      }
      std::sort(v.begin(), v.end());
      for (const auto& [t, w] : v) {
        out.feat.push_back(t);
        out.val.push_back(static_cast<float>(w / std::sqrt(norm2)));
      }
      out.items_with_text += v.empty() ? 0 : 1;
    }
    out.ptr.push_back(out.feat.size());
  }
  out.items_with_attributes = out.items_with_text;
  return out;
}

ItemFeatures JoinContent(const ItemFeatures& attributes, const ItemFeatures& text,
                         double text_weight) {
  if (text.ptr.empty()) return attributes;
  if (attributes.ptr.empty()) return text;
  ItemFeatures out;
  out.names = attributes.names;
  out.names.insert(out.names.end(), text.names.begin(), text.names.end());
  const auto shift = static_cast<std::uint32_t>(attributes.names.size());
  out.ptr.assign(1, 0);
  for (std::size_t i = 0; i + 1 < attributes.ptr.size(); ++i) {
    AppendScaled(attributes, attributes.ptr[i], attributes.ptr[i + 1], std::sqrt(1 - text_weight),
                 0, &out);
    AppendScaled(text, text.ptr[i], text.ptr[i + 1], std::sqrt(text_weight), shift, &out);
    out.items_with_attributes += out.feat.size() > out.ptr.back() ? 1 : 0;
    out.ptr.push_back(out.feat.size());
  }
  out.items_with_text = text.items_with_text;
  out.invalid_utf8_bytes = text.invalid_utf8_bytes;
  return out;
}

Result<ItemFeatures> BuildContentWithText(ps::Node& node, const CfOptions& options,
                                          const std::vector<CountReport>& counts,
                                          const std::vector<std::string>& item_ids,
                                          ItemFeatures attributes) {
  const ps::Stopwatch watch;
  std::vector<std::uint32_t> items;
  std::vector<std::string> texts;
  for (const auto& c : counts) {
    items.insert(items.end(), c.text_items.begin(), c.text_items.end());
    texts.insert(texts.end(), c.text_values.begin(), c.text_values.end());
  }
  const auto n_items = static_cast<std::uint32_t>(item_ids.size());
  ECPS_ASSIGN_OR_RETURN(const ItemFeatures text,
                        BuildTextVectors(items, texts, n_items, options.text_stop_words,
                                         item_ids, options.item_text));
  node.log().info("{}: {} rows, {} items with a text vector, {} terms (TF-IDF) in {:.3f} s{}",
                  options.item_text, items.size(), text.items_with_text, text.names.size(),
                  watch.Seconds(),
                  text.invalid_utf8_bytes == 0
                      ? std::string()
                      : fmt::format("; {} bytes that are not UTF-8 read as U+FFFD",
                                    text.invalid_utf8_bytes));
  return JoinContent(attributes, text, options.item_attributes.empty() ? 1.0 : options.text_weight);
}

}  // namespace ecps::models::cf
