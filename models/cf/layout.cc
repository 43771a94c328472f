#include "models/cf/layout.h"

#include <algorithm>
#include <tuple>

#include "scheduler/shard_plan.h"

namespace ecps::models::cf {
namespace {

// Appends user `p` of `from` (with its training, target and dropped items) to `to`.
void AppendUser(const OwnUsers& from, std::size_t p, OwnUsers* to) {
  auto append = [](const auto& src, std::uint64_t b, std::uint64_t e, auto* dst) {
    dst->insert(dst->end(), src.begin() + static_cast<std::ptrdiff_t>(b),
                src.begin() + static_cast<std::ptrdiff_t>(e));
  };
  to->users.push_back(from.users[p]);
  const std::uint64_t tb = from.train_ptr[p], te = from.train_ptr[p + 1];
  append(from.train_item, tb, te, &to->train_item);
  if (!from.train_val.empty()) append(from.train_val, tb, te, &to->train_val);
  if (!from.train_age.empty()) append(from.train_age, tb, te, &to->train_age);
  to->train_ptr.push_back(to->train_item.size());
  append(from.target_item, from.target_ptr[p], from.target_ptr[p + 1], &to->target_item);
  if (!from.target_val.empty()) {
    append(from.target_val, from.target_ptr[p], from.target_ptr[p + 1], &to->target_val);
  }
  to->target_ptr.push_back(to->target_item.size());
  append(from.dropped_item, from.dropped_ptr[p], from.dropped_ptr[p + 1], &to->dropped_item);
  to->dropped_ptr.push_back(to->dropped_item.size());
}

}  // namespace

void CountEntries(const OwnUsers& own, std::uint32_t n_items, bool item_based,
                  CountReport* report) {
  std::vector<std::uint32_t> icount(n_items, 0);
  for (auto j : own.train_item) ++icount[j];
  for (std::uint32_t j = 0; j < n_items; ++j) {
    if (icount[j] == 0) continue;
    report->items.push_back(j);
    report->item_counts.push_back(icount[j]);
  }
  if (item_based) {
    report->entities = report->items;
    report->entity_counts = report->item_counts;
    return;
  }
  for (std::size_t p = 0; p < own.size(); ++p) {
    if (own.train_ptr[p + 1] == own.train_ptr[p]) continue;
    report->entities.push_back(own.users[p]);
    report->entity_counts.push_back(
        static_cast<std::uint32_t>(own.train_ptr[p + 1] - own.train_ptr[p]));
  }
}

std::vector<std::vector<std::uint64_t>> MatrixOffsets(const std::vector<std::uint64_t>& ptr,
                                                      const std::vector<CountReport>& counts) {
  std::vector<std::uint64_t> next(ptr.begin(), ptr.end() - 1);
  std::vector<std::vector<std::uint64_t>> offsets(counts.size());
  for (std::size_t w = 0; w < counts.size(); ++w) {
    const CountReport& c = counts[w];
    offsets[w].reserve(c.entities.size());
    for (std::size_t k = 0; k < c.entities.size(); ++k) {
      offsets[w].push_back(next[c.entities[k]]);
      next[c.entities[k]] += c.entity_counts[k];
    }
  }
  return offsets;
}

std::vector<WorkerShare> ReshareUsers(std::vector<OwnUsers> old, int workers,
                                      const std::vector<std::string>& user_ids,
                                      const std::vector<std::uint64_t>& ptr,
                                      std::uint32_t n_items, bool item_based) {
  sched::ShardPlan plan;  // the owner rule of ingest's plan (PlanFiles)
  plan.num_workers = workers;
  // (user, old worker, position there), users ascending.
  std::vector<std::tuple<std::uint32_t, std::size_t, std::size_t>> all;
  for (std::size_t w = 0; w < old.size(); ++w) {
    for (std::size_t p = 0; p < old[w].size(); ++p) all.emplace_back(old[w].users[p], w, p);
  }
  std::sort(all.begin(), all.end());
  std::vector<WorkerShare> shares(static_cast<std::size_t>(workers));
  for (const auto& [u, w, p] : all) {
    const auto to = static_cast<std::size_t>(plan.UserOwner(user_ids[u]));
    AppendUser(old[w], p, &shares[to].own);
  }
  old.clear();
  std::vector<CountReport> counts(shares.size());
  for (std::size_t w = 0; w < shares.size(); ++w) {
    CountEntries(shares[w].own, n_items, item_based, &counts[w]);
  }
  auto offsets = MatrixOffsets(ptr, counts);
  for (std::size_t w = 0; w < shares.size(); ++w) {
    shares[w].entities = std::move(counts[w].entities);
    shares[w].offsets = std::move(offsets[w]);
  }
  return shares;
}

}  // namespace ecps::models::cf
