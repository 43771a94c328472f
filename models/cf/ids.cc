#include "models/cf/ids.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace ecps::models::cf {
namespace {

bool IsCanonicalInteger(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// IdLess with whether each is a canonical integer already known.
bool IdLessKnown(std::string_view a, bool ia, std::string_view b, bool ib) {
  if (ia != ib) return ia;
  if (ia && a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

// A 64-bit hash of a short string: 8 bytes at a time, multiplied and shifted.
std::uint64_t HashId(std::string_view s) {
  std::uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
  std::size_t at = 0;
  for (; at < s.size(); at += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, s.data() + at, std::min<std::size_t>(8, s.size() - at));
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  h *= 0x94D049BB133111EBull;
  return h ^ (h >> 29);
}

// The value of a decimal integer id of at most 9 digits without sign or leading zeros, or -1.
std::int64_t SmallInteger(std::string_view s) {
  if (s.size() > 9 || !IsCanonicalInteger(s)) return -1;
  std::int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

}  // namespace

bool IdLess(std::string_view a, std::string_view b) {
  return IdLessKnown(a, IsCanonicalInteger(a), b, IsCanonicalInteger(b));
}

std::uint32_t IdDictionary::FindHashed(std::string_view id, std::uint64_t h, std::uint64_t head,
                                       std::uint32_t tag, std::size_t* at) const {
  const bool whole = id.size() <= 8;  // head and size say it all
  const std::size_t mask = slots_.size() - 1;
  for (*at = static_cast<std::size_t>(h) & mask;; *at = (*at + 1) & mask) {
    const Slot& slot = slots_[*at];
    if (slot.index == 0) return 0;
    if (slot.tag == tag && slot.head == head && (whole || ids_[slot.index - 1] == id)) {
      return slot.index;
    }
  }
}

std::uint32_t IdDictionary::Intern(std::string_view id) {
  if (last_ != 0 && ids_[last_ - 1] == id) return last_ - 1;
  // An integer id goes to by_value_ when its value is below the bound at its first sight;
  // one seen above it stays in the table, so a miss in by_value_ looks there too.
  const std::int64_t value = SmallInteger(id);
  const std::size_t bound = std::max<std::size_t>(std::size_t{1} << 16, 4 * (ids_.size() + 1));
  const bool direct = value >= 0 && static_cast<std::size_t>(value) < bound;
  if (direct && static_cast<std::size_t>(value) < by_value_.size() && by_value_[value] != 0) {
    last_ = by_value_[value];
    return last_ - 1;
  }
  const std::uint64_t h = HashId(id);
  std::uint64_t head = 0;
  std::memcpy(&head, id.data(), std::min<std::size_t>(8, id.size()));
  const auto tag = static_cast<std::uint32_t>((h >> 32) & ~0xFFull) |
                   static_cast<std::uint32_t>(std::min<std::size_t>(id.size(), 255));
  std::size_t at = 0;
  if (const std::uint32_t found = FindHashed(id, h, head, tag, &at); found != 0) {
    last_ = found;
    return found - 1;
  }
  ids_.emplace_back(id);
  last_ = static_cast<std::uint32_t>(ids_.size());
  if (direct) {
    const auto v = static_cast<std::size_t>(value);
    if (v >= by_value_.size()) {
      by_value_.resize(std::min(bound, std::max(v + 1, 2 * by_value_.size())), 0);
    }
    by_value_[v] = last_;
    return last_ - 1;
  }
  slots_[at] = {head, tag, last_};
  if (2 * ids_.size() > slots_.size()) Grow();
  return last_ - 1;
}

void IdDictionary::Grow() {
  std::vector<Slot> old(slots_.size() * 2);
  old.swap(slots_);
  const std::size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.index == 0) continue;
    std::size_t at = static_cast<std::size_t>(HashId(ids_[slot.index - 1])) & mask;
    while (slots_[at].index != 0) at = (at + 1) & mask;
    slots_[at] = slot;
  }
}

std::vector<std::uint32_t> IdDictionary::CanonicalOrder() const {
  std::vector<std::uint32_t> order(ids_.size());
  std::iota(order.begin(), order.end(), 0u);
  std::vector<char> integer(ids_.size());
  for (std::size_t i = 0; i < ids_.size(); ++i) integer[i] = IsCanonicalInteger(ids_[i]) ? 1 : 0;
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    return IdLessKnown(ids_[a], integer[a] != 0, ids_[b], integer[b] != 0);
  });
  return order;
}

std::vector<std::string> MergeIdLists(const std::vector<std::vector<std::string>>& lists,
                                      std::vector<std::vector<std::uint32_t>>* indices) {
  std::vector<std::string_view> all;
  for (const auto& l : lists) {  // each list is sorted: merged in, not sorted again
    const auto mid = static_cast<std::ptrdiff_t>(all.size());
    all.insert(all.end(), l.begin(), l.end());
    std::inplace_merge(all.begin(), all.begin() + mid, all.end(), IdLess);
  }
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
