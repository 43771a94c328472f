// Collaborative filtering end to end in single-node mode: the same neighbour lists and
// recommendations for 1, 2 and 4 workers (and 1 or 2 servers), seen items never
// recommended, no held-out item in training, and item-CF beating popularity on the real
// Amazon Games data.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/cf/cf_job.h"
#include "models/cf/ids.h"
#include "models/cf/model.h"
#include "scheduler/local_cluster.h"
#include "tests/common/quiet_cluster.h"
#include "tests/common/shared_data.h"
#include "tests/cf/cf_data.h"

namespace ecps {
namespace {

using namespace testing_cf;

Status Train(models::cf::CfOptions o, int servers, int workers, int threads = 1) {
  sched::LocalClusterOptions lo = testing::QuietCluster(0, 120);
  lo.run.worker_threads = threads;
  o.quiet = true;
  auto roles = *ps::RoleTable::Make(servers, workers);
  return models::cf::TrainCf(o, [&](const sched::JobFactory& f) { return sched::RunLocal(roles, lo, f); });
}

struct Setup {
  std::string kind, similarity;
  bool ratings;
};

void PrintTo(const Setup& s, std::ostream* os) { *os << s.kind << " " << s.similarity << (s.ratings ? " ratings" : ""); }

class SameForAnyWorkerCount : public ::testing::TestWithParam<Setup> {};

TEST_P(SameForAnyWorkerCount, NeighboursAndRecommendationsAreIdentical) {
  const auto& p = GetParam();
  const auto dir = TempDir(p.kind + "_" + p.similarity);
  const auto rows = MakeInteractions(300, 160, 24, 99);
  const auto file = WriteInteractions(dir / "interactions.csv", rows, true);
  std::string reference_nb, reference_rec;
  for (auto [servers, workers] : std::vector<std::pair<int, int>>{{1, 1}, {1, 2}, {2, 4}}) {
    models::cf::CfOptions o;
    o.kind = *models::cf::FindChoice(models::cf::kKinds, p.kind);
    o.train = file;
    o.similarity = *models::cf::FindChoice(models::cf::kMeasures, p.similarity);
    o.feedback = p.ratings ? models::cf::Feedback::kExplicit : models::cf::Feedback::kImplicit;
    o.neighbors = 7;
    o.top_n = 5;
    o.shrinkage = 2;
    o.split = models::cf::SplitKind::kLeaveLastOut;
    o.out = (dir / ("w" + std::to_string(workers))).string();
    Status s = Train(o, servers, workers);
    ASSERT_TRUE(s.ok()) << s.ToString();
    const auto nb = Slurp(fs::path(o.out) / "neighbors.csv");
    const auto rec = Slurp(fs::path(o.out) / "recommendations.csv");
    ASSERT_GT(std::count(nb.begin(), nb.end(), '\n'), 100);
    ASSERT_GT(std::count(rec.begin(), rec.end(), '\n'), 300);
    if (reference_nb.empty()) {
      reference_nb = nb;
      reference_rec = rec;
      continue;
    }
    EXPECT_EQ(nb, reference_nb) << workers << " workers: neighbour lists differ from 1 worker";
    EXPECT_EQ(rec, reference_rec) << workers << " workers: recommendations differ from 1 worker";
  }
}

TEST(CfCluster, EvaluationIsTheSameForAnyThreadCount) {
  const auto dir = TempDir("threads");
  const auto file = WriteInteractions(dir / "interactions.csv", MakeInteractions(3000, 400, 12, 5), false);
  std::string reference;
  for (int threads : {1, 3, 4}) {
    models::cf::CfOptions o;
    o.train = file;
    o.neighbors = 20;
    o.split = models::cf::SplitKind::kLeaveLastOut;
    o.out = (dir / ("t" + std::to_string(threads))).string();
    Status s = Train(o, 1, 1, threads);
    ASSERT_TRUE(s.ok()) << s.ToString();
    const auto metrics = nlohmann::json::parse(Slurp(fs::path(o.out) / "metrics.json"));
    ASSERT_TRUE(metrics.contains("evaluation"));
    const std::string evaluation = metrics["evaluation"].dump();
    if (reference.empty()) {
      reference = evaluation;
      continue;
    }
    EXPECT_EQ(evaluation, reference) << threads << " threads differ from 1 thread";
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, SameForAnyWorkerCount,
                         ::testing::Values(Setup{"itemcf", "cosine", false}, Setup{"itemcf", "cosine", true},
                                           Setup{"itemcf", "adjusted-cosine", true}, Setup{"itemcf", "pearson", true},
                                           Setup{"usercf", "jaccard", false}, Setup{"usercf", "pearson", true}),
                         [](const auto& param_info) {
                           std::string n = param_info.param.kind + "_" + param_info.param.similarity +
                                           (param_info.param.ratings ? "_ratings" : "_implicit");
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(CfCluster, NoSeenItemRecommendedAndNoHeldOutItemInTraining) {
  const auto dir = TempDir("leaks");
  const auto rows = MakeInteractions(200, 120, 20, 7);
  const auto file = WriteInteractions(dir / "interactions.csv", rows, true);
  models::cf::CfOptions o;
  o.train = file;
  o.feedback = models::cf::Feedback::kImplicit;
  o.split = models::cf::SplitKind::kLeaveLastOut;
  o.top_n = 30;
  o.out = (dir / "out").string();
  ASSERT_TRUE(Train(o, 1, 3).ok());
  auto m = models::cf::LoadCfModel(o.out);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  models::cf::IdIndex users(m->user_ids), items(m->item_ids);
  // The held-out (last by timestamp) item of every evaluated user is not in its training set.
  const auto last = LastItems(rows, 3);
  ASSERT_GT(last.size(), 100u);
  for (const auto& [u, item] : last) {
    const auto ui = users.Find(u);
    ASSERT_GE(ui, 0);
    auto train = m->Items(static_cast<std::uint32_t>(ui));
    EXPECT_FALSE(std::binary_search(train.begin(), train.end(), static_cast<std::uint32_t>(items.Find(item))))
        << u << "'s held-out item " << item << " is in training";
  }
  // Recommendations never contain a training item of the user.
  std::istringstream rec(Slurp(fs::path(o.out) / "recommendations.csv"));
  std::string line;
  std::getline(rec, line);
  EXPECT_EQ(line, "user,item,score");
  std::size_t n = 0;
  while (std::getline(rec, line)) {
    const auto c1 = line.find(','), c2 = line.find(',', c1 + 1);
    const auto u = users.Find(line.substr(0, c1));
    const auto i = items.Find(line.substr(c1 + 1, c2 - c1 - 1));
    ASSERT_GE(u, 0);
    ASSERT_GE(i, 0);
    auto train = m->Items(static_cast<std::uint32_t>(u));
    EXPECT_FALSE(std::binary_search(train.begin(), train.end(), static_cast<std::uint32_t>(i))) << line;
    ++n;
  }
  EXPECT_EQ(n, m->user_ids.size() * 30);  // every user, 30 each (120 items, few seen)
  // metrics.json carries both methods under both protocols.
  auto j = nlohmann::json::parse(Slurp(fs::path(o.out) / "metrics.json"));
  for (const char* protocol : {"full", "sampled"}) {
    EXPECT_TRUE(j["evaluation"][protocol]["itemcf"].contains("NDCG@10"));
    EXPECT_TRUE(j["evaluation"][protocol]["popularity"].contains("HR@10"));
  }
  EXPECT_EQ(j["data"]["evaluated_users"].get<std::size_t>(), last.size());
}

TEST(CfCluster, BadInputStopsTheJobNamingFileAndLine) {
  const auto dir = TempDir("bad");
  const auto file = (dir / "bad.txt").string();
  std::ofstream(file) << "u1 i1\nu2 i2\nu3\nu4 i4\n";
  models::cf::CfOptions o;
  o.train = file;
  o.out = (dir / "out").string();
  Status s = Train(o, 1, 2);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(file + ":3: expected 2 fields"), std::string::npos) << s.ToString();
  o.skip_bad_rows = true;
  s = Train(o, 1, 2);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto j = nlohmann::json::parse(Slurp(fs::path(o.out) / "metrics.json"));
  EXPECT_EQ(j["data"]["bad_rows_skipped"].get<int>(), 1);
  o.similarity = models::cf::Measure::kPearson;  // needs ratings; the file has none
  s = Train(o, 1, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("implicit"), std::string::npos) << s.ToString();
}

// Quality on real data (Kang & McAuley's Amazon Games): item-CF must beat popularity under
// both protocols. Needs ../shared/data.
TEST(CfCluster, ItemCfBeatsPopularityOnAmazonGames) {
  ECPS_SHARED_DATA_OR_SKIP(data, "amazon-videogames-sasrec/Video.txt");
  const auto dir = TempDir("games");
  models::cf::CfOptions o;
  o.train = data.string();
  o.split = models::cf::SplitKind::kLeaveLastOut;
  o.out = dir.string();
  o.write_neighbors = false;
  o.save_model = false;
  ASSERT_TRUE(Train(o, 1, 2).ok());
  auto j = nlohmann::json::parse(Slurp(dir / "metrics.json"));
  EXPECT_EQ(j["data"]["users"].get<int>(), 31013);
  EXPECT_EQ(j["data"]["items"].get<int>(), 23715);
  for (const char* protocol : {"full", "sampled"}) {
    for (const char* metric : {"HR@10", "NDCG@10"}) {
      const double cf = j["evaluation"][protocol]["itemcf"][metric].get<double>();
      const double pop = j["evaluation"][protocol]["popularity"][metric].get<double>();
      EXPECT_GT(cf, pop * 1.05) << protocol << " " << metric;
    }
  }
}

}  // namespace
}  // namespace ecps

namespace ecps {
namespace {

using namespace testing_cf;

// Attributes: category follows the item clusters of MakeInteractions, a numeric price, and
// an item that nobody interacted with ("sku-new") dressed like sku-0045.
std::string WriteAttributes(const fs::path& path, int items) {
  std::ofstream f(path);
  f << "sku,category,brand,price\n";
  for (int i = 0; i < items; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "sku-%04d", i);
    f << id << ",cat" << i / (items / 4) << ",brand" << i % 7 << "," << 10 + (i * 37) % 90 << ".5\n";
  }
  f << "sku-new,cat1,brand" << 45 % 7 << "," << 10 + (45 * 37) % 90 << ".5\n";
  return path.string();
}

TEST(CfContent, ColdItemsUseAttributeNeighboursAndAreTheSameForAnyWorkerCount) {
  const auto dir = TempDir("content");
  const auto rows = MakeInteractions(300, 160, 24, 5);
  const auto file = WriteInteractions(dir / "interactions.csv", rows, true);
  const auto attrs = WriteAttributes(dir / "items.csv", 160);
  std::string ref_content, ref_rec;
  for (auto [servers, workers] : std::vector<std::pair<int, int>>{{1, 1}, {2, 3}}) {
    models::cf::CfOptions o;
    o.train = file;
    o.feedback = models::cf::Feedback::kImplicit;
    o.item_attributes = attrs;
    o.cold_threshold = 8;
    o.content_blend = 0.3;
    o.neighbors = 10;
    o.out = (dir / ("w" + std::to_string(workers))).string();
    Status s = Train(o, servers, workers);
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto m = models::cf::LoadCfModel(o.out);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    ASSERT_TRUE(m->has_content());
    models::cf::IdIndex items(m->item_ids);
    const auto fresh = items.Find("sku-new");
    ASSERT_GE(fresh, 0) << "an item with attributes only must be in the id mapping";
    EXPECT_EQ(m->item_count[static_cast<std::size_t>(fresh)], 0u);
    EXPECT_TRUE(m->Mix().Cold(static_cast<std::uint32_t>(fresh)));
    // Its best attribute neighbour is the item it copies.
    EXPECT_EQ(m->content.Ids(static_cast<std::size_t>(fresh))[0], static_cast<std::uint32_t>(items.Find("sku-0045")));
    EXPECT_NEAR(m->content.Scores(static_cast<std::size_t>(fresh))[0], 1.0, 1e-6);
    // With a blend, the never-seen item gets a score from the users who have its look-alike
    // (through sku-0045's attribute neighbours); without the content lists it gets none.
    const auto twin = static_cast<std::uint32_t>(items.Find("sku-0045"));
    std::size_t reached = 0;
    for (std::uint32_t u = 0; u < m->user_ids.size(); ++u) {
      auto train = m->Items(u);
      if (!std::binary_search(train.begin(), train.end(), twin)) continue;
      models::cf::ItemScores with(static_cast<std::uint32_t>(m->item_ids.size())), without(with);
      const auto mix = m->Mix();
      models::cf::ScoreFromItems(train, {}, m->neighbors, &with, &mix);
      models::cf::ScoreFromItems(train, {}, m->neighbors, &without);
      EXPECT_FALSE(without.Scored(static_cast<std::uint32_t>(fresh)));
      reached += with.Scored(static_cast<std::uint32_t>(fresh)) && with.Score(static_cast<std::uint32_t>(fresh)) > 0;
    }
    EXPECT_GT(reached, 0u);
    const auto rec = Slurp(fs::path(o.out) / "recommendations.csv");
    const auto content = Slurp(fs::path(o.out) / "content_neighbors.csv");
    if (ref_content.empty()) {
      ref_content = content;
      ref_rec = rec;
    } else {
      EXPECT_EQ(content, ref_content);
      EXPECT_EQ(rec, ref_rec);
    }
    auto j = nlohmann::json::parse(Slurp(fs::path(o.out) / "metrics.json"));
    EXPECT_EQ(j["content"]["items_with_attributes"].get<int>(), 161);
    EXPECT_GE(j["content"]["cold_items"].get<int>(), 1);
  }
}

}  // namespace
}  // namespace ecps
