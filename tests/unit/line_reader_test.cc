#include "worker/line_reader.h"

#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "scheduler/shard_plan.h"

namespace ecps::worker {
namespace {

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    path_ = (std::filesystem::temp_directory_path() /
             ("ecps_lr_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++) + ".txt"))
                .string();
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

std::vector<std::pair<std::string, std::uint64_t>> ReadAll(const sched::FileRange& r) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  auto reader = LineReader::Open(r);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  std::string_view line;
  while (true) {
    auto got = (*reader)->Next(&line);
    EXPECT_TRUE(got.ok());
    if (!*got) break;
    out.emplace_back(std::string(line), (*reader)->LineNumber());
  }
  return out;
}

TEST(LineReader, CrLfAndMissingFinalNewline) {
  TempFile f("a,b\r\nc\n\nlast");
  auto lines = ReadAll({f.path(), 0, UINT64_MAX});
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].first, "a,b");
  EXPECT_EQ(lines[1].first, "c");
  EXPECT_EQ(lines[2].first, "");
  EXPECT_EQ(lines[3].first, "last");
  EXPECT_EQ(lines[3].second, 4u);
}

TEST(LineReader, MissingFileNamesPath) {
  auto r = LineReader::OpenFile("/nonexistent/ecps.txt");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/ecps.txt"), std::string::npos);
}

// Every line is read exactly once, with its true line number, for 1..8 workers, whatever the
// line lengths (including lines longer than the reader's buffer).
TEST(LineReader, ByteRangesGiveEveryLineToExactlyOneReader) {
  std::mt19937 rng(7);
  std::string content;
  std::vector<std::string> expected;
  for (int i = 0; i < 3000; ++i) {
    std::size_t len = rng() % 40;
    if (i == 1234) len = (1 << 20) + 17;  // longer than the 1 MiB buffer
    std::string line = "L" + std::to_string(i) + std::string(len, 'x');
    expected.push_back(line);
    content += line + (i % 7 == 0 ? "\r\n" : "\n");
  }
  TempFile f(content);
  for (int workers = 1; workers <= 8; ++workers) {
    auto plan = sched::PlanFiles({f.path()}, workers);
    ASSERT_TRUE(plan.ok());
    std::vector<int> seen(expected.size(), 0);
    for (int w = 0; w < workers; ++w) {
      for (const auto& range : plan->file_ranges[static_cast<std::size_t>(w)]) {
        for (const auto& [line, number] : ReadAll(range)) {
          ASSERT_GE(number, 1u);
          ASSERT_LE(number, expected.size());
          EXPECT_EQ(line, expected[number - 1]) << "workers=" << workers;
          ++seen[number - 1];
        }
      }
    }
    for (std::size_t i = 0; i < seen.size(); ++i) {
      ASSERT_EQ(seen[i], 1) << "line " << i + 1 << " read " << seen[i] << " times with " << workers << " workers";
    }
  }
}

TEST(LineReader, FirstLine) {
  TempFile f("user,age\r\n1,2\n");
  auto h = ReadFirstLine(f.path());
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, "user,age");
  TempFile empty("");
  EXPECT_EQ(ReadFirstLine(empty.path()).status().code(), StatusCode::kDataError);
}

}  // namespace
}  // namespace ecps::worker
