#include "models/cf/recommend.h"

#include <algorithm>

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include "models/cf/model.h"
#include "models/cf/scoring.h"
#include "models/cf/topk.h"

namespace ecps::models::cf {
namespace {

// Neighbour lists for entities `keys` (sorted) pulled from a neighbour table into `lists`
// (rows indexed by `row_of(key)`, increasing with the key), closed at `n` rows.
template <class RowOf>
Status PullNeighbors(ps::KVClient& kv, ps::TableId table, std::span<const ps::Key> keys,
                     std::size_t k, RowOf row_of, std::size_t n, NeighborLists* lists,
                     ps::Deadline deadline) {
  *lists = NeighborLists();
  lists->k = static_cast<std::uint32_t>(k);
  const std::size_t per = std::max<std::size_t>(1, kChunk / (2 * k));
  std::vector<double> buf;
  std::vector<Neighbor> row;
  for (std::size_t b = 0; b < keys.size(); b += per) {
    auto part = keys.subspan(b, std::min(per, keys.size() - b));
    buf.resize(part.size() * 2 * k);
    ECPS_RETURN_IF_ERROR_CTX(kv.Wait(kv.Pull<double>(table, part, buf), deadline),
                             "pull neighbour lists");
    for (std::size_t t = 0; t < part.size(); ++t) {
      row.clear();
      DecodeRow(buf.data() + t * 2 * k, k, &row);
      const std::size_t at = row_of(part[t]);
      for (const Neighbor& nb : row) lists->Add(at, nb.id, static_cast<float>(nb.score));
    }
  }
  lists->Finish(n);
  return Status::Ok();
}

// Training rows of some users, as CSR over `users` (sorted).
struct UserRows {
  std::vector<std::uint32_t> users;
  std::vector<std::uint64_t> ptr{0};
  std::vector<std::uint32_t> item;
  std::vector<float> val;  // empty for binary data

  std::span<const std::uint32_t> Items(std::size_t v) const {
    return {item.data() + ptr[v], ptr[v + 1] - ptr[v]};
  }
  std::span<const float> Values(std::size_t v) const {
    if (val.empty()) return {};
    return {val.data() + ptr[v], ptr[v + 1] - ptr[v]};
  }
  std::size_t Find(std::uint32_t user) const {
    return static_cast<std::size_t>(std::lower_bound(users.begin(), users.end(), user) -
                                    users.begin());
  }
};

// The training rows of `rows->users` from cf.matrix (entity-major offsets `layout`).
template <class T>
Status PullRows(ps::KVClient& kv, std::span<const std::uint64_t> layout, std::uint32_t width,
                UserRows* rows, ps::Deadline deadline) {
  const std::span<const std::uint32_t> entities(rows->users);
  std::vector<ps::Key> keys;
  std::vector<T> buf;
  for (std::size_t q = 0; q < entities.size();) {
    keys.clear();
    const std::size_t q0 = q;
    while (
        q < entities.size() &&
        (keys.empty() || keys.size() + (layout[entities[q] + 1] - layout[entities[q]]) <= kChunk)) {
      for (std::uint64_t pos = layout[entities[q]]; pos < layout[entities[q] + 1]; ++pos)
        keys.push_back(pos);
      ++q;
    }
    buf.resize(keys.size() * width);
    ECPS_RETURN_IF_ERROR_CTX(kv.Wait(kv.Pull<T>(kMatrix, keys, buf), deadline),
                             "pull cf.matrix rows");
    std::size_t t = 0;
    for (std::size_t v = q0; v < q; ++v) {
      const std::uint64_t n = layout[entities[v] + 1] - layout[entities[v]];
      for (std::uint64_t e = 0; e < n; ++e, ++t) {
        rows->item.push_back(static_cast<std::uint32_t>(buf[t * width]));
        if (width == 2) rows->val.push_back(static_cast<float>(buf[t * width + 1]));
      }
      rows->ptr.push_back(rows->item.size());
    }
  }
  return Status::Ok();
}

// What scoring a worker's users reads from the servers.
struct Neighborhoods {
  // itemcf: the lists of the items our users have, by item; usercf: our users' lists, by
  // position among our users.
  NeighborLists lists;
  // itemcf with attributes: content lists of the same items, and how they are mixed in.
  NeighborLists content;
  ContentMix mix;
  // usercf: the training rows of our users' neighbours.
  UserRows neighbor_rows;
};

// Pulls what scoring this worker's users needs into `out` (which must not move after).
Status PullNeighborhoods(ps::KVClient& kv, const RecommendInputs& in, ps::Deadline deadline,
                         Neighborhoods* out) {
  const OwnUsers& own = in.state.own;
  const std::size_t k = in.settings.sim.k;
  if (in.options.item_based()) {
    // The distinct items of our users, ascending: marks over the items, not a sort of every
    // interaction.
    const std::uint32_t n_items = in.state.n_items;
    std::vector<ps::Key> needed;
    {
      std::vector<bool> seen(n_items, false);
      std::size_t distinct = 0;
      for (std::uint32_t j : own.train_item) {
        distinct += seen[j] ? 0 : 1;
        seen[j] = true;
      }
      needed.reserve(distinct);
      for (std::uint32_t j = 0; j < n_items; ++j) {
        if (seen[j]) needed.push_back(j);
      }
    }
    auto row_of = [](ps::Key key) { return static_cast<std::size_t>(key); };
    ECPS_RETURN_IF_ERROR(
        PullNeighbors(kv, kNeighbors, needed, k, row_of, n_items, &out->lists, deadline));
    if (HasContent(in.options)) {
      ECPS_RETURN_IF_ERROR(
          PullNeighbors(kv, kContent, needed, k, row_of, n_items, &out->content, deadline));
      out->mix.content = &out->content;
      out->mix.item_count = in.state.item_count;
      out->mix.cold_threshold = static_cast<std::uint32_t>(in.options.cold_threshold);
      out->mix.blend = in.options.content_blend;
    }
    return Status::Ok();
  }
  std::vector<ps::Key> mine(own.users.begin(), own.users.end());
  auto row_of = [&](ps::Key key) {
    return static_cast<std::size_t>(std::lower_bound(own.users.begin(), own.users.end(), key) -
                                    own.users.begin());
  };
  ECPS_RETURN_IF_ERROR(
      PullNeighbors(kv, kNeighbors, mine, k, row_of, own.size(), &out->lists, deadline));
  UserRows& rows = out->neighbor_rows;
  rows.users = out->lists.id;
  std::sort(rows.users.begin(), rows.users.end());
  rows.users.erase(std::unique(rows.users.begin(), rows.users.end()), rows.users.end());
  const std::uint32_t width = MatrixWidth(in.settings);
  return MatrixIsFloat(in.options, in.state)
             ? PullRows<float>(kv, in.state.ptr, width, &rows, deadline)
             : PullRows<double>(kv, in.state.ptr, width, &rows, deadline);
}

// One thread's scratch space and partial results.
struct ThreadResults {
  ItemScores scores;
  EvalSums model, popularity;
  Coverage model_coverage, popularity_coverage;
  std::vector<Scored> list, popular_list;
  std::vector<std::uint32_t> ranked, interacted, negatives, ranks_model, ranks_pop;
  std::vector<float> weights;
  ThreadResults(std::uint32_t n_items, std::size_t num_k)
      : scores(n_items),
        model(num_k),
        popularity(num_k),
        model_coverage(n_items),
        popularity_coverage(n_items) {}
};

// Scores every item for own user `p` into `local->scores`.
void ScoreUser(const RecommendInputs& in, const Neighborhoods& hoods, std::size_t p,
               ThreadResults* local) {
  const OwnUsers& own = in.state.own;
  local->scores.Clear();
  if (in.options.item_based()) {
    UserItemWeights(own.Values(p), own.Ages(p), in.options.recency_decay, &local->weights);
    ScoreFromItems(own.Train(p), local->weights, hoods.lists, &local->scores, &hoods.mix);
  } else {
    auto ids = hoods.lists.Ids(p);
    auto sims = hoods.lists.Scores(p);
    for (std::size_t s = 0; s < ids.size(); ++s) {
      const std::size_t v = hoods.neighbor_rows.Find(ids[s]);
      ScoreFromUser(hoods.neighbor_rows.Items(v), hoods.neighbor_rows.Values(v), sims[s],
                    &local->scores);
    }
  }
  local->scores.Finish(in.settings.scoring);
}

// Adds own user `p`'s metrics against its held-out `targets`: full ranking of both lists,
// and each target ranked among sampled items the user never interacted with.
void EvaluateUser(const RecommendInputs& in, const Popularity& pop, std::size_t p,
                  std::span<const std::uint32_t> targets, ThreadResults* local) {
  const OwnUsers& own = in.state.own;
  const std::span<const int> ks(in.options.metrics_k);
  ThreadResults& l = *local;
  l.ranked.clear();
  for (const auto& sc : l.list) l.ranked.push_back(sc.item);
  AddFullRanking(l.ranked, targets, ks, &l.model);
  l.ranked.clear();
  for (const auto& sc : l.popular_list) l.ranked.push_back(sc.item);
  AddFullRanking(l.ranked, targets, ks, &l.popularity);
  const auto train = own.Train(p);
  l.interacted.assign(train.begin(), train.end());
  l.interacted.insert(l.interacted.end(), targets.begin(), targets.end());
  const auto dropped = own.Dropped(p);
  l.interacted.insert(l.interacted.end(), dropped.begin(), dropped.end());
  std::sort(l.interacted.begin(), l.interacted.end());
  SampleNegatives(in.options.seed, own.users[p], in.state.n_items, l.interacted,
                  static_cast<std::size_t>(in.options.sampled_negatives), &l.negatives);
  l.ranks_model.clear();
  l.ranks_pop.clear();
  for (std::uint32_t t : targets) {
    std::uint32_t above = 0, above_pop = 0;
    for (std::uint32_t neg : l.negatives) {
      above += l.scores.Before(neg, t, pop) ? 1 : 0;
      above_pop += pop.rank[neg] < pop.rank[t] ? 1 : 0;
    }
    l.ranks_model.push_back(above);
    l.ranks_pop.push_back(above_pop);
  }
  AddSampled(l.ranks_model, ks, &l.model);
  AddSampled(l.ranks_pop, ks, &l.popularity);
  l.model.users += 1;
  l.popularity.users += 1;
}

}  // namespace

Result<UserResults> RecommendAndEvaluate(ps::KVClient& kv, const RecommendInputs& in,
                                         ps::Deadline deadline, const UsersDone& progress,
                                         const UserScorer& scorer) {
  Neighborhoods hoods;
  if (!scorer) ECPS_RETURN_IF_ERROR(PullNeighborhoods(kv, in, deadline, &hoods));
  const OwnUsers& own = in.state.own;
  const std::uint32_t n_items = in.state.n_items;
  const Popularity pop = Popularity::From(in.state.item_count);
  const auto N = static_cast<std::size_t>(in.options.top_n);
  // Lists long enough for the file and for the metrics.
  const std::size_t L = std::max<std::size_t>(
      N, in.settings.evaluate ? static_cast<std::size_t>(in.settings.max_k) : 0);
  const bool score_users = L > 0;  // -n 0 without evaluation: neighbour lists only
  const std::size_t num_k = in.options.metrics_k.size();
  UserResults results{std::vector<std::uint32_t>(own.size(), 0),
                      std::vector<std::uint32_t>(own.size() * N, 0),
                      std::vector<float>(own.size() * N, 0.0f),
                      EvalSums(num_k),
                      EvalSums(num_k),
                      Coverage(n_items),
                      Coverage(n_items)};
  tbb::enumerable_thread_specific<ThreadResults> per_thread(
      [&] { return ThreadResults(n_items, num_k); });
  // The evaluation sums are kept per fixed chunk of users and added in chunk order, so that
  // they do not depend on which thread took which users.
  constexpr std::size_t kUsersPerChunk = 64;
  const std::size_t num_chunks = (own.size() + kUsersPerChunk - 1) / kUsersPerChunk;
  std::vector<EvalSums> model_chunks(num_chunks), popularity_chunks(num_chunks);
  auto run_chunk = [&](std::size_t c) {
    ThreadResults& l = per_thread.local();
    l.model = EvalSums(num_k);
    l.popularity = EvalSums(num_k);
    const std::size_t end = std::min(own.size(), (c + 1) * kUsersPerChunk);
    for (std::size_t p = c * kUsersPerChunk; p != end && score_users; ++p) {
      const auto train = own.Train(p);
      if (scorer) {
        scorer(p, &l.scores);
      } else {
        ScoreUser(in, hoods, p, &l);
      }
      l.scores.Top(L, train, pop, in.options.fill_popular, &l.list);
      const std::size_t nrec = std::min(N, l.list.size());
      results.rec_count[p] = static_cast<std::uint32_t>(nrec);
      for (std::size_t t = 0; t < nrec; ++t) {
        results.rec_items[p * N + t] = l.list[t].item;
        results.rec_scores[p * N + t] = static_cast<float>(l.list[t].score);
        l.model_coverage.Add(l.list[t].item);
      }
      PopularTop(L, train, pop, &l.popular_list);
      for (std::size_t t = 0; t < std::min(N, l.popular_list.size()); ++t) {
        l.popularity_coverage.Add(l.popular_list[t].item);
      }
      const auto targets = own.Targets(p);
      if (in.settings.evaluate && !targets.empty()) EvaluateUser(in, pop, p, targets, &l);
    }
    model_chunks[c] = std::move(l.model);
    popularity_chunks[c] = std::move(l.popularity);
  };
  // Progress about 64 times, after at least 1024 users each.
  const std::size_t per_report = std::max<std::size_t>(16, num_chunks / 64);
  for (std::size_t first = 0; first < num_chunks; first += per_report) {
    const std::size_t last = std::min(num_chunks, first + per_report);
    tbb::parallel_for(first, last, run_chunk);
    if (progress) ECPS_RETURN_IF_ERROR(progress(std::min(own.size(), last * kUsersPerChunk)));
  }
  for (std::size_t c = 0; c < num_chunks; ++c) {
    results.model.Merge(model_chunks[c]);
    results.popularity.Merge(popularity_chunks[c]);
  }
  for (auto& l : per_thread) {
    results.model_coverage.Merge(l.model_coverage);
    results.popularity_coverage.Merge(l.popularity_coverage);
  }
  return results;
}

}  // namespace ecps::models::cf
