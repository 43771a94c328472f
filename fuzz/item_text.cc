// Item text files (`--item-text` of itemcf): the reader over the whole file, the tokeniser and
// the scheduler's TF-IDF vectors. The first input byte picks the options (id column, chosen
// columns, stop words, extra items), the rest is the file.
#include <cmath>
#include <unordered_map>

#include "fuzz/fuzz_util.h"
#include "models/cf/text_features.h"
#include "models/cf/text_tokens.h"

using namespace ecps;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::ScratchFile file("item_text");
  std::string_view in = fuzz::Bytes(data, size);
  const std::uint8_t opt = fuzz::TakeByte(&in);
  // Tokens of the raw bytes: non-empty, no ASCII capital letter, never more than the bytes.
  std::vector<std::string> tokens;
  models::cf::TokenStats stats;
  models::cf::Tokenize(in, (opt & 4) != 0, &tokens, &stats);
  fuzz::Check(stats.invalid_bytes <= in.size(), "invalid bytes counted at most once");
  for (const auto& t : tokens) {
    fuzz::Check(!t.empty(), "a token is not empty");
    for (char c : t) fuzz::Check(!(c >= 'A' && c <= 'Z'), "ASCII is lowercased");
  }

  const std::string& path = file.Write(in);
  models::cf::AttributeRows rows;
  const std::string id_column = (opt & 1) ? "item_id" : "";
  const std::vector<std::string> columns =
      (opt & 2) ? std::vector<std::string>{"title", "description"} : std::vector<std::string>{};
  if (!models::cf::ReadItemText(sched::FileRange{path, 0, in.size()}, id_column, columns, &rows)
           .ok()) {
    return 0;
  }
  fuzz::Check(rows.values.size() == rows.item_ids.size(), "one text per row");
  std::unordered_map<std::string, std::uint32_t> index;
  std::vector<std::uint32_t> item_index;
  for (const auto& id : rows.item_ids) {
    item_index.push_back(index.emplace(id, static_cast<std::uint32_t>(index.size())).first->second);
  }
  const auto n_items = static_cast<std::uint32_t>(index.size() + ((opt >> 3) & 3));
  auto f = models::cf::BuildTextVectors(item_index, rows.values, n_items, (opt & 4) != 0,
                                        rows.item_ids, path);
  if (!f.ok()) return 0;
  fuzz::Check(f->ptr.size() == n_items + 1u && f->val.size() == f->feat.size(), "CSR sizes");
  for (std::uint32_t i = 0; i < n_items; ++i) {
    double norm2 = 0;
    for (auto p = f->ptr[i]; p < f->ptr[i + 1]; ++p) {
      fuzz::Check(f->feat[p] < f->names.size(), "a term has a name");
      fuzz::Check(p == f->ptr[i] || f->feat[p - 1] < f->feat[p], "terms ascending");
      fuzz::Check(std::isfinite(f->val[p]) && f->val[p] > 0, "weights finite and positive");
      norm2 += static_cast<double>(f->val[p]) * f->val[p];
    }
    fuzz::Check(f->ptr[i] == f->ptr[i + 1] || std::fabs(norm2 - 1) < 1e-4, "unit vectors");
  }
  return 0;
}
