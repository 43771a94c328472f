// The real `ecps` binary on inputs that must not abort it: bytes that are not UTF-8 in a CSV
// header, a data value or an output path (all reach metrics.json), a model path that is a
// folder or a device; and item-CF with more neighbour slots than real neighbours, whose
// model must hold only the real ones.
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

TEST(ModelPath, AFolderOrADeviceIsABadInputNotACrash) {
  const auto dir = TempDir("model_path");
  fs::create_directories(dir / "m" / "model.bin");
  fs::create_directories(dir / "c" / "model.ecps");
  WriteBytes(dir / "users.csv", "id,age\nu1,3\n");
  EcpsRun r =
      Ecps("segment --model " + Q(dir / "m") + " --data " + Q(dir / "users.csv") + " --out -");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("model.bin: is a folder, not a model file"), std::string::npos) << r.out;
  r = Ecps("predict --model " + Q(dir / "m") + " --data " + Q(dir / "users.csv") + " --out -");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("is a folder"), std::string::npos) << r.out;
  r = Ecps("recommend --model " + Q(dir / "c") + " --user u1");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("model.ecps: is a folder, not a model file"), std::string::npos) << r.out;
  r = Ecps("similar --model " + Q(dir / "c") + " --item x");
  EXPECT_EQ(r.rc, 2) << r.out;
  r = Ecps("segment --model /dev/zero --data " + Q(dir / "users.csv") +
           " --out -");  // an endless stream
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("/dev/zero: not a regular file"), std::string::npos) << r.out;
}

TEST(CfNeighbours, MoreSlotsThanRealNeighboursStoreOnlyTheRealOnes) {
  // 12 items, each with at most 11 neighbours: --neighbors 11 and 10000 must give the same
  // lists, recommendations and answers, and models of the same size.
  const auto dir = TempDir("cf_slots");
  std::string inter = "user,item\n";
  for (int u = 0; u < 40; ++u) {
    for (int t = 0; t < 3 + u % 4; ++t)
      inter += "u" + std::to_string(u) + ",i" + std::to_string((u * 7 + t * 3) % 12) + "\n";
  }
  WriteBytes(dir / "inter.csv", inter);
  std::string reference[5];
  std::uintmax_t sizes[2] = {0, 0};
  int run = 0;
  for (const char* k : {"11", "10000"}) {
    const fs::path out = dir / ("k" + std::string(k));
    EcpsRun r = Ecps("train itemcf --local --quiet --train " + Q(dir / "inter.csv") +
                     " --neighbors " + k + " --out " + Q(out));
    ASSERT_EQ(r.rc, 0) << r.out;
    sizes[run] = fs::file_size(out / "model.ecps");
    const std::string answers[5] = {ReadBytes(out / "neighbors.csv"),
                                    ReadBytes(out / "recommendations.csv"),
                                    Ecps("similar --model " + Q(out) + " --item i3 -n 20").out,
                                    Ecps("recommend --model " + Q(out) + " --user u5 -n 20").out,
                                    Ecps("recommend --model " + Q(out) + " --user u38 -n 5").out};
    for (int a = 0; a < 5; ++a) {
      if (run == 0) {
        reference[a] = answers[a];
        EXPECT_GT(answers[a].size(), 20u) << a;
      } else {
        EXPECT_EQ(answers[a], reference[a]) << "answer " << a << " differs with --neighbors " << k;
      }
    }
    ++run;
  }
  // Dense slots would take 12 x 10000 x 8 bytes (~1 MB).
  EXPECT_EQ(sizes[1], sizes[0]) << "the model stores empty neighbour slots";
  EXPECT_LT(sizes[1], 20000u);
}

}  // namespace
