// Feature CSV rows read by pieces in parallel (ParseUserRows): quoted fields spanning lines,
// byte ranges of several workers, line ids and error lines.
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <tbb/task_arena.h>

#include "scheduler/shard_plan.h"
#include "worker/user_shard.h"

namespace ecps::worker {
namespace {

std::string WriteTemp(const std::string& name, const std::string& content) {
  const auto path = std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "_" + name);
  std::ofstream(path, std::ios::binary) << content;
  return path.string();
}

FeatureSchema Schema(const std::string& id) {
  FeatureColumnsOptions o;
  o.id_column = id;
  o.features = {"a", "b"};
  auto s = FeatureSchema::Make(o);
  EXPECT_TRUE(s.ok());
  return *s;
}

// ~10 MB (several 4 MiB pieces); every 10th id is quoted and spans two lines.
struct Data {
  std::string content = "\"id\",a,b,note\n";
  std::map<std::string, std::pair<double, std::uint64_t>> rows;  // id -> (a, first line)
};

Data Make() {
  Data d;
  std::uint64_t line = 2;
  for (int i = 0; i < 160000; ++i) {
    const bool multi = i % 10 == 0;
    const std::string id = multi ? fmt::format("u{}\nx", i) : fmt::format("u{}", i);
    const std::string field = multi ? fmt::format("\"u{}\nx\"", i) : id;
    const double a = i * 0.25;
    d.content += fmt::format("{},{},{},\"n, \"\"{}\"\"\"\n", field, a, i % 7, i);
    d.rows[id] = {a, line};
    line += multi ? 2 : 1;
  }
  return d;
}

TEST(UserRows, QuotedLineBreaksWithAnyNumberOfWorkers) {
  const Data d = Make();
  const std::string path = WriteTemp("user_rows.csv", d.content);
  const FeatureSchema schema = Schema("id");
  for (int workers : {1, 3, 7}) {
    auto plan = sched::PlanFiles({path}, workers);
    ASSERT_TRUE(plan.ok());
    std::size_t total = 0;
    for (int w = 0; w < workers; ++w) {
      LoadReport report;
      auto t = ParseUserRows(plan->file_ranges[static_cast<std::size_t>(w)], schema, {}, &report);
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      for (std::size_t i = 0; i < t->size(); ++i) {
        const auto it = d.rows.find(std::string(t->id(i)));
        ASSERT_NE(it, d.rows.end()) << t->id(i);
        EXPECT_EQ(t->features[i * 2], it->second.first);
      }
      EXPECT_TRUE(std::is_sorted(t->offsets.begin(), t->offsets.end()));
      total += t->size();
    }
    EXPECT_EQ(total, d.rows.size()) << workers << " workers";
  }
  std::filesystem::remove(path);
}

TEST(UserRows, LineIdsAreTheLinesWhereRecordsStart) {
  const Data d = Make();
  const std::string path = WriteTemp("user_rows_lines.csv", d.content);
  const FeatureSchema schema = Schema(kLineId);
  auto plan = sched::PlanFiles({path}, 2);
  ASSERT_TRUE(plan.ok());
  std::map<std::uint64_t, double> by_line;
  for (const auto& [id, v] : d.rows) by_line[v.second] = v.first;
  std::size_t total = 0;
  for (int w = 0; w < 2; ++w) {
    LoadReport report;
    auto t = ParseUserRows(plan->file_ranges[static_cast<std::size_t>(w)], schema, {}, &report);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    for (std::size_t i = 0; i < t->size(); ++i) {
      const auto it = by_line.find(std::stoull(std::string(t->id(i))));
      ASSERT_NE(it, by_line.end()) << "no record starts at line " << t->id(i);
      EXPECT_EQ(t->features[i * 2], it->second);
    }
    total += t->size();
  }
  EXPECT_EQ(total, d.rows.size());
  std::filesystem::remove(path);
}

TEST(UserRows, ErrorsNameTheLineWhereTheRecordStarts) {
  Data d = Make();
  d.content += "\"bad\nid\",x,1,n\n";
  const std::uint64_t line = std::count(d.content.begin(), d.content.end(), '\n') - 1;
  const std::string path = WriteTemp("user_rows_bad.csv", d.content);
  LoadReport report;
  auto t = ParseUserRows({{path, 0, UINT64_MAX}}, Schema("id"), {}, &report);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), fmt::format("{}:{}: column \"a\": \"x\" is not a finite number", path, line));
  std::filesystem::remove(path);
}

// One thread parses into the result directly (no piece tables): the same table as two.
TEST(UserRows, OneThreadGivesTheTableOfTwoAndTheSameErrors) {
  Data d = Make();
  const std::string path = WriteTemp("user_rows_threads.csv", d.content);
  auto parse = [&](int threads, const std::string& file) {
    tbb::task_arena arena(threads);
    Result<UserTable> t = Internal("not run");
    arena.execute([&] {
      LoadReport report;
      t = ParseUserRows({{file, 0, UINT64_MAX}}, Schema("id"), {}, &report);
    });
    return t;
  };
  auto one = parse(1, path), two = parse(2, path);
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(one->size(), d.rows.size());
  EXPECT_EQ(one->offsets, two->offsets);
  EXPECT_EQ(one->features, two->features);
  EXPECT_EQ(one->id_bytes, two->id_bytes);
  EXPECT_EQ(one->id_end, two->id_end);
  d.content += "u-last,1,y,n\n";
  const std::uint64_t line = std::count(d.content.begin(), d.content.end(), '\n');
  const std::string bad = WriteTemp("user_rows_threads_bad.csv", d.content);
  const auto one_bad = parse(1, bad), two_bad = parse(2, bad);
  EXPECT_EQ(one_bad.status().message(),
            fmt::format("{}:{}: column \"b\": \"y\" is not a finite number", bad, line));
  EXPECT_EQ(two_bad.status().message(), one_bad.status().message());
  std::filesystem::remove(path);
  std::filesystem::remove(bad);
}

}  // namespace
}  // namespace ecps::worker
