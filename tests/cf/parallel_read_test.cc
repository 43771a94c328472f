// A worker reading its range in pieces on several threads (models/cf/read_rows.h) gives what
// one reader gives: the same outputs and evaluation, the same skipped-row counts and
// examples, the same first error. The file is larger than two pieces (8 MiB each) so that two
// threads split it.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/cf/cf_job.h"
#include "scheduler/local_cluster.h"
#include "tests/cf/cf_data.h"
#include "tests/common/quiet_cluster.h"

namespace ecps {
namespace {

using namespace testing_cf;

Status Train(models::cf::CfOptions o, int threads) {
  sched::LocalClusterOptions lo = testing::QuietCluster(0, 120);
  lo.run.worker_threads = threads;
  o.quiet = true;
  auto roles = *ps::RoleTable::Make(1, 1);
  return models::cf::TrainCf(
      o, [&](const sched::JobFactory& f) { return sched::RunLocal(roles, lo, f); });
}

// ~600k rows (about 19 MB): user ids of 10 bytes and more, item ids of 8 (both ways the
// id dictionary compares), with a bad row (one field) at a quarter and at three quarters.
std::string WriteLargeFile(const fs::path& dir, std::size_t* bad_line_1, std::size_t* bad_line_2) {
  auto rows = MakeInteractions(12000, 2000, 100, 31);
  for (auto& r : rows) r.user = "user-" + r.user.substr(5) + "0000";
  const fs::path path = dir / "interactions.csv";
  std::ofstream f(path);
  f << "user_id,item_id,rating,timestamp\n";
  *bad_line_1 = rows.size() / 4 + 2;  // header = line 1
  *bad_line_2 = rows.size() * 3 / 4 + 3;
  std::size_t line = 1;
  for (const auto& r : rows) {
    if (++line == *bad_line_1 || line == *bad_line_2) {
      f << "lonely-field\n";
      ++line;
    }
    f << r.user << "," << r.item << "," << r.rating << "," << r.timestamp << "\n";
  }
  f.close();
  EXPECT_GT(fs::file_size(path), std::uintmax_t{17} << 20);
  return path.string();
}

TEST(ParallelRead, PiecesOnTwoThreadsGiveWhatOneReaderGives) {
  const auto dir = TempDir("parallel_read");
  std::size_t bad1 = 0, bad2 = 0;
  const std::string file = WriteLargeFile(dir, &bad1, &bad2);
  models::cf::CfOptions o;
  o.train = file;
  o.neighbors = 10;
  o.top_n = 5;
  o.skip_bad_rows = true;
  o.split = models::cf::SplitKind::kLeaveLastOut;
  std::map<int, std::string> neighbors, recs, model;
  std::map<int, nlohmann::json> data, evaluation;
  for (int threads : {1, 2}) {
    o.out = (dir / ("t" + std::to_string(threads))).string();
    Status s = Train(o, threads);
    ASSERT_TRUE(s.ok()) << s.ToString();
    neighbors[threads] = Slurp(fs::path(o.out) / "neighbors.csv");
    recs[threads] = Slurp(fs::path(o.out) / "recommendations.csv");
    model[threads] = Slurp(fs::path(o.out) / "model.ecps");
    const auto metrics = nlohmann::json::parse(Slurp(fs::path(o.out) / "metrics.json"));
    data[threads] = metrics["data"];
    evaluation[threads] = metrics["evaluation"];
  }
  EXPECT_GT(std::count(recs[1].begin(), recs[1].end(), '\n'), 50000);
  EXPECT_TRUE(neighbors[1] == neighbors[2]);
  EXPECT_TRUE(recs[1] == recs[2]);
  EXPECT_TRUE(model[1] == model[2]);
  EXPECT_EQ(data[1], data[2]);
  EXPECT_EQ(evaluation[1], evaluation[2]);
  EXPECT_GT(data[2]["evaluated_users"].get<int>(), 10000);
  EXPECT_EQ(data[2]["bad_rows_skipped"], 2);
  ASSERT_EQ(data[2]["bad_row_examples"].size(), 2u);
  const auto& examples = data[2]["bad_row_examples"];
  EXPECT_NE(examples[0].get<std::string>().find(":" + std::to_string(bad1) + ":"),
            std::string::npos)
      << examples;
  EXPECT_NE(examples[1].get<std::string>().find(":" + std::to_string(bad2) + ":"),
            std::string::npos);

  // Without skipping, the first bad row stops the run, whichever thread read it.
  o.skip_bad_rows = false;
  std::map<int, std::string> error;
  for (int threads : {1, 2}) {
    o.out = (dir / ("e" + std::to_string(threads))).string();
    Status s = Train(o, threads);
    ASSERT_FALSE(s.ok());
    error[threads] = s.message();
  }
  EXPECT_EQ(error[1], error[2]);
  EXPECT_NE(error[2].find(":" + std::to_string(bad1) + ":"), std::string::npos) << error[2];
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ecps
