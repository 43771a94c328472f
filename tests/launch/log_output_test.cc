// The log as a user reads it, through the real ecps binary: --log-format json gives one JSON
// object per line on stderr and in --log-file; --log-file appends (under mpirun a file per
// rank); without a terminal a known total is logged once per 10%; on a terminal (a pty made
// by `script`) the progress bar never shares a line with a log line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "tests/pipeline/pipeline_support.h"

namespace ecps::testing {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

class LogOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream users(dir_ / "users.csv");
    users << "id,a,b\n";
    // (column a not whole numbers: 7 distinct integers would draw the --categorical warning)
    for (int i = 0; i < 400; ++i) users << "u" << i << "," << i % 7 + 0.25 << "," << (i * 3) % 11 << "\n";
    std::ofstream svm(dir_ / "clicks.svm");
    for (int i = 0; i < 3000; ++i) svm << (i % 3 == 0) << " " << 1 + i % 5 << ":1 " << 7 + i % 2 << ":0.5\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  // A k-means training on users.csv into `out` (add --local or run it under mpirun).
  std::string KMeansJob(const std::string& out, const std::string& extra) const {
    return fmt::format("{} train kmeans --data {} --id-column id --features a,b -k 3 --out {} {}",
                       ECPS_BINARY, Path("users.csv"), Path(out), extra);
  }
  std::string KMeans(const std::string& out, const std::string& extra) const {
    return KMeansJob(out, "--local " + extra);
  }

  fs::path dir_;
};

TEST_F(LogOutput, JsonFormatGivesOneObjectPerLineOnStderrAndInTheFile) {
  // Standard error only (stdout has the run's summary).
  CommandRun r = InRepo(
      "{ " + KMeans("km", fmt::format("--log-format json --log-file {}", Path("log"))) + " >/dev/null; }");
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto err = Lines(r.out), file = Lines(Slurp(dir_ / "log"));
  ASSERT_GE(err.size(), 4u) << r.out;
  EXPECT_EQ(err, file) << "the file holds the lines stderr shows";
  const std::regex time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  for (const auto& line : err) {
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
    EXPECT_TRUE(std::regex_match(j.at("time").get<std::string>(), time)) << line;
    EXPECT_EQ(j.at("level"), "info") << line;
    EXPECT_FALSE(j.at("logger").get<std::string>().empty()) << line;
    EXPECT_FALSE(j.at("message").get<std::string>().empty()) << line;
  }
  // A second run appends; a folder as the file is refused before anything runs.
  ASSERT_EQ(InRepo(KMeans("km2", fmt::format("--log-format json --log-file {}", Path("log")))).rc, 0);
  EXPECT_EQ(Lines(Slurp(dir_ / "log")).size(), 2 * file.size());
  CommandRun bad = InRepo(KMeans("km3", fmt::format("--log-file {}", dir_.string())));
  EXPECT_EQ(bad.rc, 3) << bad.out;
  EXPECT_NE(bad.out.find(fmt::format("--log-file {}: cannot open it for appending", dir_.string())),
            std::string::npos)
      << bad.out;
  EXPECT_FALSE(fs::exists(dir_ / "km3"));
  CommandRun format = InRepo(KMeans("km4", "--log-format xml"));
  EXPECT_EQ(format.rc, 2) << format.out;
}

TEST_F(LogOutput, WarningsBeforeTheJobStartsFollowTheLogOptions) {
  // Column c holds 3 integer codes: the --categorical warning is logged while the command
  // reads the data's columns, before the job runs, as JSON and into the log file as well.
  {
    std::ofstream codes(dir_ / "codes.csv");
    codes << "id,a,c\n";
    for (int i = 0; i < 300; ++i) codes << "u" << i << "," << i * 0.5 << "," << i % 3 << "\n";
  }
  CommandRun r = InRepo(fmt::format(  // standard error only (stdout has the run's summary)
      "{{ {} train kmeans --data {} --id-column id --features a,c -k 2 --local --out {} "
      "--log-format json --log-file {} >/dev/null; }}",
      ECPS_BINARY, Path("codes.csv"), Path("km"), Path("log")));
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto err = Lines(r.out);
  EXPECT_EQ(err, Lines(Slurp(dir_ / "log")));
  int warnings = 0;
  for (const auto& line : err) {
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
    if (j.at("level") == "warning") {
      ++warnings;
      EXPECT_NE(j.at("message").get<std::string>().find("--categorical c"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(warnings, 1) << r.out;
}

TEST_F(LogOutput, CommandsWithoutClusterOptionsTakeTheSameLoggingOptions) {
  // generate logs one info line; -q leaves nothing, --log-format json makes it an object.
  CommandRun plain = InRepo(fmt::format("{} generate --users 50 --out {}", ECPS_BINARY, Path("g1")));
  ASSERT_EQ(plain.rc, 0) << plain.out;
  ASSERT_NE(plain.out.find("info: generated"), std::string::npos) << plain.out;
  CommandRun quiet = InRepo(fmt::format("{} generate -q --users 50 --out {}", ECPS_BINARY, Path("g2")));
  ASSERT_EQ(quiet.rc, 0) << quiet.out;
  EXPECT_EQ(quiet.out, "");
  CommandRun json = InRepo(fmt::format("{} generate --users 50 --out {} --log-format json --log-file {}",
                                       ECPS_BINARY, Path("g3"), Path("glog")));
  ASSERT_EQ(json.rc, 0) << json.out;
  const auto lines = Lines(json.out);
  ASSERT_EQ(lines.size(), 1u) << json.out;
  EXPECT_EQ(nlohmann::json::parse(lines[0]).at("level"), "info");
  EXPECT_EQ(Lines(Slurp(dir_ / "glog")), lines);
  // The pipeline's own stage lines obey -q as well.
  CommandRun pipeline = InRepo(fmt::format("{} pipeline --config examples/demo.toml --stages generate -q --out {}",
                                           ECPS_BINARY, Path("p")));
  ASSERT_EQ(pipeline.rc, 0) << pipeline.out;
  EXPECT_EQ(pipeline.out.find("info"), std::string::npos) << pipeline.out;
  for (const char* cmd : {"predict", "segment", "recommend", "similar", "serve", "pseudonymize",
                          "unseal", "seal"}) {
    CommandRun help = InRepo(fmt::format("{} {} --help", ECPS_BINARY, cmd));
    EXPECT_NE(help.out.find("-q,--quiet"), std::string::npos) << cmd;
    EXPECT_NE(help.out.find("--log-format"), std::string::npos) << cmd;
  }
}

TEST_F(LogOutput, WithoutATerminalAKnownTotalIsLoggedOncePerTenPercent) {
  CommandRun r = InRepo(fmt::format(
      "{} train lr --train {} --local --epochs 30 --batch-size 10 --out {} --log-file {}",
      ECPS_BINARY, Path("clicks.svm"), Path("lr"), Path("log")));
  ASSERT_EQ(r.rc, 0) << r.out;
  // Lines before the end: one per 10% step reached (the first at >= 10%, each at a higher
  // step), each with its rate and time left; then the final 100% line.
  std::vector<int> percents;
  const std::regex line(R"(\] info: lr \d+/\d+ \((\d+)%\) [0-9.]+s (.*))");
  std::smatch m;
  for (const auto& l : Lines(Slurp(dir_ / "log"))) {
    if (!std::regex_search(l, m, line)) continue;
    const int percent = std::stoi(m[1].str());
    if (percent < 100) {
      EXPECT_NE(m[2].str().find("/s, "), std::string::npos) << "no rate: " << l;
      EXPECT_NE(m[2].str().find("s left"), std::string::npos) << "no time left: " << l;
    }
    if (!percents.empty()) {
      EXPECT_GE(percent / 10, percents.back() / 10 + 1) << l;
    }
    percents.push_back(percent);
  }
  ASSERT_GE(percents.size(), 2u) << r.out;
  EXPECT_LE(percents.size(), 10u) << r.out;
  EXPECT_GE(percents.front(), 10) << r.out;
  EXPECT_EQ(percents.back(), 100) << r.out;
  EXPECT_EQ(r.out.find('\r'), std::string::npos) << "no bar without a terminal";
}

TEST_F(LogOutput, OnATerminalTheBarNeverSharesALineWithALogLine) {
  if (std::system("command -v script > /dev/null") != 0) GTEST_SKIP() << "no `script` (util-linux)";
  const std::string typescript = Path("tty");
  CommandRun r = InRepo(fmt::format(
      "script -qfec \"{} train lr --train {} --local --epochs 30 --batch-size 10 --out {} "
      "--log-level debug\" {} > /dev/null",
      ECPS_BINARY, Path("clicks.svm"), Path("lr"), typescript));
  ASSERT_EQ(r.rc, 0) << r.out;
  const std::string tty = Slurp(typescript);
  ASSERT_NE(tty.find("\r\033[K"), std::string::npos) << "no bar was drawn:\n" << tty;
  // Every log line begins a line or follows the bar's erasure.
  std::size_t lines = 0;
  for (std::size_t at = tty.find("] info: "); at != std::string::npos;
       at = tty.find("] info: ", at + 1)) {
    const std::size_t start = tty.rfind("[20", at);
    ASSERT_NE(start, std::string::npos);
    const bool clean = start == 0 || tty[start - 1] == '\n' ||
                       (start >= 3 && tty.compare(start - 3, 3, "\033[K") == 0);
    EXPECT_TRUE(clean) << "a log line joined the bar: "
                       << tty.substr(start > 80 ? start - 80 : 0, 160);
    ++lines;
  }
  EXPECT_GE(lines, 3u) << tty;
}

TEST_F(LogOutput, UnderMpirunEachRankAppendsToItsOwnFile) {
  CommandRun r = InRepo(fmt::format(
      "OMPI_MCA_pml=ob1 timeout 180 mpirun --allow-run-as-root --oversubscribe -np 3 {}",
      KMeansJob("km", "--servers 1 --log-file " + Path("log"))));
  ASSERT_EQ(r.rc, 0) << r.out;
  for (const std::string name : {"log", "log.rank1", "log.rank2"}) {
    ASSERT_TRUE(fs::exists(dir_ / name)) << name << "\n" << r.out;
  }
  // Rank 0's file holds the scheduler's lines and no other rank's (ranks 1 and 2 log nothing
  // at info in a good k-means run, but their files are opened and theirs alone).
  const std::string log = Slurp(dir_ / "log");
  EXPECT_NE(log.find("[r0 scheduler] info: kmeans: read 400 rows"), std::string::npos) << log;
  EXPECT_EQ(log.find("[r1 "), std::string::npos) << log;
  EXPECT_EQ(log.find("[r2 "), std::string::npos) << log;
}

}  // namespace
}  // namespace ecps::testing
