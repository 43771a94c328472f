// Gzip input and standard input through the readers (util/input_file.h).
#include "util/input_file.h"

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "scheduler/shard_plan.h"
#include "tests/common/files.h"
#include "tests/inputs/gz_test_util.h"
#include "worker/line_reader.h"

namespace ecps::util {
namespace {

using ecps::testing::FreshDir;
using ecps::testing::Gzip;
using ecps::testing::Printable;
using ecps::testing::WriteBytes;

std::string Lines(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "line" + std::to_string(i) + (i % 3 ? "\n" : "\r\n");
  return s;
}

// Every line of a gzip file (named without .gz) is read once, with its line number, by
// readers of the byte ranges the shard planner gives 1..5 workers.
TEST(InputFile, GzipFileReadByRangesLikeThePlainFile) {
  const auto dir = FreshDir("gzin");
  const std::string path = (dir / "data.txt").string();
  WriteBytes(path, Gzip(Lines(5000)));
  for (int workers : {1, 2, 5}) {
    auto plan = sched::PlanFiles({path}, workers);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    std::vector<int> seen(5000, 0);
    for (const auto& ranges : plan->file_ranges) {
      for (const auto& range : ranges) {
        EXPECT_EQ(range.path, path);  // the plan carries the user's path
        auto reader = worker::LineReader::Open(range);
        ASSERT_TRUE(reader.ok()) << reader.status().ToString();
        std::string_view line;
        while (*(*reader)->Next(&line)) {
          const int i = std::stoi(std::string(line.substr(4)));
          ++seen[static_cast<std::size_t>(i)];
          EXPECT_EQ((*reader)->LineNumber(), static_cast<std::uint64_t>(i + 1));
          EXPECT_EQ((*reader)->Where(), path + ":" + std::to_string(i + 1));
        }
      }
    }
    for (int i = 0; i < 5000; ++i) ASSERT_EQ(seen[static_cast<std::size_t>(i)], 1) << i;
  }
}

TEST(InputFile, PlainFileIsReadInPlace) {
  const auto dir = FreshDir("gzplain");
  const std::string path = (dir / "data.csv.gz").string();  // the name does not matter
  WriteBytes(path, "a,b\n");
  EXPECT_FALSE(IsSpooledInput(path));
  auto local = LocalInputPath(path);
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(*local, path);
}

// A damaged or cut gzip file is a data error naming the file, in plain words.
TEST(InputFile, CorruptAndTruncatedGzipNameTheFile) {
  const auto dir = FreshDir("gzbad");
  std::string gz = Gzip(Lines(20000));
  std::string corrupt = gz;
  for (std::size_t i = 40; i < 60; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"corrupt.gz", corrupt}, {"cut.gz", gz.substr(0, gz.size() / 2)}, {"magic-only", "\x1f\x8b"}};
  for (const auto& [name, bytes] : cases) {
    const std::string path = (dir / name).string();
    WriteBytes(path, bytes);
    EXPECT_TRUE(IsSpooledInput(path));
    auto reader = worker::LineReader::OpenFile(path);
    ASSERT_FALSE(reader.ok()) << name;
    EXPECT_EQ(reader.status().code(), StatusCode::kDataError) << name;
    const std::string& m = reader.status().message();
    EXPECT_EQ(m.rfind(path + ": not a valid gzip stream (", 0), 0u) << m;
    EXPECT_TRUE(Printable(m)) << m;
  }
}

TEST(InputFile, MissingFileIsNotFound) {
  auto r = LocalInputPath("/nonexistent/ecps-in.gz");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/ecps-in.gz"), std::string::npos);
}

TEST(InputFile, StdinOnceAndInOneProcessOnly) {
  EXPECT_TRUE(CheckStdinInputs({{"--train", "a"}, {"--test", "-"}}, false).ok() == false);
  EXPECT_TRUE(CheckStdinInputs({{"--train", "a"}, {"--test", "b"}}, false).ok());
  EXPECT_TRUE(CheckStdinInputs({{"--train", "-"}, {"--test", ""}}, true).ok());
  const Status twice = CheckStdinInputs({{"--train", "-"}, {"--test", "-"}}, true);
  EXPECT_EQ(twice.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(twice.message().find("--test -"), std::string::npos) << twice.message();
  const Status mpi = CheckStdinInputs({{"--data", "-"}}, false);
  EXPECT_NE(mpi.message().find("--data -: standard input reaches only one process"), std::string::npos)
      << mpi.message();
}

}  // namespace
}  // namespace ecps::util
