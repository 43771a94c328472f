// Numbers that would poison an lr model, and key spaces that would not fit in memory, through
// the real `ecps` binary: refused with file:line and the column or the figure (exit 2), and
// no output folder left behind.
#include <chrono>
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "launch/memory.h"
#include "models/lr/lr_job.h"
#include "tests/common/run_ecps.h"
#include "tests/lr/lr_test_util.h"

namespace ecps {
namespace {

using testing::RunEcps;
using testing::TempDir;
using testing::WriteText;

// 200 rows of a CSV with a numeric column x (1..4) and a category c; the label follows x.
std::string ShopCsv(const std::string& bad_x = "", int bad_row = 0) {
  std::string s = "x,c,y\n";
  for (int r = 1; r <= 200; ++r) {
    const int x = 1 + r % 4;
    s += fmt::format("{},{},{}\n", r == bad_row ? bad_x : std::to_string(x), r % 3 == 0 ? "a" : "b", x > 2 ? 1 : 0);
  }
  return s;
}

// 200 libsvm rows: feature 1 with value `scale` or 2 * `scale`, one of seven others, and
// `bad_token` appended to row `bad_row`.
std::string Svm(const std::string& bad_token = "", int bad_row = 0, double scale = 1) {
  std::string s;
  for (int r = 1; r <= 200; ++r) {
    s += fmt::format("{} 1:{:g} {}:1{}\n", r % 2, scale * (1 + r % 2), 2 + r % 7, r == bad_row ? " " + bad_token : "");
  }
  return s;
}

TEST(LrNumbers, HugeCsvValueIsRefusedWithFileLineAndColumn) {
  // Unchecked, -1e300 becomes -inf as a float: exit 0 and a model whose weights are all NaN.
  TempDir dir("num_csv");
  WriteText(dir / "train.csv", ShopCsv("-1e300", 2));
  const auto run = RunEcps(fmt::format("train lr --local --quiet --format csv --label-column y --train {} --out {}",
                                       dir / "train.csv", dir / "out"));
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find(dir / "train.csv:3"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("column \"x\": \"-1e300\" is beyond the limit on data values (|x| <= 1e+15)"),
            std::string::npos)
      << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

TEST(LrNumbers, LibsvmValueBeyondTheLimitIsRefused) {
  // 1e30 fits a float: unchecked, it would be trained on.
  TempDir dir("num_svm");
  WriteText(dir / "train.svm", Svm("9:1e30", 5));
  const auto run = RunEcps(fmt::format("train lr --local --quiet --train {} --out {}", dir / "train.svm", dir / "out"));
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find(dir / "train.svm:5: feature \"9:1e30\": \"1e30\" is beyond the limit"), std::string::npos)
      << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

TEST(LrNumbers, NanAndInfTokensAreRefusedInLibsvmAndLibffm) {
  TempDir dir("num_nan");
  for (const char* token : {"9:nan", "9:inf", "9:-inf", "9:NaN"}) {
    WriteText(dir / "train.svm", Svm(token, 7));
    const auto run = RunEcps(fmt::format("train lr --local --quiet --train {} --out {}", dir / "train.svm", dir / "out"));
    EXPECT_EQ(run.exit_code, 2) << token << ": " << run.err;
    EXPECT_NE(run.err.find(fmt::format("train.svm:7: feature \"{}\"", token)), std::string::npos) << run.err;
  }
  std::string ffm;
  for (int r = 1; r <= 100; ++r) ffm += fmt::format("{} 0:1:1 1:{}:{}\n", r % 2, r % 5, r == 4 ? "inf" : "1");
  WriteText(dir / "train.ffm", ffm);
  const auto run = RunEcps(
      fmt::format("train lr --local --quiet --format libffm --train {} --out {}", dir / "train.ffm", dir / "out"));
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("train.ffm:4: feature \"1:4:inf\": value is not finite"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

TEST(LrNumbers, DivergingTrainingStopsWithoutWritingTheModel) {
  // A step so large that the float weights overflow at the first update (1e30 x a gradient
  // of ~5e14, values within the limit). Unchecked: exit 0 and a model of inf/NaN weights.
  TempDir dir("num_diverge");
  WriteText(dir / "train.svm", Svm("", 0, 5e14));
  const auto run = RunEcps(fmt::format("train lr --local --quiet --algorithm sgd --learning-rate 1e30 --holdout 0 "
                                       "--train {} --out {}",
                                       dir / "train.svm", dir / "out"));
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("training diverged"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("--learning-rate"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

TEST(LrNumbers, KeySpaceBeyondAvailableMemoryIsRefusedBeforeStarting) {
  // 2^30 keys with 1001 open clock buffers per key (ssp): terabytes, more than any machine
  // has: refused before the servers allocate anything.
  TempDir dir("num_mem");
  WriteText(dir / "train.svm", Svm());
  const auto t0 = std::chrono::steady_clock::now();
  const auto run = RunEcps(fmt::format("train lr --local --quiet --hash-bits 30 --consistency ssp --staleness 1000 "
                                       "--train {} --out {}",
                                       dir / "train.svm", dir / "out"));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("this job needs about 3.9 TiB"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("1073741825 keys x 4016 bytes"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("lower --hash-bits (now 30)"), std::string::npos) << run.err;
  EXPECT_LT(seconds, 60.0);  // no table was allocated
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

TEST(LrNumbers, ModerateKeySpaceRuns) {
  TempDir dir("num_moderate");
  WriteText(dir / "train.svm", Svm());
  const auto run =
      RunEcps(fmt::format("train lr --local --quiet --hash-bits 20 --train {} --out {}", dir / "train.svm", dir / "out"));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "out/model.bin"));
}

TEST(LrMemory, EstimateCountsWeightsRuleStateAndClockBuffers) {
  using models::lr::Algorithm;
  const std::uint64_t keys = (std::uint64_t{1} << 30) + 1;
  // FTRL under BSP: weight, z and n, one clock buffer: 16 bytes a key (the 17.5 GB seen for
  // --hash-bits 30 with 2 workers).
  const auto ftrl = models::lr::EstimateLrMemory(keys, Algorithm::kFtrl, 0, 2);
  EXPECT_EQ(ftrl.server_bytes_per_key, 16u);
  EXPECT_EQ(ftrl.servers_bytes, keys * 16);
  EXPECT_EQ(ftrl.worker_bytes, ((keys + 63) / 64) * (16 + 2 * 20));
  EXPECT_EQ(models::lr::EstimateLrMemory(keys, Algorithm::kSgd, 0, 1).server_bytes_per_key, 8u);
  EXPECT_EQ(models::lr::EstimateLrMemory(keys, Algorithm::kAdaGrad, 3, 1).server_bytes_per_key, 4u * (1 + 1 + 4));
  // DP-SGD: a float per key besides (the summed gradient of every key, noised in place).
  EXPECT_EQ(models::lr::EstimateLrMemory(keys, Algorithm::kSgd, 0, 1, true).server_bytes_per_key, 8u + 4u + 8u);
  EXPECT_EQ(models::lr::EstimateLrMemory(keys, Algorithm::kFtrl, -1, 1).server_bytes_per_key, 4u * (1 + 2 + 2));
}

TEST(LrMemory, MemAvailableIsReadFromMeminfo) {
  EXPECT_EQ(launch::ParseMemAvailable("MemTotal:       24731408 kB\nMemFree:  1 kB\nMemAvailable:   16434696 kB\n"),
            std::uint64_t{16434696} * 1024);
  EXPECT_FALSE(launch::ParseMemAvailable("MemTotal:       24731408 kB\n").has_value());
  EXPECT_FALSE(launch::ParseMemAvailable("MemAvailable: lots\n").has_value());
  const auto here = launch::AvailableMemoryBytes();
  ASSERT_TRUE(here.has_value());  // Linux
  EXPECT_GT(*here, 0u);
}

TEST(LrMemory, LargeNeedsAreLoggedAndTooLargeOnesRefused) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  launch::MemoryNeed need{std::uint64_t{3} << 30, "the tables", "lower --hash-bits"};
  EXPECT_TRUE(launch::CheckMemoryNeed(need, std::uint64_t{100} << 30).ok());
  EXPECT_NE(log.str().find("this job needs about 3.0 GiB of memory on this machine (the tables; 100.0 GiB available)"),
            std::string::npos)
      << log.str();
  log.str("");
  need.bytes = std::uint64_t{1} << 20;
  EXPECT_TRUE(launch::CheckMemoryNeed(need, std::uint64_t{100} << 30).ok());
  EXPECT_TRUE(log.str().empty()) << log.str();
  need.bytes = std::uint64_t{3} << 30;
  const Status refused = launch::CheckMemoryNeed(need, std::uint64_t{2} << 30);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.message(),
            "this job needs about 3.0 GiB of memory on this machine (the tables), more than the 2.0 GiB "
            "available (MemAvailable); lower --hash-bits");
  spdlog::set_default_logger(previous);
}

}  // namespace
}  // namespace ecps
