#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "models/common/binary_metrics.h"
#include "models/common/model_file.h"
#include "models/common/output.h"

namespace ecps::models {
namespace {
namespace fs = std::filesystem;

fs::path TempDir() {
  auto d = fs::temp_directory_path() / ("ecps_common_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

TEST(BinaryMetrics, AucWithTiesByHand) {
  // Positives score {0.9, 0.5, 0.5}; negatives {0.5, 0.2}. Pairs: (0.9 beats both) = 2,
  // (0.5 vs 0.5 tie = 0.5, beats 0.2 = 1) twice = 3 -> 5 / 6.
  std::vector<double> s{0.9, 0.5, 0.5, 0.5, 0.2};
  std::vector<int> y{1, 1, 1, 0, 0};
  EXPECT_DOUBLE_EQ(ExactAuc(ScoreCounts::From(s, y)), 5.0 / 6.0);
}

TEST(BinaryMetrics, MergedPartsEqualTheWhole) {
  std::vector<double> s{0.1, 0.4, 0.35, 0.8, 0.4, 0.7, 0.1, 0.9};
  std::vector<int> y{0, 0, 1, 1, 1, 0, 1, 1};
  auto whole = ScoreCounts::From(s, y);
  auto a = ScoreCounts::From(std::span(s).first(3), std::span(y).first(3));
  auto b = ScoreCounts::From(std::span(s).subspan(3), std::span(y).subspan(3));
  a.Merge(b);
  EXPECT_EQ(a.scores, whole.scores);
  EXPECT_EQ(a.pos, whole.pos);
  EXPECT_EQ(a.neg, whole.neg);
  EXPECT_DOUBLE_EQ(ExactAuc(a), ExactAuc(whole));
  EXPECT_TRUE(std::isnan(ExactAuc(ScoreCounts::From(std::span(s).first(1), std::span(y).first(1)))));
}

TEST(ModelFile, RoundTripAndEveryRefusal) {
  auto dir = TempDir();
  const std::string path = (dir / "m.bin").string();
  std::vector<double> w{1.5, -2, 3};
  ASSERT_TRUE(SaveModel(path, "lr", 1, w).ok());
  std::vector<double> back;
  ASSERT_TRUE(LoadModel(path, "lr", 1, &back).ok());
  EXPECT_EQ(back, w);

  EXPECT_NE(LoadModel(path, "kmeans", 1, &back).message().find("this is a lr model; expected a kmeans model"),
            std::string::npos);
  EXPECT_NE(LoadModel(path, "lr", 2, &back).message().find("model format version 1, but this ecps reads version 2"),
            std::string::npos);
  auto size = fs::file_size(path);
  fs::resize_file(path, size - 3);
  EXPECT_NE(LoadModel(path, "lr", 1, &back).message().find("truncated"), std::string::npos);
  ASSERT_TRUE(SaveModel(path, "lr", 1, w).ok());
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 2));
    f.put('\x7f');
  }
  EXPECT_NE(LoadModel(path, "lr", 1, &back).message().find("checksum mismatch"), std::string::npos);
  std::ofstream(path) << "hello";
  EXPECT_NE(LoadModel(path, "lr", 1, &back).message().find("not an ecps model file"), std::string::npos);
  EXPECT_EQ(LoadModel((dir / "none.bin").string(), "lr", 1, &back).code(), StatusCode::kNotFound);
  fs::remove_all(dir);
}

TEST(Output, AtomicWriterLeavesNothingHalfWritten) {
  auto dir = TempDir();
  const std::string path = (dir / "out.csv").string();
  {
    auto w = AtomicWriter::Open(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("a,b\n").ok());
    EXPECT_FALSE(fs::exists(path)) << "visible before commit";
  }  // dropped without commit: nothing left
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 0);
  ASSERT_TRUE(WriteFileAtomic(path, "x\n").ok());
  auto crc = FileCrc32(path);
  ASSERT_TRUE(crc.ok());
  EXPECT_EQ(crc->first, Crc32("x\n"));
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);  // the standard check value
  EXPECT_EQ(PrepareOutputDir("/proc/ecps_cannot").code(), StatusCode::kIoError);
  fs::remove_all(dir);
}

std::set<std::string> NamesIn(const fs::path& dir) {
  std::set<std::string> s;
  for (const auto& e : fs::directory_iterator(dir)) s.insert(e.path().filename().string());
  return s;
}

TEST(StagedOutput, ANewFolderAppearsWholeOnPublish) {
  const auto dir = TempDir() / "staged_new";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string out = (dir / "out").string();
  {
    auto staged = StagedOutput::Begin(out + "/");
    ASSERT_TRUE(staged.ok()) << staged.status().ToString();
    ASSERT_TRUE(PrepareOutputDir(out).ok());
    ASSERT_TRUE(WriteFileAtomic(out + "/a.txt", "a\n").ok());
    auto log = JsonLinesLog::Open(out + "/metrics.jsonl");
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append({{"i", 1}}).ok());
    EXPECT_FALSE(fs::exists(out)) << "visible before Publish";
    EXPECT_EQ(NamesIn(dir), (std::set<std::string>{".out.ecps-lock", ".out.ecps-staging"}));
    ASSERT_TRUE((*staged)->Publish().ok());
  }
  EXPECT_EQ(NamesIn(dir), std::set<std::string>{"out"});
  EXPECT_EQ(NamesIn(out), (std::set<std::string>{"a.txt", "metrics.jsonl"}));
  fs::remove_all(dir);
}

TEST(StagedOutput, UnpublishedLeavesAnExistingFolderAsItWasAndNothingBeside) {
  const auto dir = TempDir() / "staged_existing";
  fs::remove_all(dir);
  fs::create_directories(dir / "out");
  std::ofstream(dir / "out" / "a.txt") << "old\n";
  std::ofstream(dir / "out" / "keep.txt") << "mine\n";
  const std::string out = (dir / "out").string();
  {
    auto staged = StagedOutput::Begin(out);
    ASSERT_TRUE(staged.ok());
    ASSERT_TRUE(WriteFileAtomic(out + "/a.txt", "new\n").ok());
  }  // dropped: a failed or interrupted run
  EXPECT_EQ(NamesIn(dir), std::set<std::string>{"out"});
  std::ifstream a(dir / "out" / "a.txt");
  std::string line;
  std::getline(a, line);
  EXPECT_EQ(line, "old");
  {
    auto staged = StagedOutput::Begin(out);
    ASSERT_TRUE(staged.ok());
    ASSERT_TRUE(WriteFileAtomic(out + "/a.txt", "new\n").ok());
    ASSERT_TRUE((*staged)->Publish().ok());
  }
  EXPECT_EQ(NamesIn(dir / "out"), (std::set<std::string>{"a.txt", "keep.txt"}));
  std::ifstream b(dir / "out" / "a.txt");
  std::getline(b, line);
  EXPECT_EQ(line, "new");
  fs::remove_all(dir);
}

TEST(StagedOutput, WhatAKilledRunLeftIsClearedByTheNextRun) {
  const auto dir = TempDir() / "staged_killed";
  fs::remove_all(dir);
  fs::create_directories(dir / ".out.ecps-staging");
  std::ofstream(dir / ".out.ecps-staging" / "half.csv") << "a,b\n1,";
  std::ofstream(dir / ".out.ecps-lock") << "12345 on elsewhere\n";  // unlocked: its process died
  const std::string out = (dir / "out").string();
  {
    auto staged = StagedOutput::Begin(out);
    ASSERT_TRUE(staged.ok()) << staged.status().ToString();
    ASSERT_TRUE(WriteFileAtomic(out + "/a.txt", "a\n").ok());
    ASSERT_TRUE((*staged)->Publish().ok());
  }
  EXPECT_EQ(NamesIn(dir), std::set<std::string>{"out"});
  EXPECT_EQ(NamesIn(dir / "out"), std::set<std::string>{"a.txt"});
  fs::remove_all(dir);
}

TEST(StagedOutput, ASecondRunOnTheFolderIsRefusedAndNewParentsAreRemoved) {
  const auto dir = TempDir() / "staged_locked";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string out = (dir / "a" / "b" / "out").string();
  {
    auto first = StagedOutput::Begin(out);
    ASSERT_TRUE(first.ok());
    auto second = StagedOutput::Begin(out);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(second.status().message().find("in use by another ecps run (pid " +
                                             std::to_string(getpid())),
              std::string::npos)
        << second.status().message();
    EXPECT_FALSE(OutputLock::Acquire(out).ok());
  }
  EXPECT_EQ(NamesIn(dir), std::set<std::string>{}) << "folders made for the run stay";
  EXPECT_TRUE(OutputLock::Acquire(out).ok()) << "free again";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ecps::models
