// Progress of reading the interactions and of recommending (models/cf/progress.h) in
// single-node mode without a terminal: the scheduler logs a line per 10% of each step from
// the workers' counts, ending at the file's bytes and the user count; quiet logs none.
#include <gtest/gtest.h>
#include <unistd.h>

#include <regex>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>

#include "models/cf/cf_job.h"
#include "scheduler/local_cluster.h"
#include "tests/cf/cf_data.h"
#include "tests/common/quiet_cluster.h"

namespace ecps {
namespace {

using namespace testing_cf;

// Trains `kind` on `train` with 2 workers, every step's progress shown however short it is;
// returns the log.
std::string TrainAndLog(const std::string& kind, const std::string& train, const fs::path& out,
                        bool quiet) {
  models::cf::CfOptions o;
  o.kind = *models::cf::FindChoice(models::cf::kKinds, kind);
  o.train = train;
  o.out = out.string();
  o.quiet = quiet;
  o.progress_after_s = 0;
  std::ostringstream log;
  sched::LocalClusterOptions lo = testing::QuietCluster(0, 120);
  lo.sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  auto roles = *ps::RoleTable::Make(1, 2);
  Status s = models::cf::TrainCf(
      o, [&](const sched::JobFactory& f) { return sched::RunLocal(roles, lo, f); });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return log.str();
}

struct StepLine {
  std::uint64_t done = 0, total = 0;
  int percent = 0;
  std::string rest;
};

// The progress lines of the step whose label ends in `step` ("reading X, bytes").
std::vector<StepLine> StepLines(const std::string& log, const std::string& step) {
  const std::regex line("info\\]?:? \\w+ " + step + R"( (\d+)/(\d+) \((\d+)%\) (.*))");
  std::vector<StepLine> out;
  std::istringstream in(log);
  std::smatch m;
  for (std::string l; std::getline(in, l);) {
    if (!std::regex_search(l, m, line)) continue;
    out.push_back({std::stoull(m[1].str()), std::stoull(m[2].str()), std::stoi(m[3].str()),
                   m[4].str()});
  }
  return out;
}

// Lines at increasing 10% steps, each with its rate and time left, then one at 100%.
void ExpectTenthsThenTotal(const std::vector<StepLine>& lines, std::uint64_t total,
                           const std::string& log) {
  ASSERT_GE(lines.size(), 6u) << log;
  int last = 0;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_GT(lines[i].percent, last) << log;
    EXPECT_LT(lines[i].percent, 100) << log;
    EXPECT_EQ(lines[i].total, total) << log;
    EXPECT_NE(lines[i].rest.find("/s, "), std::string::npos) << lines[i].rest;
    EXPECT_NE(lines[i].rest.find("s left"), std::string::npos) << lines[i].rest;
    last = lines[i].percent;
  }
  EXPECT_EQ(lines.back().done, total) << log;
  EXPECT_EQ(lines.back().total, total) << log;
  EXPECT_EQ(lines.back().percent, 100) << log;
}

class CfProgress : public ::testing::TestWithParam<const char*> {};

TEST_P(CfProgress, ReadingAndRecommendingAreLoggedPerTenPercent) {
  if (isatty(STDERR_FILENO)) GTEST_SKIP() << "on a terminal the progress is a bar";
  const std::string kind = GetParam();
  const auto dir = TempDir("progress_" + kind);
  // 20000 users with 2..7 rows each: every progress message moves a step by under 5%, so
  // each 10% step gets its line.
  const auto file =
      WriteInteractions(dir / "interactions.csv", MakeInteractions(20000, 400, 6, 11), true);
  const std::string log = TrainAndLog(kind, file, dir / "out", false);
  ExpectTenthsThenTotal(StepLines(log, "reading " + file + ", bytes"), fs::file_size(file), log);
  ExpectTenthsThenTotal(StepLines(log, "recommending, users"), 20000, log);
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Kinds, CfProgress, ::testing::Values("itemcf", "usercf"));

TEST(CfProgressQuiet, QuietLogsNoProgress) {
  const auto dir = TempDir("progress_quiet");
  const auto file =
      WriteInteractions(dir / "interactions.csv", MakeInteractions(20000, 400, 6, 11), true);
  const std::string log = TrainAndLog("itemcf", file, dir / "out", true);
  EXPECT_EQ(log.find("reading"), std::string::npos) << log;
  EXPECT_EQ(log.find("recommending"), std::string::npos) << log;
  EXPECT_EQ(log.find("similarity blocks"), std::string::npos) << log;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ecps
