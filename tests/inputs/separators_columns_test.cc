// Separators (any character, "::") and the column roles of interaction files (--columns and
// what is inferred without it).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/common/files.h"
#include "worker/csv.h"
#include "worker/interactions.h"

namespace ecps::worker {
namespace {

using ecps::testing::FreshDir;
using ecps::testing::WriteBytes;

std::vector<std::string> Split(std::string_view line, char d) {
  std::vector<std::string_view> f;
  std::deque<std::string> scratch;
  const Status s = SplitCsv(line, d, &f, &scratch);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return {f.begin(), f.end()};
}

TEST(Separators, AnyCharacterAndDoubleColon) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Split("1::1193::5::978300760", kDoubleColon), (V{"1", "1193", "5", "978300760"}));
  EXPECT_EQ(Split("a::\"b::c\"::", kDoubleColon), (V{"a", "b::c", ""}));
  EXPECT_EQ(Split("a:b::c", kDoubleColon), (V{"a:b", "c"}));
  EXPECT_EQ(Split("x;\"y;z\";", ';'), (V{"x", "y;z", ""}));
  EXPECT_EQ(Split("x|y", '|'), (V{"x", "y"}));
  EXPECT_EQ(Split("x\ty", '\t'), (V{"x", "y"}));
}

TEST(Separators, ParseDelimiterAcceptsOneCharacterOrDoubleColon) {
  EXPECT_EQ(*ParseDelimiter("::", "--delimiter"), kDoubleColon);
  EXPECT_EQ(*ParseDelimiter("tab", "--delimiter"), '\t');
  EXPECT_EQ(*ParseDelimiter("\t", "--delimiter"), '\t');
  EXPECT_EQ(*ParseDelimiter(";", "--delimiter"), ';');
  for (const char* bad : {"", ";;", "\"", ":::", "ab"}) {
    const auto r = ParseDelimiter(bad, "--delimiter");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("--delimiter"), std::string::npos);
  }
  EXPECT_EQ(DelimiterName(kDoubleColon), "::");
  EXPECT_EQ(DelimiterName('\t'), "tab");
}

class Roles : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    WriteBytes(path, text);
    return path;
  }
  Result<InteractionFormat> Detect(const std::string& text, const std::string& columns = "",
                                   std::optional<char> delim = std::nullopt) {
    return DetectInteractionFormat(Write("f.txt", text), {HeaderMode::kAuto, delim, columns});
  }
  std::filesystem::path dir_ = FreshDir("roles");
};

std::string AllRoles(const InteractionFormat& f) {
  std::string s;
  for (const auto& r : f.roles) s += r + "\n";
  return s;
}

TEST_F(Roles, MovieLensDoubleColonIsDetectedWithRatingAndTimestamp) {
  auto f = Detect("1::1193::5::978300760\n1::661::3::978302109\n");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->delimiter, kDoubleColon);
  EXPECT_EQ(f->rating_column, 2);
  EXPECT_EQ(f->timestamp_column, 3);
  EXPECT_EQ(f->Describe(), "\"::\"-separated, 4 columns (user item rating timestamp), no header");
}

// The case: a headerless user,item,timestamp file is not read as ratings.
TEST_F(Roles, HeaderlessEpochColumnIsATimestamp) {
  auto f = Detect("u1,i1,1770155312\nu1,i2,1771618023\nu2,i1,1769000000\n");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_FALSE(f->has_rating());
  EXPECT_EQ(f->timestamp_column, 2);
  EXPECT_NE(AllRoles(*f).find("timestamp: column 3, inferred from its values (integers from 1e8"),
            std::string::npos)
      << AllRoles(*f);
  // Milliseconds too; small numbers stay ratings, and say so.
  f = Detect("u1,i1,1770155312000\n");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->timestamp_column, 2);
  f = Detect("u1,i1,4\nu1,i2,5\n");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->rating_column, 2);
  EXPECT_NE(AllRoles(*f).find("rating: column 3, inferred from its values (within +-1e6)"),
            std::string::npos);
  // Four columns in the other order: swapped, by their values.
  f = Detect("u1 i1 1770155312 4\n");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->timestamp_column, 2);
  EXPECT_EQ(f->rating_column, 3);
}

TEST_F(Roles, AColumnThatIsNeitherIsRefusedWithAHint) {
  auto f = Detect("u1,i1,20240101\nu1,i2,20240102\n");  // yyyymmdd: neither
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kDataError);
  EXPECT_NE(f.status().message().find("cannot tell whether column 3 is a rating or a timestamp"),
            std::string::npos)
      << f.status().message();
  EXPECT_NE(f.status().message().find("--columns user,item,timestamp"), std::string::npos);
  EXPECT_NE(f.status().message().find("\"20240101\""), std::string::npos);
  f = Detect("u1 i1 1770155312 1770155313\n");  // two epoch columns
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("both look like a timestamp"), std::string::npos)
      << f.status().message();
}

TEST_F(Roles, HeaderNamesDecide) {
  auto f = Detect("customer,sku,stars\nu1,i1,1770155312\n");  // a name beats the values
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->rating_column, 2);
  EXPECT_NE(AllRoles(*f).find("rating: column 3 \"stars\", by its header name"), std::string::npos);
  f = Detect("user_id,item_id,when\nu1,i1,5\n");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->timestamp_column, 2);
}

TEST_F(Roles, ColumnsOptionByRoleListAndByPairs) {
  // One role per column, - skips: item first, a price column ignored.
  auto f = Detect("i1;u1;9.99;20240101\ni2;u1;5;20240102\n", "item,user,-,timestamp", ';');
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->columns, 4);
  EXPECT_EQ(f->user_column, 1);
  EXPECT_EQ(f->item_column, 0);
  EXPECT_EQ(f->timestamp_column, 3);
  EXPECT_FALSE(f->has_rating());
  EXPECT_FALSE(f->header);
  InteractionRow row;
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;
  ASSERT_TRUE(*ParseInteractionLine("i9;u7;1;123", *f, &row, &fields, &scratch));
  EXPECT_EQ(row.user, "u7");
  EXPECT_EQ(row.item, "i9");
  EXPECT_EQ(row.timestamp, 123.0);
  EXPECT_EQ(row.rating, 1.0);
  // Names and 1-based positions; the header is then detected.
  f = Detect("order,customer,sku,qty,ts\n1,u1,i1,2,100\n", "user=customer,item=3,rating=qty");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE(f->header);
  EXPECT_EQ(f->user_column, 1);
  EXPECT_EQ(f->item_column, 2);
  EXPECT_EQ(f->rating_column, 3);
  EXPECT_FALSE(f->has_timestamp());
  EXPECT_NE(AllRoles(*f).find("--columns user=customer,item=3,rating=qty"), std::string::npos);
}

TEST_F(Roles, ColumnsOptionErrorsSayWhatIsWrong) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"user,item", "gives 2 roles, but the line has 3 fields"},
      {"user,item,stars", "unknown role \"stars\""},
      {"user,user,rating", "role \"user\" given twice"},
      {"item,-,rating", "the user and item roles are required"},
      {"user=1,item=9", "position 9 is not a column of the file (1 to 3"},
      {"user=1,item=sku", "no column \"sku\" in the header (columns: \"u1\", \"i1\", \"5\")"},
  };
  for (const auto& [spec, expect] : cases) {
    auto f = Detect("u1,i1,5\n", spec);
    ASSERT_FALSE(f.ok()) << spec;
    EXPECT_NE(f.status().message().find(expect), std::string::npos) << spec << ": " << f.status().message();
  }
  auto f = Detect("user,item,x\nu1,i1,5\n", "user=user,item=product");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find(":1: --columns user=user,item=product: no column \"product\""),
            std::string::npos)
      << f.status().message();
}

// A comma-separated file's quoted fields may hold commas, doubled quotes and line breaks; an
// unterminated quote is refused at the line where its record starts.
TEST_F(Roles, QuotedLineBreaksStayInTheirRecord) {
  const std::string path = Write("q.csv", "user,item,rating\nu1,i1,4\n\"u2\nstill, \"\"u2\"\"\",i2,5\nu3,\"i,3\",2\n");
  auto f = DetectInteractionFormat(path, HeaderMode::kAuto);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  auto reader = InteractionReader::Open({path, 0, UINT64_MAX}, *f, false);
  ASSERT_TRUE(reader.ok());
  InteractionRow row;
  ASSERT_TRUE(*(*reader)->Next(&row));
  ASSERT_TRUE(*(*reader)->Next(&row));
  EXPECT_EQ(row.user, "u2\nstill, \"u2\"");
  EXPECT_EQ(row.item, "i2");
  EXPECT_EQ(row.rating, 5);
  ASSERT_TRUE(*(*reader)->Next(&row));
  EXPECT_EQ(row.item, "i,3");
  EXPECT_FALSE(*(*reader)->Next(&row));

  const std::string open = Write("open.csv", "user,item,rating\nu1,i1,4\n\"u2,i2,5\nu3,i3,2\n");
  auto g = DetectInteractionFormat(open, HeaderMode::kAuto);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  auto r2 = InteractionReader::Open({open, 0, UINT64_MAX}, *g, false);
  ASSERT_TRUE(r2.ok());
  ASSERT_TRUE(*(*r2)->Next(&row));
  auto bad = (*r2)->Next(&row);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            open + ":3: field 1: unterminated quote (the quoted field runs to the end of the file)");
}

}  // namespace
}  // namespace ecps::worker
