#include "models/cf/ids.h"

#include <algorithm>
#include <numeric>

namespace ecps::models::cf {
namespace {

bool IsCanonicalInteger(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool IdLess(std::string_view a, std::string_view b) {
  const bool ia = IsCanonicalInteger(a), ib = IsCanonicalInteger(b);
  if (ia != ib) return ia;
  if (ia && a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

std::uint32_t IdDictionary::Intern(std::string_view id) {
  auto it = index_.find(id);
  if (it != index_.end()) return it->second;
  auto idx = static_cast<std::uint32_t>(ids_.size());
  ids_.emplace_back(id);
  index_.emplace(ids_.back(), idx);
  return idx;
}

std::vector<std::uint32_t> IdDictionary::CanonicalOrder() const {
  std::vector<std::uint32_t> order(ids_.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [this](std::uint32_t a, std::uint32_t b) { return IdLess(ids_[a], ids_[b]); });
  return order;
}

std::vector<std::string> MergeIdLists(const std::vector<std::vector<std::string>>& lists,
                                      std::vector<std::vector<std::uint32_t>>* indices) {
  std::vector<std::string_view> all;
  for (const auto& l : lists) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end(), IdLess);
  all.erase(std::unique(all.begin(), all.end()), all.end());
  indices->assign(lists.size(), {});
  for (std::size_t w = 0; w < lists.size(); ++w) {
    auto& out = (*indices)[w];
    out.reserve(lists[w].size());
    std::size_t g = 0;
    for (const auto& id : lists[w]) {  // both sorted: one forward walk
      while (all[g] != id) ++g;
      out.push_back(static_cast<std::uint32_t>(g));
    }
  }
  return {all.begin(), all.end()};
}

IdIndex::IdIndex(const std::vector<std::string>& ids) {
  index_.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) index_.emplace(ids[i], static_cast<std::uint32_t>(i));
}

std::int64_t IdIndex::Find(std::string_view id) const {
  auto it = index_.find(id);
  return it == index_.end() ? -1 : static_cast<std::int64_t>(it->second);
}

}  // namespace ecps::models::cf
