// Pieces of collaborative filtering checked by hand: id order and mapping, splits, top-k
// merge with ties, each metric, negative sampling, scoring and seen-item exclusion.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <unordered_map>

#include <gtest/gtest.h>

#include "models/cf/attributes.h"
#include "models/cf/cf_job.h"
#include "models/cf/ids.h"
#include "models/cf/metrics.h"
#include "models/cf/model.h"
#include "models/cf/scoring.h"
#include "models/cf/split.h"
#include "models/cf/topk.h"

namespace ecps::models::cf {
namespace {
namespace fs = std::filesystem;

TEST(Ids, CanonicalOrderPutsIntegersFirstNumerically) {
  std::vector<std::string> ids{"10", "9", "b", "1a", "007", "0", "a", "100"};
  std::sort(ids.begin(), ids.end(), IdLess);
  EXPECT_EQ(ids, (std::vector<std::string>{"0", "9", "10", "100", "007", "1a", "a", "b"}));
}

TEST(Ids, MergeGivesEveryWorkerTheSameIndexForTheSameId) {
  IdDictionary w0, w1;
  for (auto id : {"u3", "17", "u1", "17", "2"}) w0.Intern(id);
  for (auto id : {"2", "zz", "u1", "100"}) w1.Intern(id);
  auto sorted = [](const IdDictionary& d) {
    std::vector<std::string> out;
    for (auto l : d.CanonicalOrder()) out.push_back(d.ids()[l]);
    return out;
  };
  std::vector<std::vector<std::uint32_t>> idx;
  auto all = MergeIdLists({sorted(w0), sorted(w1)}, &idx);
  EXPECT_EQ(all, (std::vector<std::string>{"2", "17", "100", "u1", "u3", "zz"}));
  ASSERT_EQ(idx.size(), 2u);
  EXPECT_EQ(idx[0], (std::vector<std::uint32_t>{0, 1, 3, 4}));  // 2, 17, u1, u3
  EXPECT_EQ(idx[1], (std::vector<std::uint32_t>{0, 2, 3, 5}));  // 2, 100, u1, zz
  IdIndex index(all);
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(index.Find(all[i]), static_cast<std::int64_t>(i));
  EXPECT_EQ(index.Find("nope"), -1);
}

TEST(Ids, DictionaryGivesFirstAppearanceIndicesWhateverPathAnIdTakes) {
  // Integer ids small and large (one first seen above the direct array's bound, later below
  // it), leading zeros ("007" is not "7"), long and short strings; repeated in a random order,
  // with runs of one id; the table and the array grow many times.
  std::mt19937 rng(11);
  std::vector<std::string> pool;
  for (int i = 0; i < 3000; ++i) pool.push_back(std::to_string(i * 37));
  for (int i = 0; i < 200; ++i) pool.push_back(std::to_string(100000 + i * 999));
  pool.push_back("70000");  // first seen above the first bound (64k): in the table
  for (int i = 0; i < 20000; ++i) pool.push_back("x" + std::to_string(i));  // bound > 80k
  for (int i = 0; i < 50; ++i) pool.push_back("00" + std::to_string(i));
  for (int i = 0; i < 2000; ++i) pool.push_back("sku-" + std::to_string(i));
  for (int i = 0; i < 2000; ++i) pool.push_back("a-much-longer-user-id-" + std::to_string(i));
  pool.push_back("1234567890");  // ten digits: not a small integer
  std::unordered_map<std::string, std::uint32_t> reference;
  IdDictionary d;
  auto intern = [&](const std::string& id) {
    auto [it, added] = reference.emplace(id, static_cast<std::uint32_t>(reference.size()));
    ASSERT_EQ(d.Intern(id), it->second) << id;
  };
  intern("70000");
  for (int round = 0; round < 200000; ++round) {
    const std::string& id = pool[rng() % pool.size()];
    for (unsigned r = rng() % 3; r-- > 0;) intern(id);
  }
  for (const auto& id : pool) intern(id);  // every id, "70000" again once the bound is past it
  EXPECT_EQ(d.size(), reference.size());
  for (std::size_t l = 0; l < d.size(); ++l) EXPECT_EQ(reference.at(d.ids()[l]), l);
}

TEST(Ids, MappingRoundTripsThroughTheModelFile) {
  CfModel m;
  m.kind = "itemcf";
  m.similarity = "cosine";
  m.scoring = "sum";
  m.user_ids = {"1", "2", "alice", "bob,jr"};
  m.item_ids = {"5", "x\"y", "z"};
  m.neighbors.k = 2;
  m.neighbors.Add(0, 1, 0.5f);  // item 0: 1, 2; item 1: none; item 2: 0
  m.neighbors.Add(0, 2, 0.25f);
  m.neighbors.Add(2, 0, 0.75f);
  m.neighbors.Finish(3);
  EXPECT_EQ(m.neighbors.ptr, (std::vector<std::uint64_t>{0, 2, 2, 3}));
  m.train_ptr = {0, 1, 3, 3, 4};
  m.train_item = {0, 1, 2, 0};
  m.train_age = {0, 1, 0, 0};
  m.item_count = {2, 1, 1};
  auto dir = fs::temp_directory_path() / ("ecps_cf_model_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ASSERT_TRUE(SaveCfModel((dir / "model.ecps").string(), m).ok());
  auto back = LoadCfModel(dir.string());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->user_ids, m.user_ids);
  EXPECT_EQ(back->item_ids, m.item_ids);
  EXPECT_EQ(back->neighbors.id, m.neighbors.id);
  EXPECT_EQ(back->neighbors.ptr, m.neighbors.ptr);
  EXPECT_EQ(back->neighbors.score, m.neighbors.score);
  EXPECT_EQ(back->train_item, m.train_item);
  // A model whose sizes do not fit is refused.
  m.train_item.push_back(7);
  m.train_age.push_back(0);
  m.train_ptr.back() = 5;
  ASSERT_TRUE(SaveCfModel((dir / "bad.ecps").string(), m).ok());
  auto bad = LoadCfModel((dir / "bad.ecps").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("inconsistent model"), std::string::npos);
}

TEST(NeighborMemory, TheEstimateCountsTheServersSlotsAndEachWorkersTask) {
  // Servers: (items + content items) x k slots of two doubles; each worker: two blocks of k.
  EXPECT_EQ(NeighborListBytes(1000, 0, 10000, 2, 500), 1000ull * 10000 * 16 + 2ull * 2 * 500 * 10000 * 16);
  EXPECT_EQ(NeighborListBytes(1000, 1000, 20, 1, 4000), 2000ull * 20 * 16 + 2ull * 1000 * 20 * 16);
  // The Amazon Games run (--neighbors 10000, ~17k items) is in the GiB: worth a word.
  EXPECT_GT(NeighborListBytes(17000, 0, 10000, 2, 8500), std::uint64_t{2} << 30);
  EXPECT_GT(PhysicalMemoryBytes(), std::uint64_t{1} << 28);
}

// ---- Splits ------------------------------------------------------------------------------

std::vector<Part> Split(SplitKind kind, EvalTarget target, std::vector<std::uint32_t> items, std::uint32_t user = 3,
                        int min_users = 3) {
  SplitOptions o;
  o.kind = kind;
  o.target = target;
  o.min_user_interactions = min_users;
  o.holdout_fraction = 0.3;
  std::vector<Part> parts(items.size());
  SplitUser(user, items, o, parts);
  return parts;
}

TEST(Split, LeaveLastOutHoldsOutTheLastAndDropsItWhenTuning) {
  using P = Part;
  EXPECT_EQ(Split(SplitKind::kLeaveLastOut, EvalTarget::kTest, {4, 9, 2, 7}),
            (std::vector<P>{P::kTrain, P::kTrain, P::kTrain, P::kTarget}));
  EXPECT_EQ(Split(SplitKind::kLeaveLastOut, EvalTarget::kValidation, {4, 9, 2, 7}),
            (std::vector<P>{P::kTrain, P::kTrain, P::kTarget, P::kDropped}));
  // Too few interactions: training only.
  EXPECT_EQ(Split(SplitKind::kLeaveLastOut, EvalTarget::kTest, {4, 9}), (std::vector<P>{P::kTrain, P::kTrain}));
  EXPECT_EQ(Split(SplitKind::kNone, EvalTarget::kTest, {4, 9, 2, 7}), std::vector<P>(4, P::kTrain));
}

TEST(Split, RandomSplitsAreSeededPerUserAndNeverLeak) {
  std::mt19937 rng(5);
  for (SplitKind kind : {SplitKind::kLeaveOneOut, SplitKind::kHoldout}) {
    for (std::uint32_t user = 0; user < 300; ++user) {
      std::vector<std::uint32_t> items(3 + rng() % 20);
      std::iota(items.begin(), items.end(), user);  // distinct
      auto test = Split(kind, EvalTarget::kTest, items, user);
      auto again = Split(kind, EvalTarget::kTest, items, user);
      EXPECT_EQ(test, again);
      auto valid = Split(kind, EvalTarget::kValidation, items, user);
      const auto targets = std::count(test.begin(), test.end(), Part::kTarget);
      const auto trains = std::count(test.begin(), test.end(), Part::kTrain);
      if (kind == SplitKind::kLeaveOneOut) {
        EXPECT_EQ(targets, 1);
      }
      EXPECT_GT(trains, 0);
      for (std::size_t t = 0; t < items.size(); ++t) {
        // The test items are never in training while tuning, and are the dropped ones.
        if (test[t] == Part::kTarget && targets > 0 && std::count(valid.begin(), valid.end(), Part::kTarget) > 0) {
          EXPECT_EQ(valid[t], Part::kDropped) << "user " << user << " item " << t;
        }
        if (valid[t] == Part::kTarget) {
          EXPECT_EQ(test[t], Part::kTrain);
        }
      }
    }
  }
}

// ---- Top-k ---------------------------------------------------------------------------------

TEST(TopK, BreaksTiesBySmallerId) {
  std::vector<Neighbor> c{{7, 0.5}, {3, 0.5}, {9, 0.9}, {1, 0.1}, {4, 0.5}};
  SelectTopK(&c, 3);
  EXPECT_EQ(c, (std::vector<Neighbor>{{9, 0.9}, {3, 0.5}, {4, 0.5}}));
}

TEST(TopK, MergeRuleEqualsSelectionFromAllCandidatesInAnyOrderAndGrouping) {
  const std::size_t k = 4;
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    // Candidates with many ties (scores from a few values), distinct ids.
    std::vector<Neighbor> all;
    const int n = 1 + static_cast<int>(rng() % 15);
    for (int i = 0; i < n; ++i) all.push_back({static_cast<std::uint32_t>(i * 3 + 1), 0.25 * (1 + rng() % 3)});
    std::vector<Neighbor> expect = all;
    SelectTopK(&expect, k);
    std::shuffle(all.begin(), all.end(), rng);
    // Split into random groups, each reduced to its own top k (a worker's block), then
    // pushed through the server rule in random order.
    std::vector<double> stored(2 * k, -1.0);
    TopKMergeRule rule;
    std::size_t at = 0;
    while (at < all.size()) {
      const std::size_t take = 1 + rng() % (all.size() - at);
      std::vector<Neighbor> group(all.begin() + static_cast<std::ptrdiff_t>(at),
                                  all.begin() + static_cast<std::ptrdiff_t>(at + take));
      at += take;
      SelectTopK(&group, k);
      std::vector<double> pushed(2 * k);
      EncodeRow(group, k, pushed.data());
      ps::RowSpan<double> rows{stored.data(), nullptr, 2 * k, 0, 0, nullptr, 0, 1};
      rule.Apply(rows, pushed.data());
    }
    std::vector<Neighbor> got;
    DecodeRow(stored.data(), k, &got);
    EXPECT_EQ(got, expect) << "trial " << trial;
  }
  // An empty push leaves the row alone.
  std::vector<double> stored(2 * k, -1.0), empty(2 * k, -1.0);
  TopKMergeRule rule;
  rule.Apply(ps::RowSpan<double>{stored.data(), nullptr, 2 * k, 0, 0, nullptr, 0, 1}, empty.data());
  EXPECT_EQ(stored, std::vector<double>(2 * k, -1.0));
  EXPECT_TRUE(rule.status().ok());
}

TEST(TopK, MergeRuleRefusesAnIdPushedTwice) {
  const std::size_t k = 3;
  std::vector<double> stored(2 * k, -1.0), first(2 * k), again(2 * k);
  EncodeRow(std::vector<Neighbor>{{4, 0.9}, {2, 0.5}}, k, first.data());
  EncodeRow(std::vector<Neighbor>{{7, 0.7}, {2, 0.5}}, k, again.data());
  TopKMergeRule rule;
  const ps::RowSpan<double> rows{stored.data(), nullptr, 2 * k, 0, 12, nullptr, 12, 1};
  rule.Apply(rows, first.data());
  ASSERT_TRUE(rule.status().ok());
  rule.Apply(rows, again.data());
  EXPECT_EQ(rule.status().code(), StatusCode::kInternal);
  EXPECT_EQ(rule.status().message(), "id 2 pushed twice for key 12");
  EXPECT_EQ(stored, first);  // the row is left as it was
}

TEST(TopK, MergeRuleOfAResumedRunTakesARepeatOnceButNotAnotherScore) {
  const std::size_t k = 3;
  std::vector<double> stored(2 * k, -1.0), first(2 * k), again(2 * k), other(2 * k);
  EncodeRow(std::vector<Neighbor>{{4, 0.9}, {2, 0.5}}, k, first.data());
  EncodeRow(std::vector<Neighbor>{{7, 0.7}, {2, 0.5}, {1, 0.1}}, k, again.data());
  EncodeRow(std::vector<Neighbor>{{4, 0.8}}, k, other.data());
  TopKMergeRule rule(/*repeats=*/true);
  const ps::RowSpan<double> rows{stored.data(), nullptr, 2 * k, 0, 12, nullptr, 12, 1};
  rule.Apply(rows, first.data());
  rule.Apply(rows, again.data());
  rule.Apply(rows, first.data());
  ASSERT_TRUE(rule.status().ok()) << rule.status().message();
  std::vector<Neighbor> got;
  DecodeRow(stored.data(), k, &got);
  EXPECT_EQ(got, (std::vector<Neighbor>{{4, 0.9}, {7, 0.7}, {2, 0.5}}));
  const std::vector<double> before = stored;
  rule.Apply(rows, other.data());  // id 4 again, with another score: a real violation
  EXPECT_EQ(rule.status().message(), "id 4 pushed twice for key 12");
  EXPECT_EQ(stored, before);
}

// ---- Metrics -------------------------------------------------------------------------------

TEST(Metrics, FullRankingByHand) {
  // List [5, 2, 8, 1], relevant {1, 2, 9}: hits at positions 1 and 3 (0-based).
  const std::vector<int> ks{1, 2, 4};
  EvalSums s(ks.size());
  AddFullRanking(std::vector<std::uint32_t>{5, 2, 8, 1}, std::vector<std::uint32_t>{1, 2, 9}, ks, &s);
  // k = 1: no hit.
  EXPECT_EQ(s.full[0].hr, 0.0);
  EXPECT_EQ(s.full[0].ndcg, 0.0);
  // k = 2: one hit at position 1.
  EXPECT_EQ(s.full[1].hr, 1.0);
  EXPECT_DOUBLE_EQ(s.full[1].precision, 1.0 / 2);
  EXPECT_DOUBLE_EQ(s.full[1].recall, 1.0 / 3);
  EXPECT_DOUBLE_EQ(s.full[1].ndcg, (1 / std::log2(3.0)) / (1 + 1 / std::log2(3.0)));
  EXPECT_DOUBLE_EQ(s.full[1].map, (1.0 / 2) / 2);  // precision@2 at the hit, / min(3, 2)
  // k = 4: hits at 1 and 3.
  EXPECT_DOUBLE_EQ(s.full[2].precision, 2.0 / 4);
  EXPECT_DOUBLE_EQ(s.full[2].recall, 2.0 / 3);
  const double dcg = 1 / std::log2(3.0) + 1 / std::log2(5.0);
  const double idcg = 1 + 1 / std::log2(3.0) + 1 / std::log2(4.0);
  EXPECT_DOUBLE_EQ(s.full[2].ndcg, dcg / idcg);
  EXPECT_DOUBLE_EQ(s.full[2].map, (1.0 / 2 + 2.0 / 4) / 3);
}

TEST(Metrics, SampledProtocolByHand) {
  const std::vector<int> ks{1, 10};
  EvalSums s(ks.size());
  AddSampled(std::vector<std::uint32_t>{0}, ks, &s);  // ranked first
  AddSampled(std::vector<std::uint32_t>{3}, ks, &s);  // three negatives above it
  AddSampled(std::vector<std::uint32_t>{50}, ks, &s);
  s.users = 3;
  EXPECT_DOUBLE_EQ(s.sampled[0].hr, 1.0);
  EXPECT_DOUBLE_EQ(s.sampled[1].hr, 2.0);
  EXPECT_DOUBLE_EQ(s.sampled[1].ndcg, 1.0 + 1.0 / std::log2(5.0));
  EXPECT_DOUBLE_EQ(s.sampled[1].map, 1.0 + 1.0 / 4);
  EXPECT_DOUBLE_EQ(s.sampled[1].precision, 2.0 / 10);
  auto j = s.ToJson(ks);
  EXPECT_DOUBLE_EQ(j["sampled"]["HR@10"].get<double>(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(j["sampled"]["NDCG@10"].get<double>(), (1.0 + 1.0 / std::log2(5.0)) / 3);
  // Two held-out items of one user count half each.
  EvalSums t(ks.size());
  AddSampled(std::vector<std::uint32_t>{0, 20}, ks, &t);
  EXPECT_DOUBLE_EQ(t.sampled[1].hr, 0.5);
}

TEST(Metrics, NegativesAreDistinctUnseenAndSeeded) {
  std::vector<std::uint32_t> seen{0, 3, 4, 10, 99};
  std::vector<std::uint32_t> a, b, c;
  SampleNegatives(42, 7, 200, seen, 100, &a);
  SampleNegatives(42, 7, 200, seen, 100, &b);
  SampleNegatives(42, 8, 200, seen, 100, &c);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  ASSERT_EQ(a.size(), 100u);
  std::set<std::uint32_t> distinct(a.begin(), a.end());
  EXPECT_EQ(distinct.size(), 100u);
  for (auto x : a) EXPECT_FALSE(std::binary_search(seen.begin(), seen.end(), x));
  SampleNegatives(1, 1, 8, seen, 100, &a);  // only 5 unseen items exist below 8... {1,2,5,6,7}
  EXPECT_EQ(std::set<std::uint32_t>(a.begin(), a.end()), (std::set<std::uint32_t>{1, 2, 5, 6, 7}));
}

TEST(Metrics, CoverageMerges) {
  Coverage a(130), b(130);
  a.Add(0);
  a.Add(129);
  b.Add(129);
  b.Add(64);
  a.Merge(b);
  EXPECT_EQ(a.Count(), 3u);
}

// ---- Scoring ------------------------------------------------------------------------------

TEST(Scoring, ExcludesSeenItemsRanksByScoreThenPopularity) {
  // Items 0..5. Neighbours: 0 -> {1: 0.5, 2: 0.4}, 3 -> {2: 0.3, 0: 0.9}.
  NeighborLists nb;
  nb.k = 2;
  nb.Add(0, 1, 0.5f);
  nb.Add(0, 2, 0.4f);
  nb.Add(3, 2, 0.3f);
  nb.Add(3, 0, 0.9f);
  nb.Finish(6);
  const auto pop = Popularity::From({1, 2, 3, 9, 5, 5});  // order: 3, 4, 5, 2, 1, 0
  EXPECT_EQ(pop.order, (std::vector<std::uint32_t>{3, 4, 5, 2, 1, 0}));
  ItemScores scores(6);
  const std::vector<std::uint32_t> seen{0, 3};
  ScoreFromItems(seen, {}, nb, &scores);
  scores.Finish(Scoring::kSum);
  std::vector<Scored> top;
  scores.Top(4, seen, pop, true, &top);
  // Item 2: 0.4 + 0.3 = 0.7; item 1: 0.5; item 0 is seen (0.9 ignored); then popular 4, 5.
  ASSERT_EQ(top.size(), 4u);
  EXPECT_EQ(top[0].item, 2u);
  EXPECT_NEAR(top[0].score, 0.7, 1e-7);
  EXPECT_EQ(top[1].item, 1u);
  EXPECT_EQ(top[2].item, 4u);
  EXPECT_EQ(top[3].item, 5u);
  for (const auto& s : top) EXPECT_FALSE(std::binary_search(seen.begin(), seen.end(), s.item));
  scores.Top(4, seen, pop, false, &top);
  EXPECT_EQ(top.size(), 2u);  // no popularity fill
  // Average: (0.4 * 1 + 0.3 * 1) / (0.4 + 0.3) = 1 for item 2, 1 for item 1: tie -> more popular.
  scores.Clear();
  ScoreFromItems(seen, {}, nb, &scores);
  scores.Finish(Scoring::kAverage);
  scores.Top(2, seen, pop, false, &top);
  EXPECT_EQ(top[0].item, 2u);  // count 3 beats count 2
  EXPECT_EQ(top[1].item, 1u);
  std::vector<Scored> p;
  PopularTop(3, seen, pop, &p);
  EXPECT_EQ(p[0].item, 4u);
  EXPECT_EQ(p[1].item, 5u);
  EXPECT_EQ(p[2].item, 2u);
}

// ---- Attributes ----------------------------------------------------------------------------

TEST(Attributes, CategoricalValuesAndNumericBandsBecomeFeatures) {
  auto dir = fs::temp_directory_path() / ("ecps_cf_attr_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto path = (dir / "items.csv").string();
  std::ofstream(path) << "brand,sku,price\nacme,a,1\nzen,b,2\nacme,c,3\n,d,4\nzen,e,\n";
  AttributeRows rows;
  ASSERT_TRUE(ReadAttributes({path, 0, fs::file_size(path)}, "sku", &rows).ok());
  EXPECT_EQ(rows.columns, (std::vector<std::string>{"brand", "price"}));
  EXPECT_EQ(rows.item_ids, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  // Items a..e are 0..4; item 5 has no attributes.
  auto f = BuildItemFeatures(rows.columns, {0, 1, 2, 3, 4}, rows.values, 6, 2, {"a", "b", "c", "d", "e", "f"}, path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  // Features in sorted order: brand=acme, brand=zen, price#0 (1, 2), price#1 (3, 4).
  EXPECT_EQ(f->names, (std::vector<std::string>{"brand=acme", "brand=zen", "price#0", "price#1"}));
  EXPECT_EQ(f->ptr, (std::vector<std::uint64_t>{0, 2, 4, 6, 7, 8, 8}));
  EXPECT_EQ(f->feat, (std::vector<std::uint32_t>{0, 2, 1, 2, 0, 3, 3, 1}));
  EXPECT_EQ(f->items_with_attributes, 5u);
  auto dup = BuildItemFeatures(rows.columns, {0, 1, 2, 1, 4}, rows.values, 6, 2, {"a", "b", "c", "d", "e", "f"}, path);
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("\"b\" appears more than once"), std::string::npos);
  std::ofstream(path) << "sku,brand\na,acme\nb\n";
  AttributeRows bad;
  Status s = ReadAttributes({path, 0, fs::file_size(path)}, "", &bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(path + ":3: expected 2 fields"), std::string::npos) << s.ToString();
  s = ReadAttributes({path, 0, fs::file_size(path)}, "nope", &bad);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace ecps::models::cf
