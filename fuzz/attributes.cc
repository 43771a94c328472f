// Item attribute files (`--attributes` of itemcf): the reader over the whole file, then the
// scheduler's feature building (column kinds, quantile bands, feature numbering). The first
// input byte picks the options, the rest is the file.
#include <unordered_map>

#include "fuzz/fuzz_util.h"
#include "models/cf/attributes.h"

using namespace ecps;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::ScratchFile file("attributes");
  std::string_view in = fuzz::Bytes(data, size);
  const std::uint8_t opt = fuzz::TakeByte(&in);
  const std::string& path = file.Write(in);
  models::cf::AttributeRows rows;
  const std::string id_column = (opt & 1) ? "item_id" : "";
  if (!models::cf::ReadAttributes(sched::FileRange{path, 0, in.size()}, id_column, &rows).ok()) return 0;
  const std::size_t nc = rows.columns.size();
  fuzz::Check(rows.values.size() == rows.item_ids.size() * nc, "one value per row and column");

  // Dense item indices in order of first appearance (a repeated item keeps its index; the
  // builder refuses it), plus a few items without attributes.
  std::unordered_map<std::string, std::uint32_t> index;
  std::vector<std::uint32_t> item_index;
  for (const auto& id : rows.item_ids) {
    item_index.push_back(index.emplace(id, static_cast<std::uint32_t>(index.size())).first->second);
  }
  const auto n_items = static_cast<std::uint32_t>(index.size() + ((opt >> 1) & 3));
  const int bands = 1 + ((opt >> 3) & 7);
  auto features = models::cf::BuildItemFeatures(rows.columns, item_index, rows.values, n_items, bands,
                                                rows.item_ids, path);
  if (!features.ok()) return 0;
  fuzz::Check(features->ptr.size() == n_items + 1u, "ptr has n_items + 1 entries");
  for (std::uint32_t f : features->feat) fuzz::Check(f < features->names.size(), "feature has a name");
  return 0;
}
