// The checkpoint folder format (models/common/checkpoint.h): the manifest makes a checkpoint,
// pruning keeps the newest K, and a reader skips incomplete or damaged ones.
#include "models/common/checkpoint.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace ecps::models {
namespace {
namespace fs = std::filesystem;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ecps_ckpt_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    log_ = std::make_shared<spdlog::logger>(
        "ckpt", std::make_shared<spdlog::sinks::ostream_sink_mt>(warnings_));
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A checkpoint of `job` at `clock` with parts a.bin ("A<clock>") and b.bin.
  void Write(std::uint64_t clock, const std::string& job = "kmeans", int keep = 10) {
    CheckpointWriter w(dir_.string(), job, keep);
    ASSERT_TRUE(w.Begin(clock).ok());
    ASSERT_TRUE(w.AddPart("a.bin", "part-a", 1, "A" + std::to_string(clock)).ok());
    ASSERT_TRUE(w.AddPart("b.bin", "part-b", 1, std::string(1000, 'b')).ok());
    ASSERT_TRUE(w.Commit().ok());
  }
  Result<FoundCheckpoint> Newest(const std::string& job = "kmeans") {
    return FindNewestCheckpoint(dir_.string(), job, *log_);
  }
  std::string Folder(std::uint64_t clock) const { return CheckpointFolder(dir_.string(), clock); }

  fs::path dir_;
  std::ostringstream warnings_;
  std::shared_ptr<spdlog::logger> log_;
};

TEST_F(CheckpointTest, NewestCompleteOneIsFoundAndItsPartsRead) {
  Write(5);
  Write(10);
  auto found = Newest();
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->manifest.clock, 10u);
  EXPECT_EQ(found->folder, Folder(10));
  auto a = ReadCheckpointPart(*found, "a.bin", "part-a", 1);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, "A10");
  EXPECT_FALSE(ReadCheckpointPart(*found, "a.bin", "part-b", 1).ok());  // another kind
  EXPECT_FALSE(ReadCheckpointPart(*found, "c.bin", "part-a", 1).ok());  // not listed
  EXPECT_TRUE(warnings_.str().empty()) << warnings_.str();
}

TEST_F(CheckpointTest, PrunesToTheNewestKeepCompleteOnes) {
  for (std::uint64_t c : {2, 4, 6}) Write(c);
  fs::create_directories(Folder(7));  // a killed writer's folder, never completed
  Write(8, "kmeans", 2);
  EXPECT_FALSE(fs::exists(Folder(2)));
  EXPECT_FALSE(fs::exists(Folder(4)));
  EXPECT_TRUE(fs::exists(Folder(6)));
  EXPECT_FALSE(fs::exists(Folder(7)));
  EXPECT_TRUE(fs::exists(Folder(8)));
}

TEST_F(CheckpointTest, MissingManifestIsSkippedWithAWarning) {
  Write(5);
  Write(10);
  fs::remove(Folder(10) + "/MANIFEST");
  auto found = Newest();
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->manifest.clock, 5u);
  EXPECT_NE(warnings_.str().find("clock-10: no manifest"), std::string::npos) << warnings_.str();
}

TEST_F(CheckpointTest, TruncatedOrAlteredPartIsSkipped) {
  Write(5);
  Write(10);
  Write(15);
  fs::resize_file(Folder(15) + "/b.bin", 100);
  {
    std::fstream f(Folder(10) + "/b.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(500);
    f.put('X');  // same size, one byte flipped
  }
  auto found = Newest();
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->manifest.clock, 5u);
  const std::string w = warnings_.str();
  EXPECT_NE(w.find("clock-15: part b.bin has 100 bytes"), std::string::npos) << w;
  EXPECT_NE(w.find("clock-10: part b.bin does not match its checksum"), std::string::npos) << w;
}

TEST_F(CheckpointTest, DamagedManifestIsSkipped) {
  Write(5);
  Write(10);
  {
    std::fstream f(Folder(10) + "/MANIFEST", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);
    f.put('\x7f');
  }
  auto found = Newest();
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->manifest.clock, 5u);
}

TEST_F(CheckpointTest, AnotherJobsCheckpointIsRefusedNotSkipped) {
  Write(5, "kmeans");
  Write(10, "lr");
  auto found = Newest("kmeans");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(found.status().message().find("train lr job"), std::string::npos);
}

TEST_F(CheckpointTest, NoValidCheckpointIsNotFound) {
  fs::create_directories(Folder(3));
  auto found = Newest();
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(FindNewestCheckpoint((dir_ / "none").string(), "kmeans", *log_).ok());
}

TEST(CheckpointOptions, FoldersInsideTheOutputAndResumeWithoutFolderAreRefused) {
  CheckpointOptions o;
  o.dir = "/tmp/run/ckpt";
  EXPECT_FALSE(o.Validate("/tmp/run").ok());
  EXPECT_FALSE(o.Validate("/tmp/run/").ok());
  EXPECT_TRUE(o.Validate("/tmp/runs").ok());
  EXPECT_TRUE(o.Validate("/tmp/run/ckpt2").ok());
  CheckpointOptions r;
  r.resume = true;
  EXPECT_FALSE(r.Validate("/tmp/out").ok());
  r.resume_dir = "/tmp/ck";
  EXPECT_TRUE(r.Validate("/tmp/out").ok());
  r.every = 0;
  EXPECT_FALSE(r.Validate("/tmp/out").ok());
}

TEST(CheckpointOptions, EveryIsAClockCountOrATime) {
  CheckpointOptions o;
  ASSERT_TRUE(ParseCheckpointEvery("25", &o).ok());
  EXPECT_EQ(o.every, 25);
  EXPECT_EQ(o.every_seconds, 0);
  ASSERT_TRUE(ParseCheckpointEvery("10m", &o).ok());
  EXPECT_EQ(o.every_seconds, 600);
  ASSERT_TRUE(ParseCheckpointEvery("1.5h", &o).ok());
  EXPECT_EQ(o.every_seconds, 5400);
  ASSERT_TRUE(ParseCheckpointEvery("0.25s", &o).ok());
  EXPECT_EQ(o.every_seconds, 0.25);
  for (const char* bad :
       {"0", "-3", "", "s", "0s", "-1m", "nans", "infm", "10d", "1e7s", "3.5", "10 m", "m10"}) {
    const Status s = ParseCheckpointEvery(bad, &o);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("--checkpoint-every"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace ecps::models
