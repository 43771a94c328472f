// --categorical for integer-coded columns of CSV training data, and the warning for a numeric
// column of a few integer codes.
#include <string>

#include <gtest/gtest.h>

#include "tests/common/files.h"
#include "worker/example_parser.h"
#include "worker/feature_csv.h"

namespace ecps::worker {
namespace {

std::string Sessions(int rows) {
  std::string s = "session,Browser,Region,pages,flag,clicked\n";
  for (int i = 0; i < rows; ++i) {
    s += "s" + std::to_string(i) + "," + std::to_string(1 + i % 4) + "," + std::to_string(1 + i % 6) + "," +
         std::to_string(i % 37) + "," + std::to_string(i % 2) + "," + std::to_string(i % 3 == 0) + "\n";
  }
  return s;
}

class Categorical : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (ecps::testing::FreshDir("categorical") / "s.csv").string();
    ecps::testing::WriteBytes(path_, Sessions(200));
    o_.format = DataFormat::kCsv;
    o_.label_column = "clicked";
  }
  std::string path_;
  ParserOptions o_;
};

TEST_F(Categorical, FewIntegerCodesAreNumericWithAWarningNamingTheColumn) {
  auto c = ResolveCsvColumns(o_, path_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->numeric, (std::vector<std::string>{"Browser", "Region", "pages", "flag"}));
  ASSERT_EQ(c->warnings.size(), 2u);  // not pages (37 values), not a 0/1 flag
  EXPECT_NE(c->warnings[0].find("column \"Browser\" is used as a number, but its first 200 values are "
                                "only 4 distinct integers (1, 2, 3, 4)"),
            std::string::npos)
      << c->warnings[0];
  EXPECT_NE(c->warnings[0].find("--categorical Browser"), std::string::npos);
  EXPECT_NE(c->warnings[1].find("\"Region\""), std::string::npos);
  ASSERT_EQ(c->notes.size(), 5u);
  EXPECT_EQ(c->notes[0], "session: not used, inferred as an identifier (its first 200 values are all distinct)");
  EXPECT_EQ(c->notes[1], "Browser: numeric, inferred (its first 200 values are numbers)");
}

TEST_F(Categorical, DeclaredColumnsAreCategoriesAndTheRestStillInferred) {
  o_.declared_categorical = {"Browser", "Region"};
  auto c = ResolveCsvColumns(o_, path_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->categorical, (std::vector<std::string>{"Browser", "Region"}));
  EXPECT_EQ(c->numeric, (std::vector<std::string>{"pages", "flag"}));
  EXPECT_TRUE(c->warnings.empty());
  EXPECT_EQ(c->notes[1], "Browser: categorical (--categorical)");
  // The parser hashes them as categories: a code is a key of its own, with value 1.
  auto header = std::string("session,Browser,Region,pages,flag,clicked");
  auto parser = ExampleParser::MakeCsv(o_, *c, header, path_);
  ASSERT_TRUE(parser.ok()) << parser.status().ToString();
  float label = 0;
  std::vector<std::uint32_t> keys;
  std::vector<float> values;
  ParseScratch scratch;
  ASSERT_TRUE(parser->Parse("s1,3,5,7,0,1", &label, &keys, &values, &scratch).ok());
  EXPECT_NE(std::find(keys.begin(), keys.end(), parser->CategoryKey(0, "3")), keys.end());
  EXPECT_NE(std::find(keys.begin(), keys.end(), parser->CategoryKey(1, "5")), keys.end());
  // With explicit lists it joins the categorical ones; with a numeric one it is refused.
  o_.numeric_columns = {"pages"};
  c = ResolveCsvColumns(o_, path_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->categorical, (std::vector<std::string>{"Browser", "Region"}));
  o_.numeric_columns = {"pages", "Browser"};
  EXPECT_NE(ResolveCsvColumns(o_, path_).status().message().find("--categorical Browser: also in --numeric-columns"),
            std::string::npos);
  o_.numeric_columns.clear();
  o_.declared_categorical = {"Browsr"};
  const auto bad = ResolveCsvColumns(o_, path_);
  EXPECT_NE(bad.status().message().find("no column \"Browsr\""), std::string::npos) << bad.status().message();
}

// k-means feature CSVs: --categorical turns a column into one-hot over every value of the file.
TEST_F(Categorical, FeatureCsvDeclaredColumnsBecomeOneHotOverTheFilesValues) {
  std::string csv = Sessions(200) + "s200,12,1,3,0,0\n";  // a code seen once, at the end
  ecps::testing::WriteBytes(path_, csv);
  FeatureColumnsOptions o;
  o.id_column = "session";
  o.features = {"Browser", "Region", "pages"};
  std::vector<std::string> warnings;
  ASSERT_TRUE(ResolveDeclaredCategorical({"Browser"}, path_, &o, &warnings).ok());
  ASSERT_EQ(o.one_hot, (std::vector<std::string>{"Browser=1|2|3|4|12"}));  // numeric order
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("column \"Region\" is used as a number, but its first 201 values are only 6 "
                             "distinct integers (1, 2, 3, 4, 5, 6)"),
            std::string::npos)
      << warnings[0];
  auto schema = FeatureSchema::Make(o);
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_EQ(schema->dim(), 7u);  // 5 codes, Region, pages
  EXPECT_EQ(schema->output_names()[4], "Browser=12");
  // Names that cannot be declared.
  o.one_hot.clear();
  warnings.clear();
  EXPECT_NE(ResolveDeclaredCategorical({"flag"}, path_, &o, &warnings).message().find("not in --features"),
            std::string::npos);
  o.ordinal = {"Browser=1|2|3|4"};
  EXPECT_NE(ResolveDeclaredCategorical({"Browser"}, path_, &o, &warnings).message().find("already given"),
            std::string::npos);
}

}  // namespace
}  // namespace ecps::worker
