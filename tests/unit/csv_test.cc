#include "worker/csv.h"

#include <gtest/gtest.h>

namespace ecps::worker {
namespace {

std::vector<std::string> Split(std::string_view line, char d = ',') {
  std::vector<std::string_view> f;
  std::deque<std::string> scratch;
  Status s = SplitCsv(line, d, &f, &scratch);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return {f.begin(), f.end()};
}

TEST(Csv, PlainQuotedAndEmptyFields) {
  EXPECT_EQ(Split("a,b,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(Split("a,,c,"), (std::vector<std::string>{"a", "", "c", ""}));
  EXPECT_EQ(Split("\"x,y\",2"), (std::vector<std::string>{"x,y", "2"}));
  EXPECT_EQ(Split("\"say \"\"hi\"\"\",\"a\"\"b\"\"c\",z"),
            (std::vector<std::string>{"say \"hi\"", "a\"b\"c", "z"}));
  EXPECT_EQ(Split(""), (std::vector<std::string>{""}));
  EXPECT_EQ(Split("1\t2", '\t'), (std::vector<std::string>{"1", "2"}));
}

TEST(Csv, MalformedQuotes) {
  std::vector<std::string_view> f;
  std::deque<std::string> scratch;
  EXPECT_EQ(SplitCsv("a,\"open", ',', &f, &scratch).code(), StatusCode::kDataError);
  Status s = SplitCsv("\"x\"y,1", ',', &f, &scratch);
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_NE(s.message().find("after the closing quote"), std::string::npos);
}

TEST(Csv, HeaderLookupListsColumns) {
  auto h = CsvHeader::Parse("\xEF\xBB\xBFid, age ,Revenue", ',', "users.csv");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h->Find("id"), 0u);
  EXPECT_EQ(*h->Find("age"), 1u);
  auto miss = h->Find("gender");
  EXPECT_EQ(miss.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(miss.status().message(),
            "users.csv: no column \"gender\" in the header (columns: \"id\", \"age\", \"Revenue\")");
}

TEST(Csv, AHeaderNamingAColumnTwiceIsRefused) {
  auto h = CsvHeader::Parse("id,age, age ,city", ',', "users.csv");
  EXPECT_EQ(h.status().code(), StatusCode::kDataError);
  EXPECT_EQ(h.status().message(),
            "users.csv:1: column \"age\" appears twice in the header (columns 2 and 3)");
}

TEST(Csv, Numbers) {
  EXPECT_EQ(ParseDouble(" 2.5 "), 2.5);
  EXPECT_EQ(ParseDouble("-1e3"), -1000.0);
  EXPECT_EQ(ParseDouble("+4"), 4.0);
  EXPECT_FALSE(ParseDouble(""));
  EXPECT_FALSE(ParseDouble("12abc"));
  EXPECT_FALSE(ParseDouble("nan"));
  EXPECT_FALSE(ParseDouble("inf"));
}

TEST(Csv, BinaryLabels) {
  EXPECT_EQ(ParseBinaryLabel("TRUE"), 1);
  EXPECT_EQ(ParseBinaryLabel("false"), 0);
  EXPECT_EQ(ParseBinaryLabel("-1"), 0);
  EXPECT_EQ(ParseBinaryLabel("+1"), 1);
  EXPECT_FALSE(ParseBinaryLabel("2"));
  EXPECT_FALSE(ParseBinaryLabel("maybe"));
}

}  // namespace
}  // namespace ecps::worker
