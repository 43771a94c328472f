// sched::Progress without a bar: one line per 10% of a known total, the last from Finish,
// and nothing at all for a step shorter than quiet_first_s.
#include "scheduler/progress.h"

#include "ps/logging.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <string>

namespace ecps::sched {
namespace {

int CountLines(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

spdlog::logger MakeLogger(std::ostringstream& out) {
  // No bar even when the test runs on a terminal: a JSON process log draws none.
  EXPECT_TRUE(ps::ConfigureProcessLog({ps::LogFormat::kJson, ""}).ok());
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_pattern("%v");
  return spdlog::logger("progress-test", sink);
}

TEST(Progress, LogsOneLinePerTenthAndFinish) {
  std::ostringstream out;
  auto log = MakeLogger(out);
  Progress p(log, "rows", 1000);
  for (std::uint64_t done = 1; done <= 1000; ++done) p.Update(done);
  p.Finish();
  // 10%..90% from Update (100% is Finish's), then Finish.
  EXPECT_EQ(CountLines(out.str()), 10) << out.str();
  EXPECT_NE(out.str().find("rows 100/1000 (10%)"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("rows 1000/1000 (100%)"), std::string::npos) << out.str();
}

TEST(Progress, AShortStepBelowQuietFirstSecondsPrintsNothing) {
  std::ostringstream out;
  auto log = MakeLogger(out);
  ProgressOptions o;
  o.quiet_first_s = 3600;
  Progress p(log, "rows", 1000, o);
  for (std::uint64_t done = 1; done <= 1000; ++done) p.Update(done);
  p.Finish();
  EXPECT_EQ(out.str(), "");
}

TEST(Progress, QuietPrintsNothing) {
  std::ostringstream out;
  auto log = MakeLogger(out);
  ProgressOptions o;
  o.quiet = true;
  Progress p(log, "rows", 10, o);
  p.Update(5);
  p.Finish();
  EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace ecps::sched
