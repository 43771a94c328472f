// The real `ecps` binary on inputs that used to abort it: bytes that are not UTF-8 in a CSV
// header, a data value or an output path (all reach metrics.json).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/common/files.h"

namespace {

namespace fs = std::filesystem;

struct EcpsRun {
  int rc = -1;
  std::string out;  // stdout and stderr
};

// Runs ecps with `args` (a shell word list; single-quote paths) and at most 120 s.
EcpsRun Ecps(const std::string& args) {
  EcpsRun r;
  const std::string cmd = "timeout 120 " + std::string(ECPS_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  const int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

fs::path TempDir(const std::string& name) { return ecps::testing::FreshDir("badinput_" + name); }
using ecps::testing::ReadBytes;
using ecps::testing::WriteBytes;

std::string Q(const fs::path& p) { return "'" + p.string() + "'"; }

const std::string kBad = "\xff\xfe";  // never valid UTF-8

TEST(NonUtf8, LrWithSuchAHeaderValuePathAndBadRowFinishesWithValidJson) {
  const auto dir = TempDir("lr");
  std::string csv = "x" + kBad + ",c,y\n";
  for (int i = 0; i < 60; ++i) {
    csv += std::to_string(i % 7) + "," + (i % 3 ? "b" + kBad : std::string("a")) + "," +
           std::to_string(i % 2) + "\n";
  }
  csv += "1,row" + kBad + "\n";  // a bad row: its text goes to bad_row_examples
  const fs::path train = dir / ("train" + kBad + ".csv");
  WriteBytes(train, csv);
  const fs::path out = dir / ("out" + kBad);
  const EcpsRun r =
      Ecps("train lr --local --quiet --format csv --label-column y --train " + Q(train) +
           " --skip-bad-rows --l1 0 --export-weights both --epochs 1 --out " + Q(out));
  ASSERT_EQ(r.rc, 0) << r.out;
  for (const char* f : {"metrics.json", "weights.json"}) {
    const std::string text = ReadBytes(out / f);
    EXPECT_TRUE(nlohmann::json::accept(text)) << f;
    EXPECT_NE(text.find("\xef\xbf\xbd"), std::string::npos) << f << ": no U+FFFD for the bad bytes";
  }
}

TEST(NonUtf8, KMeansWithSuchAColumnAndItemCfWithSuchIdsFinish) {
  const auto dir = TempDir("km_cf");
  std::string csv = "id,age" + kBad + "\n";
  for (int i = 0; i < 40; ++i) csv += "u" + std::to_string(i) + "," + std::to_string(i % 9) + "\n";
  WriteBytes(dir / "users.csv", csv);
  EcpsRun r =
      Ecps("train kmeans --local --quiet --data " + Q(dir / "users.csv") +
           " --id-column id --features 'age" + kBad + "' --k 2 --out " + Q(dir / ("km" + kBad)));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(nlohmann::json::accept(ReadBytes(dir / ("km" + kBad) / "metrics.json")));

  std::string inter = "user,item\n";
  for (int u = 0; u < 30; ++u) {
    for (int t = 0; t < 4; ++t)
      inter += "u" + std::to_string(u) + ",i" + kBad + std::to_string((u + t) % 11) + "\n";
  }
  WriteBytes(dir / ("inter" + kBad + ".csv"), inter);
  r = Ecps("train itemcf --local --quiet --train " + Q(dir / ("inter" + kBad + ".csv")) +
           " --out " + Q(dir / ("cf" + kBad)));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(nlohmann::json::accept(ReadBytes(dir / ("cf" + kBad) / "metrics.json")));
}

}  // namespace
