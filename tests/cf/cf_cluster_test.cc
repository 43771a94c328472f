// Collaborative filtering end to end in single-node mode: the same neighbour lists and
// recommendations for 1, 2 and 4 workers (and 1 or 2 servers), seen items never
// recommended, no held-out item in training, and item-CF beating popularity on the real
// Amazon Games data.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/null_sink.h>

#include "models/cf/cf_job.h"
#include "models/cf/ids.h"
#include "models/cf/model.h"
#include "scheduler/local_cluster.h"
#include "tests/cf/cf_data.h"

namespace ecps {
namespace {

using namespace testing_cf;

Status Train(models::cf::CfOptions o, int servers, int workers) {
  sched::LocalClusterOptions lo;
  lo.node.default_timeout_s = 120;
  lo.sink = std::make_shared<spdlog::sinks::null_sink_mt>();
  o.quiet = true;
  auto roles = *ps::RoleTable::Make(servers, workers);
  return models::cf::TrainCf(o, [&](const sched::JobFactory& f) { return sched::RunLocal(roles, lo, f); });
}

struct Setup {
  std::string kind, similarity;
  bool ratings;
};

class SameForAnyWorkerCount : public ::testing::TestWithParam<Setup> {};

TEST_P(SameForAnyWorkerCount, NeighboursAndRecommendationsAreIdentical) {
  const auto& p = GetParam();
  const auto dir = TempDir(p.kind + "_" + p.similarity);
  const auto rows = MakeInteractions(300, 160, 24, 99);
  const auto file = WriteInteractions(dir / "interactions.csv", rows, true);
  std::string reference_nb, reference_rec;
  for (auto [servers, workers] : std::vector<std::pair<int, int>>{{1, 1}, {1, 2}, {2, 4}}) {
    models::cf::CfOptions o;
    o.kind = p.kind;
    o.train = file;
    o.similarity = p.similarity;
    o.feedback = p.ratings ? "explicit" : "implicit";
    o.neighbors = 7;
    o.top_n = 5;
    o.shrinkage = 2;
    o.split = "leave-last-out";
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
  o.feedback = "implicit";
  o.split = "leave-last-out";
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
  o.similarity = "pearson";  // needs ratings; the file has none
  s = Train(o, 1, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("implicit"), std::string::npos) << s.ToString();
}

// Quality on real data (Kang & McAuley's Amazon Games): item-CF must beat popularity under
// both protocols. Needs ../shared/data.
TEST(CfCluster, ItemCfBeatsPopularityOnAmazonGames) {
  const fs::path data = fs::path(ECPS_SHARED_DATA) / "amazon-videogames-sasrec" / "Video.txt";
  ASSERT_TRUE(fs::exists(data)) << "missing " << data << ": this test needs the shared datasets (../shared/data)";
  const auto dir = TempDir("games");
  models::cf::CfOptions o;
  o.train = data.string();
  o.split = "leave-last-out";
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
