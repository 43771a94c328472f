// Readers: good rows of every format, every kind of bad row with its message (file:line:
// what is wrong), skipping bad rows, and exactly-once sharding across 1-8 workers.
#include <cmath>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "scheduler/shard_plan.h"
#include "tests/lr/lr_test_util.h"
#include "worker/example_parser.h"
#include "worker/line_reader.h"
#include "worker/sparse_data.h"

namespace ecps {
namespace {

using testing::TempDir;
using testing::WriteText;
using worker::DataFormat;

Result<worker::ExampleParser> ParserFor(const worker::ParserOptions& o, const std::string& path) {
  if (o.format != DataFormat::kCsv) return worker::ExampleParser::Make(o);
  ECPS_ASSIGN_OR_RETURN(auto cols, worker::ResolveCsvColumns(o, path));
  ECPS_ASSIGN_OR_RETURN(auto header, worker::ReadFirstLine(path));
  return worker::ExampleParser::MakeCsv(o, cols, header, path);
}

Result<worker::SparseData> LoadAll(const worker::ParserOptions& o, const std::string& path,
                                   worker::LoadStats* stats = nullptr, bool skip = false) {
  ECPS_ASSIGN_OR_RETURN(auto parser, ParserFor(o, path));
  worker::LoadOptions lo;
  lo.skip_bad_rows = skip;
  lo.max_categories = 100;
  return worker::LoadRows({{sched::FileRange{path, 0, UINT64_MAX}, 0}}, parser, lo, stats);
}

std::vector<std::uint32_t> Keys(const worker::SparseData& d, std::size_t r) {
  auto k = d.keys(r);
  return {k.begin(), k.end()};
}

TEST(LrReader, LibsvmLabelsValuesAndLayout) {
  TempDir dir("libsvm");
  const std::string f = dir / "a.svm";
  // 0/1 and -1/+1 labels, tabs, trailing spaces, a comment, CRLF, no final newline.
  WriteText(f, "1 3:1 7:0.5\n0 3:1\r\n-1\t9:2.5   # comment\n+1 3:1 7:1 9:-1e-3");
  worker::ParserOptions o;
  o.hash_bits = 10;
  auto p = *worker::ExampleParser::Make(o);
  auto d = LoadAll(o, f);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->rows(), 4u);
  EXPECT_EQ(d->label(0), 1.0f);
  EXPECT_EQ(d->label(1), 0.0f);
  EXPECT_EQ(d->label(2), 0.0f);
  EXPECT_EQ(d->label(3), 1.0f);
  EXPECT_FALSE(d->binary());
  EXPECT_EQ(Keys(*d, 0), (std::vector<std::uint32_t>{p.IndexKey(3), p.IndexKey(7), 1024u}));
  EXPECT_EQ(d->values(0)[1], 0.5f);
  EXPECT_EQ(Keys(*d, 2), (std::vector<std::uint32_t>{p.IndexKey(9), 1024u}));
  EXPECT_FLOAT_EQ(d->values(3)[2], -1e-3f);
  EXPECT_EQ(p.num_keys(), 1025u);  // 2^10 buckets + bias
  // Example ids are byte offsets.
  EXPECT_EQ(d->id(0), 0u);
  EXPECT_EQ(d->id(1), 12u);
}

TEST(LrReader, OneHotDataStoresNoValuesAndHashIsStable) {
  TempDir dir("onehot");
  const std::string f = dir / "a.svm";
  WriteText(f, "1 1:1 2:1\n0 2:1 133464:1\n");
  worker::ParserOptions o;
  auto p = *worker::ExampleParser::Make(o);
  auto d = *LoadAll(o, f);
  EXPECT_TRUE(d.binary());
  EXPECT_EQ(d.values(0), nullptr);
  EXPECT_EQ(d.nnz(), 6u);  // with the bias
  // Keys are a pure function of the index: the same in every process and run.
  EXPECT_EQ(p.IndexKey(133464), p.IndexKey(133464));
  EXPECT_NE(p.IndexKey(1), p.IndexKey(2));
  for (std::uint64_t i = 0; i < 1000; ++i) EXPECT_LT(p.IndexKey(i), 1u << 22);
  o.num_features = 200000;  // direct indices
  auto direct = *worker::ExampleParser::Make(o);
  EXPECT_EQ(direct.IndexKey(133464), 133464u);
  EXPECT_EQ(direct.bias_key(), 200000u);
}

TEST(LrReader, Libffm) {
  TempDir dir("ffm");
  const std::string f = dir / "a.ffm";
  WriteText(f, "1 0:3:1 1:7:0.5\n0 2:3:1\n");
  worker::ParserOptions o;
  o.format = DataFormat::kLibffm;
  auto p = *worker::ExampleParser::Make(o);
  auto d = *LoadAll(o, f);
  ASSERT_EQ(d.rows(), 2u);
  EXPECT_EQ(Keys(d, 0)[0], p.FieldIndexKey(0, 3));
  EXPECT_EQ(Keys(d, 0)[1], p.FieldIndexKey(1, 7));
  EXPECT_NE(p.FieldIndexKey(0, 3), p.FieldIndexKey(2, 3));  // the field is part of the feature
  EXPECT_EQ(d.values(0)[1], 0.5f);
}

TEST(LrReader, CsvHeaderQuotesCrlfAndInferredColumns) {
  TempDir dir("csv");
  const std::string f = dir / "s.csv";
  WriteText(f,
            "Pages,Duration,Month,\"Visitor, type\",Revenue\r\n"
            "3,12.5,Feb,\"Returning, \"\"loyal\"\"\",FALSE\r\n"
            "0,,Mar,New,TRUE\r\n"
            "7,3,Feb,New,true\r\n");
  worker::ParserOptions o;
  o.format = DataFormat::kCsv;
  o.label_column = "Revenue";
  auto cols = worker::ResolveCsvColumns(o, f);
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  EXPECT_EQ(cols->numeric, (std::vector<std::string>{"Pages", "Duration"}));
  EXPECT_EQ(cols->categorical, (std::vector<std::string>{"Month", "Visitor, type"}));
  auto p = *ParserFor(o, f);
  worker::LoadStats stats;
  auto d = LoadAll(o, f, &stats);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->rows(), 3u);  // the header is not a row
  EXPECT_EQ(d->label(0), 0.0f);
  EXPECT_EQ(d->label(1), 1.0f);
  EXPECT_EQ(d->label(2), 1.0f);
  // categoricals, bias, then numerics (a missing numeric is absent).
  EXPECT_EQ(Keys(*d, 0), (std::vector<std::uint32_t>{p.CategoryKey(0, "Feb"), p.CategoryKey(1, "Returning, \"loyal\""),
                                                     static_cast<std::uint32_t>(p.bias_key()),
                                                     static_cast<std::uint32_t>(p.numeric_key(0)),
                                                     static_cast<std::uint32_t>(p.numeric_key(1))}));
  EXPECT_EQ(d->values(0)[4], 12.5f);
  EXPECT_EQ(Keys(*d, 1).size(), 4u);
  ASSERT_EQ(stats.categories.size(), 2u);
  EXPECT_EQ(stats.categories[0], (std::vector<std::string>{"Feb", "Mar"}));
  // Explicit columns win over inference.
  o.numeric_columns = {"Duration"};
  o.categorical_columns = {"Pages"};
  auto explicit_cols = *worker::ResolveCsvColumns(o, f);
  EXPECT_EQ(explicit_cols.numeric, (std::vector<std::string>{"Duration"}));
  EXPECT_EQ(explicit_cols.categorical, (std::vector<std::string>{"Pages"}));
}

TEST(CsvReader, InferenceLeavesOutIdentifierColumns) {
  TempDir dir("csvid");
  auto write = [&](const std::string& path, int rows) {
    std::string text = "order_id,shop,amount,label\n";
    for (int i = 0; i < rows; ++i) {
      text += fmt::format("o{:05d},{},{},{}\n", i, i % 3 == 0 ? "north" : "south", i, i % 2);
    }
    WriteText(path, text);
  };
  worker::ParserOptions o;
  o.format = DataFormat::kCsv;
  o.label_column = "label";
  write(dir / "many.csv", 150);
  auto many = worker::ResolveCsvColumns(o, dir / "many.csv");
  ASSERT_TRUE(many.ok()) << many.status().ToString();
  EXPECT_EQ(many->identifiers, (std::vector<std::string>{"order_id"}));
  EXPECT_EQ(many->categorical, (std::vector<std::string>{"shop"}));
  EXPECT_EQ(many->numeric, (std::vector<std::string>{"amount"}));  // distinct but numeric: a feature
  // Too few rows to tell an id from a rare category: kept.
  write(dir / "few.csv", 50);
  auto few = worker::ResolveCsvColumns(o, dir / "few.csv");
  ASSERT_TRUE(few.ok()) << few.status().ToString();
  EXPECT_TRUE(few->identifiers.empty());
  EXPECT_EQ(few->categorical, (std::vector<std::string>{"order_id", "shop"}));
  // Named columns are used as given.
  o.categorical_columns = {"order_id"};
  auto named = worker::ResolveCsvColumns(o, dir / "many.csv");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->categorical, (std::vector<std::string>{"order_id"}));
  EXPECT_TRUE(named->identifiers.empty());
}

// ---- Bad input: one case per kind, each with its exact message -------------------------

struct BadCase {
  const char* name;
  DataFormat format;
  const char* content;  // the bad row is on the line named in `expected`
  const char* expected;
  std::uint64_t num_features = 0;
  bool real_label = false;
  const char* label_column = "y";
  const char* numeric_column = nullptr;  // csv: declared numeric (else inferred)
};

std::ostream& operator<<(std::ostream& os, const BadCase& c) { return os << c.name; }

class LrBadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(LrBadInput, FailsNamingFileLineAndField) {
  const BadCase& c = GetParam();
  TempDir dir("bad");
  const std::string f = dir / "train.txt";
  WriteText(f, c.content);
  worker::ParserOptions o;
  o.format = c.format;
  o.num_features = c.num_features;
  o.label_column = c.label_column;
  if (c.real_label) o.label_kind = worker::LabelKind::kReal;
  if (c.numeric_column) o.numeric_columns = {c.numeric_column};
  auto d = LoadAll(o, f);
  ASSERT_FALSE(d.ok()) << c.name << " was accepted";
  const std::string want = f + ":" + c.expected;
  const std::string config_want = c.expected;  // errors about the header/config
  EXPECT_TRUE(d.status().message().find(want) != std::string::npos ||
              (std::string(c.expected).find("header") != std::string::npos &&
               d.status().message().find(config_want) != std::string::npos))
      << "got: " << d.status().message() << "\nwant: " << want;
  EXPECT_TRUE(d.status().code() == StatusCode::kDataError || d.status().code() == StatusCode::kNotFound)
      << d.status().ToString();
}

const BadCase kBadCases[] = {
    {"value_not_number", DataFormat::kLibsvm, "1 3:1\n0 7:x\n", "2: feature \"7:x\" is not idx:value"},
    {"no_colon", DataFormat::kLibsvm, "1 3:1\n1 3:1\n1 7\n", "3: feature \"7\" is not idx:value"},
    {"empty_value", DataFormat::kLibsvm, "1 7:\n", "1: feature \"7:\" is not idx:value"},
    {"index_not_integer", DataFormat::kLibsvm, "1 a:1\n", "1: feature \"a:1\": index \"a\" is not a non-negative integer"},
    {"negative_index", DataFormat::kLibsvm, "0 -3:1\n", "1: feature \"-3:1\": index \"-3\" is not a non-negative integer"},
    {"index_overflow", DataFormat::kLibsvm, "0 99999999999999999999999:1\n",
     "1: feature \"99999999999999999999999:1\": index \"99999999999999999999999\" is out of range"},
    {"value_not_finite", DataFormat::kLibsvm, "0 7:inf\n", "1: feature \"7:inf\": value is not finite"},
    {"value_nan", DataFormat::kLibsvm, "1 3:1\n0 7:nan\n", "2: feature \"7:nan\": value is not finite"},
    {"ffm_value_inf", DataFormat::kLibffm, "1 0:7:-inf\n", "1: feature \"0:7:-inf\": value is not finite"},
    {"value_beyond_limit", DataFormat::kLibsvm, "1 3:1\n0 7:-2e15\n",
     "2: feature \"7:-2e15\": \"-2e15\" is beyond the limit on data values (|x| <= 1e+15)"},
    {"value_beyond_float", DataFormat::kLibsvm, "0 7:1e300\n",
     "1: feature \"7:1e300\": \"1e300\" is beyond the limit on data values"},
    {"ffm_value_beyond_limit", DataFormat::kLibffm, "1 0:7:1e16\n",
     "1: feature \"0:7:1e16\": \"1e16\" is beyond the limit on data values"},
    {"real_label_beyond_limit", DataFormat::kLibsvm, "1e20 7:1\n", "1: label \"1e20\" is beyond the limit", 0, true},
    {"label_not_binary", DataFormat::kLibsvm, "1 3:1\n2 7:1\n", "2: label \"2\" is not 0/1 or -1/+1"},
    {"label_not_number", DataFormat::kLibsvm, "yes 7:1\n", "1: label \"yes\" is not a number"},
    {"index_beyond_num_features", DataFormat::kLibsvm, "1 5000:1\n",
     "1: feature \"5000:1\": index 5000 is not below --num-features 100", 100},
    {"ffm_missing_field", DataFormat::kLibffm, "1 0:1:1 3:7\n", "1: feature \"3:7\" is not field:idx:value"},
    {"ffm_field_not_integer", DataFormat::kLibffm, "1 x:7:1\n",
     "1: feature \"x:7:1\": field \"x\" is not a non-negative integer"},
    {"csv_field_count", DataFormat::kCsv, "a,b,y\n1,2,0\n1,2\n", "3: has 2 fields, the header has 3"},
    {"csv_unterminated_quote", DataFormat::kCsv, "a,b,y\n\"abc,1,0\n", "2: field 1: unterminated quote"},
    {"csv_text_after_quote", DataFormat::kCsv, "a,b,y\n\"x\"z,1,0\n", "2: field 1: text after the closing quote"},
    {"csv_label_not_binary", DataFormat::kCsv, "a,b,y\n1,2,maybe\n",
     "2: column \"y\": \"maybe\" is not a binary label (0/1, -1/+1, true/false, yes/no)"},
    {"csv_empty_label", DataFormat::kCsv, "a,b,y\r\n1,2,\r\n", "2: column \"y\": empty label"},
    {"csv_numeric_not_number", DataFormat::kCsv, "a,b,y\n1,2,1\nabc,2,0\n",
     "3: column \"a\": \"abc\" is not a number", 0, false, "y", "a"},
    {"csv_numeric_beyond_limit", DataFormat::kCsv, "a,b,y\n1,2,1\n-1e300,2,0\n",
     "3: column \"a\": \"-1e300\" is beyond the limit on data values (|x| <= 1e+15)"},
    {"csv_real_label_beyond_limit", DataFormat::kCsv, "a,b,y\n1,2,3.5\n1,2,1e300\n",
     "3: column \"y\": label \"1e300\" is beyond the limit", 0, true},
    {"csv_real_label_not_number", DataFormat::kCsv, "a,b,y\n1,2,3.5\n1,2,n/a\n",
     "3: column \"y\": label \"n/a\" is not a number", 0, true},
    {"csv_missing_label_column", DataFormat::kCsv, "a,b,y\n1,2,1\n",
     "no column \"price\" in the header (columns: \"a\", \"b\", \"y\")", 0, false, "price"},
};

INSTANTIATE_TEST_SUITE_P(Kinds, LrBadInput, ::testing::ValuesIn(kBadCases),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(LrReader, SkipBadRowsCountsThemAndKeepsTheRest) {
  TempDir dir("skip");
  const std::string f = dir / "t.svm";
  WriteText(f, "1 3:1\n0 7:x\n1 3:1 4:1\nfoo\n0 5:1\n");
  worker::ParserOptions o;
  worker::LoadStats stats;
  auto d = LoadAll(o, f, &stats, /*skip=*/true);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->rows(), 3u);
  EXPECT_EQ(stats.bad_rows, 2u);
  ASSERT_EQ(stats.bad_messages.size(), 2u);
  EXPECT_EQ(stats.bad_messages[0], f + ":2: feature \"7:x\" is not idx:value");
  EXPECT_EQ(stats.bad_messages[1], f + ":4: label \"foo\" is not a number");
  // Without skipping, the first bad row (in file order) stops the load.
  auto strict = LoadAll(o, f);
  EXPECT_EQ(strict.status().message(), f + ":2: feature \"7:x\" is not idx:value");
}

TEST(LrReader, BlankLinesHoldNoRowAndKeepTheLineNumbers) {
  TempDir dir("blank");
  const std::string f = dir / "t.svm";
  WriteText(f, "1 3:1\n   \n\n0 3:1\n\n");
  worker::ParserOptions o;
  auto d = LoadAll(o, f);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->rows(), 2u);
  WriteText(f, "1 3:1\n\n0 7:x\n");
  EXPECT_EQ(LoadAll(o, f).status().message(), f + ":3: feature \"7:x\" is not idx:value");
}

TEST(LrReader, MissingFileIsNamed) {
  worker::ParserOptions o;
  auto d = LoadAll(o, "/nonexistent/ecps/train.svm");
  EXPECT_EQ(d.status().code(), StatusCode::kNotFound);
  EXPECT_NE(d.status().message().find("/nonexistent/ecps/train.svm"), std::string::npos);
}

// ---- Exactly once across workers ---------------------------------------------------------

void CheckExactlyOnce(const std::string& path, const worker::ParserOptions& o, std::size_t expected_rows,
                      const std::map<std::uint64_t, float>& label_at) {
  auto parser = *ParserFor(o, path);
  for (int W = 1; W <= 8; ++W) {
    auto plan = sched::PlanFiles({path}, W);
    ASSERT_TRUE(plan.ok());
    std::multiset<std::uint64_t> ids;
    for (int w = 0; w < W; ++w) {
      worker::LoadOptions lo;
      lo.piece_bytes = 517;  // many pieces per worker: the sub-ranges must tile too
      auto d = worker::LoadRows({{plan->file_ranges[static_cast<std::size_t>(w)][0], 0}}, parser, lo, nullptr);
      ASSERT_TRUE(d.ok()) << d.status().ToString();
      for (std::size_t r = 0; r < d->rows(); ++r) {
        ids.insert(d->id(r));
        ASSERT_EQ(d->label(r), label_at.at(d->id(r))) << "row at offset " << d->id(r);
      }
    }
    EXPECT_EQ(ids.size(), expected_rows) << W << " workers";
    std::set<std::uint64_t> unique(ids.begin(), ids.end());
    EXPECT_EQ(unique.size(), ids.size()) << W << " workers: a row was read twice";
  }
}

TEST(LrSharding, EveryRowExactlyOnceFor1To8Workers) {
  TempDir dir("shard");
  const std::string f = dir / "t.svm";
  std::string text;
  std::map<std::uint64_t, float> label_at;
  for (int i = 0; i < 997; ++i) {
    label_at[text.size()] = static_cast<float>(i % 3 == 0);
    text += fmt::format("{}", i % 3 == 0 ? 1 : 0);
    for (int j = 0; j <= i % 13; ++j) text += fmt::format(" {}:1", i * 7 + j);
    text += i % 5 == 0 ? "\r\n" : "\n";
  }
  text.pop_back();  // no final newline
  WriteText(f, text);
  CheckExactlyOnce(f, worker::ParserOptions{}, 997, label_at);
}

TEST(LrSharding, CsvHeaderIsNeverARowWhateverTheSplit) {
  TempDir dir("shardcsv");
  const std::string f = dir / "t.csv";
  std::string text = "x,cat,y\n";
  std::map<std::uint64_t, float> label_at;
  for (int i = 0; i < 500; ++i) {
    label_at[text.size()] = static_cast<float>(i % 2);
    text += fmt::format("{},\"c,{}\",{}\n", i * 0.5, i % 7, i % 2 ? "true" : "false");
  }
  WriteText(f, text);
  worker::ParserOptions o;
  o.format = DataFormat::kCsv;
  o.label_column = "y";
  CheckExactlyOnce(f, o, 500, label_at);
}

}  // namespace
}  // namespace ecps
