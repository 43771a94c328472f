// Interaction files: separators, header detection, byte-range reading and bad rows.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "scheduler/shard_plan.h"
#include "worker/interactions.h"

namespace ecps::worker {
namespace {
namespace fs = std::filesystem;

std::string Write(const std::string& name, const std::string& content) {
  auto dir = fs::temp_directory_path() / ("ecps_cf_reader_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto p = dir / name;
  std::ofstream(p, std::ios::binary) << content;
  return p.string();
}

struct Read {
  std::vector<std::tuple<std::string, std::string, double, double>> rows;
  std::vector<std::uint64_t> offsets;
};

Result<Read> ReadAll(const std::string& path, HeaderMode mode, bool skip = false, std::uint64_t* skipped = nullptr,
                     int parts = 1) {
  ECPS_ASSIGN_OR_RETURN(auto format, DetectInteractionFormat(path, mode));
  ECPS_ASSIGN_OR_RETURN(auto plan, sched::PlanFiles({path}, parts));
  Read out;
  for (int w = 0; w < parts; ++w) {
    ECPS_ASSIGN_OR_RETURN(auto r, InteractionReader::Open(plan.file_ranges[static_cast<std::size_t>(w)][0], format, skip));
    InteractionRow row;
    while (true) {
      ECPS_ASSIGN_OR_RETURN(bool more, r->Next(&row));
      if (!more) break;
      out.rows.emplace_back(std::string(row.user), std::string(row.item), row.rating, row.timestamp);
      out.offsets.push_back(r->offset());
    }
    if (skipped) *skipped += r->skipped();
  }
  return out;
}

TEST(InteractionFormat, DetectsSeparatorColumnsAndHeader) {
  auto f = DetectInteractionFormat(Write("a.txt", "1 6393\n1 13504\n"), HeaderMode::kAuto);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->delimiter, ' ');
  EXPECT_EQ(f->columns, 2);
  EXPECT_FALSE(f->header);

  f = DetectInteractionFormat(Write("b.csv", "user_id,item_id,rating,timestamp\nu1,i1,4,100\n"), HeaderMode::kAuto);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->delimiter, ',');
  EXPECT_EQ(f->columns, 4);
  EXPECT_TRUE(f->header);

  // A header recognised by its non-numeric rating column, with unknown id column names.
  f = DetectInteractionFormat(Write("c.tsv", "who\twhat\tstars\nu1\ti1\t5\n"), HeaderMode::kAuto);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->delimiter, '\t');
  EXPECT_TRUE(f->header);

  // String ids without a header are data; forcing works both ways.
  f = DetectInteractionFormat(Write("d.txt", "alice book-1\n"), HeaderMode::kAuto);
  EXPECT_FALSE(f->header);
  f = DetectInteractionFormat(Write("d.txt", "alice book-1\n"), HeaderMode::kYes);
  EXPECT_TRUE(f->header);
  f = DetectInteractionFormat(Write("e.txt", "user item\n"), HeaderMode::kNo);
  EXPECT_FALSE(f->header);
}

TEST(InteractionFormat, HeaderNamesTheTimestampColumn) {
  // Without a header a third column of epoch times is a timestamp (tests/inputs has the rest
  // of the inference); a header can name it a time whatever its values.
  auto f = DetectInteractionFormat(Write("g.csv", "u1,i1,1769489190\n"), HeaderMode::kAuto);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->has_rating());
  EXPECT_TRUE(f->has_timestamp());
  f = DetectInteractionFormat(Write("h.csv", "user_id,item_id,timestamp\nu1,i1,1769489190\n"), HeaderMode::kAuto);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->has_rating());
  ASSERT_TRUE(f->has_timestamp());
  EXPECT_EQ(f->timestamp_column, 2);
  auto r = ReadAll(Write("h.csv", "user_id,item_id,timestamp\nu1,i1,1769489190\nu1,i2,17\n"), HeaderMode::kAuto);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(std::get<2>(r->rows[0]), 1.0);
  EXPECT_EQ(std::get<3>(r->rows[0]), 1769489190.0);
  // user item time rating: both matched by name.
  f = DetectInteractionFormat(Write("k.csv", "user,item,time,rating\nu1,i1,5,3\n"), HeaderMode::kAuto);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->timestamp_column, 2);
  EXPECT_EQ(f->rating_column, 3);
}

TEST(InteractionReader, ParsesEverySeparatorQuotingAndBlankLines) {
  auto r = ReadAll(Write("f.csv", "user,item,rating,timestamp\r\n\"a,b\",\"x \"\"y\"\"\",4.5,17\r\n\r\nc, d ,1,2\r\n"),
                   HeaderMode::kAuto);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(r->rows[0], std::make_tuple(std::string("a,b"), std::string("x \"y\""), 4.5, 17.0));
  EXPECT_EQ(r->rows[1], std::make_tuple(std::string("c"), std::string("d"), 1.0, 2.0));

  r = ReadAll(Write("g.txt", "  u1   i1  \n\tu2 \t i2\n"), HeaderMode::kAuto);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(std::get<0>(r->rows[1]), "u2");
  EXPECT_EQ(std::get<1>(r->rows[1]), "i2");
  EXPECT_EQ(std::get<2>(r->rows[1]), 1.0);  // implicit: rating 1

  r = ReadAll(Write("h.tsv", "u1\ti 1\t3\nu2\ti 2\t-1\n"), HeaderMode::kAuto);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::get<1>(r->rows[0]), "i 1");  // tab-separated: spaces belong to the id
  EXPECT_EQ(std::get<2>(r->rows[1]), -1.0);
}

TEST(InteractionReader, ByteRangesReadEveryLineOnceWithGlobalOffsets) {
  std::string content = "user item\n";
  for (int i = 0; i < 500; ++i) content += "u" + std::to_string(i % 37) + " item" + std::to_string(i) + "\n";
  const auto path = Write("ranges.txt", content);
  for (int parts : {1, 2, 3, 7}) {
    auto r = ReadAll(path, HeaderMode::kAuto, false, nullptr, parts);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->rows.size(), 500u) << parts;
    for (int i = 0; i < 500; ++i) EXPECT_EQ(std::get<1>(r->rows[static_cast<std::size_t>(i)]), "item" + std::to_string(i));
    EXPECT_TRUE(std::is_sorted(r->offsets.begin(), r->offsets.end()));
    EXPECT_EQ(content.substr(r->offsets[3], 9), "u3 item3\n");
  }
}

// Each bad input must fail with a message naming the file and line (and the field).
struct BadCase {
  const char* name;
  const char* content;
  const char* expect;  // substring of the message
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class BadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadInput, FailsNamingFileLineAndField) {
  const auto& c = GetParam();
  const auto path = Write(std::string(c.name) + ".txt", c.content);
  auto r = ReadAll(path, HeaderMode::kAuto);
  ASSERT_FALSE(r.ok()) << c.name;
  EXPECT_EQ(r.status().code(), StatusCode::kDataError) << r.status().ToString();
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadInput,
    ::testing::Values(
        BadCase{"too_few", "u1 i1\nu2\n", ":2: expected 2 fields (user item), found 1"},
        BadCase{"too_many", "u1,i1,5\nu2,i2,4,99\n", ":2: expected 3 fields (user item rating), found 4"},
        BadCase{"empty_user", "u1,i1\n,i2\n", ":2: empty user id"},
        BadCase{"empty_item", "u1,i1\nu2,\n", ":2: empty item id"},
        BadCase{"rating_text", "u1 i1 5\nu2 i2 good\n", ":2: rating \"good\" is not a finite number"},
        BadCase{"rating_nan", "u1 i1 5\nu2 i2 nan\n", ":2: rating \"nan\" is not a finite number"},
        BadCase{"rating_inf", "u1 i1 5\nu1 i3 4\nu2 i2 inf\n", ":3: rating \"inf\""},
        BadCase{"rating_huge", "u1 i1 5\nu2 i2 -1e300\n",
                ":2: rating \"-1e300\" is beyond the limit on data values (|x| <= 1e+15)"},
        BadCase{"timestamp_text", "u1 i1 5 100\nu2 i2 4 yesterday\n", ":2: timestamp \"yesterday\""},
        BadCase{"open_quote", "u1,i1\n\"u2,i2\n", ":2:"},
        BadCase{"text_after_quote", "u1,i1\n\"u2\"x,i2\n", ":2:"},
        BadCase{"five_columns", "u1 i1 1 2 3\n", ":1: expected 2 to 4 fields"},
        BadCase{"one_column", "justone\n", ":1: expected 2 to 4 fields"},
        BadCase{"empty_file", "", "empty"},
        BadCase{"header_then_short", "user,item,rating\nu1,i1\n", ":2: expected 3 fields"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(InteractionReader, MissingFileIsNotFound) {
  auto f = DetectInteractionFormat("/nonexistent/ecps/interactions.txt", HeaderMode::kAuto);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
  EXPECT_NE(f.status().message().find("/nonexistent/ecps/interactions.txt"), std::string::npos);
}

TEST(InteractionReader, SkipBadRowsCountsThemAndKeepsExamples) {
  const auto path = Write("skip.txt", "u1 i1 5\nu2 i2 x\nu3\nu4 i4 3\nu5 i5 nan\n");
  std::uint64_t skipped = 0;
  auto r = ReadAll(path, HeaderMode::kAuto, true, &skipped);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(skipped, 3u);
  auto format = DetectInteractionFormat(path, HeaderMode::kAuto);
  auto reader = InteractionReader::Open({path, 0, fs::file_size(path)}, *format, true);
  InteractionRow row;
  while (*(*reader)->Next(&row)) {
  }
  ASSERT_EQ((*reader)->skipped_examples().size(), 3u);
  EXPECT_NE((*reader)->skipped_examples()[0].find(path + ":2: rating"), std::string::npos);
  EXPECT_NE((*reader)->skipped_examples()[1].find(path + ":3: expected 3 fields"), std::string::npos);
}

}  // namespace
}  // namespace ecps::worker
