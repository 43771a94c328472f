#include "util/output_folder.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "tests/common/files.h"
#include "util/files.h"

namespace ecps::util {
namespace {
namespace fs = std::filesystem;

std::set<std::string> NamesIn(const fs::path& dir) {
  std::set<std::string> s;
  for (const auto& e : fs::directory_iterator(dir)) s.insert(e.path().filename().string());
  return s;
}

TEST(StagedOutput, ANewFolderAppearsWholeOnPublish) {
  const auto dir = testing::FreshDir("output_folder") / "staged_new";
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
  const auto dir = testing::FreshDir("output_folder") / "staged_existing";
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
  const auto dir = testing::FreshDir("output_folder") / "staged_killed";
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
  const auto dir = testing::FreshDir("output_folder") / "staged_locked";
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
}  // namespace ecps::util
