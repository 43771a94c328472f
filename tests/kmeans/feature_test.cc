// Feature columns from CSV (schema, encodings, edge cases, bad inputs and their messages), the
// normaliser, the server-side combinations of the k-means tables, and the model file.
#include <cmath>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/kmeans/model.h"
#include "models/kmeans/tables.h"
#include "tests/kmeans/kmeans_testing.h"
#include "worker/feature_csv.h"

namespace ecps {
namespace {

using ::testing::HasSubstr;
using worker::FeatureColumnsOptions;
using worker::FeatureRowParser;
using worker::FeatureSchema;

FeatureColumnsOptions Cols() {
  FeatureColumnsOptions o;
  o.id_column = "id";
  o.features = {"age", "gender", "size"};
  o.one_hot = {"gender=F|M|X"};
  o.ordinal = {"size=S|M|L"};
  o.label_column = "bought";
  return o;
}

TEST(KMeansFeatures, SchemaExpandsOneHotAndKeepsOrder) {
  auto s = FeatureSchema::Make(Cols());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->output_names(), (std::vector<std::string>{"age", "gender=F", "gender=M", "gender=X", "size"}));
  EXPECT_EQ(s->dim(), 5u);
}

TEST(KMeansFeatures, SchemaRefusesBadOptions) {
  auto bad = [](auto mutate, const std::string& expect) {
    auto o = Cols();
    mutate(o);
    auto s = FeatureSchema::Make(o);
    ASSERT_FALSE(s.ok()) << "expected: " << expect;
    EXPECT_THAT(s.status().message(), HasSubstr(expect));
  };
  bad([](auto& o) { o.features.clear(); }, "at least one feature");
  bad([](auto& o) { o.features.push_back("age"); }, "\"age\" listed twice");
  bad([](auto& o) { o.features.push_back("id"); }, "is the id column");
  bad([](auto& o) { o.features.push_back("bought"); }, "is the label column");
  bad([](auto& o) { o.one_hot = {"gender"}; }, "expected COLUMN=CATEGORY|CATEGORY");
  bad([](auto& o) { o.one_hot = {"gender=F||M"}; }, "empty category");
  bad([](auto& o) { o.one_hot = {"gender=F|F"}; }, "listed twice");
  bad([](auto& o) { o.one_hot = {"colour=red|blue"}; }, "not in --features");
  bad([](auto& o) { o.ordinal.push_back("gender=F|M"); }, "more than one encoding");
}

struct Parsed {
  Status status;
  std::string id;
  std::vector<double> x;
  int label = -1;
};

Parsed Parse(const std::string& header, const std::string& line) {
  static auto schema = *FeatureSchema::Make(Cols());
  auto h = worker::CsvHeader::Parse(header, ',', "users.csv");
  EXPECT_TRUE(h.ok());
  auto p = FeatureRowParser::Bind(schema, *h);
  Parsed r;
  if (!p.ok()) {
    r.status = p.status();
    return r;
  }
  r.x.assign(schema.dim(), -1);
  std::string_view id;
  r.status = p->Parse(line, &id, r.x.data(), &r.label);
  r.id = std::string(id);
  return r;
}

TEST(KMeansFeatures, ParsesQuotedFieldsSpacesAndEncodings) {
  const std::string h = "id,\"age\",gender,size,bought,notes";
  auto r = Parse(h, "\"u,1\", 41.5 ,M,L,1,\"said \"\"hi\"\"\"");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.id, "u,1");
  EXPECT_EQ(r.x, (std::vector<double>{41.5, 0, 1, 0, 2}));
  EXPECT_EQ(r.label, 1);
  r = Parse(h, "u2,+3e1,\"X\",S,false,");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.x, (std::vector<double>{30, 0, 0, 1, 0}));
  EXPECT_EQ(r.label, 0);
}

TEST(KMeansFeatures, BadRowsNameTheColumnAndValue) {
  const std::string h = "id,age,gender,size,bought";
  struct Bad {
    std::string line, message;
  };
  const std::vector<Bad> cases = {
      {"u1,abc,F,S,1", "column \"age\": \"abc\" is not a finite number"},
      {"u1,,F,S,1", "column \"age\": missing value"},
      {"u1,1e999,F,S,1", "column \"age\": \"1e999\" is not a finite number"},
      {"u1,nan,F,S,1", "\"nan\" is not a finite number"},
      {"u1,1e300,F,S,1", "column \"age\": \"1e300\" is beyond the limit on data values (|x| <= 1e+15)"},
      {"u1,-2e15,F,S,1", "column \"age\": \"-2e15\" is beyond the limit on data values"},
      {"u1,12,Q,S,1", "column \"gender\": \"Q\" is not one of the listed categories (F|M|X)"},
      {"u1,12,F,XL,1", "column \"size\": \"XL\" is not one of the listed categories (S|M|L)"},
      {"u1,12,F,S,maybe", "column \"bought\": \"maybe\" is not a 0/1 label"},
      {"u1,12,F,S", "expected 5 fields (as in the header), found 4"},
      {"u1,12,F,S,1,extra", "expected 5 fields (as in the header), found 6"},
      {",12,F,S,1", "column \"id\": empty user id"},
      {"u1,\"12,F,S,1", "unterminated quote"},
      {"u1,\"12\"x,F,S,1", "text after the closing quote"},
  };
  for (const auto& c : cases) {
    auto r = Parse(h, c.line);
    EXPECT_EQ(r.status.code(), StatusCode::kDataError) << c.line;
    EXPECT_THAT(r.status.message(), HasSubstr(c.message)) << c.line;
  }
  auto missing = Parse("id,age,size,bought", "u1,1,S,1");
  EXPECT_EQ(missing.status.code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status.message(), HasSubstr("no column \"gender\""));
}

// ---- Normaliser ------------------------------------------------------------------------------

TEST(KMeansNormalize, MinMaxZScoreNoneAndConstantColumns) {
  using models::kmeans::Normalize;
  using models::kmeans::Normalizer;
  // Columns: varying, constant 7, constant 0.
  const std::vector<double> mn = {2, 7, 0}, mx = {6, 7, 0}, mean = {3, 7, 0}, var = {4, 0, 0};
  std::vector<double> rows = {2, 7, 0, 6, 7, 0, 3, 7, 0};
  auto mm = Normalizer::Fit(Normalize::kMinMax, mn, mx, mean, var);
  auto a = rows;
  mm.Apply(a.data(), 3);
  EXPECT_EQ(a, (std::vector<double>{0, 0, 0, 1, 0, 0, 0.25, 0, 0}));
  auto z = Normalizer::Fit(Normalize::kZScore, mn, mx, mean, var);
  auto b = rows;
  z.Apply(b.data(), 3);
  EXPECT_EQ(b, (std::vector<double>{-0.5, 0, 0, 1.5, 0, 0, 0, 0, 0}));
  for (double v : b) EXPECT_TRUE(std::isfinite(v));
  auto none = Normalizer::Fit(Normalize::kNone, mn, mx, mean, var);
  auto c = rows;
  none.Apply(c.data(), 3);
  EXPECT_EQ(c, rows);
  EXPECT_EQ(mm.Original(0, 0.25), 3.0);
  EXPECT_EQ(z.Original(0, 1.5), 6.0);
}

// ---- Table combinations ---------------------------------------------------------------------

ps::RowSpan<double> Whole(std::vector<double>& v, std::size_t width) {
  return ps::RowSpan<double>{v.data(), nullptr, width, 0, 0, nullptr, 0, v.size() / width};
}

TEST(KMeansTables, StatsFinalizerDividesAndKeepsEmptyClusters) {
  const std::size_t d = 2;
  models::kmeans::StatsFinalizer fin(d);
  std::vector<double> agg(2 * (d + 1), 0.0);
  std::vector<double> push1 = {2, 4, 2, 0, 0, 0}, push2 = {4, 2, 1, 0, 0, 0};
  fin.Accumulate(Whole(agg, d + 1), push1.data());
  fin.Accumulate(Whole(agg, d + 1), push2.data());
  std::vector<double> values = {9, 9, 5, 7, 8, 3};  // previous centroids
  ps::FinalizeContext ctx;
  ctx.range = {0, 2};
  ctx.width = d + 1;
  fin.Finalize(ctx, agg, values);
  EXPECT_EQ(values, (std::vector<double>{2, 2, 3, 7, 8, 0})) << "cluster 1 is empty: keeps (7, 8), count 0";
}

TEST(KMeansTables, ReduceAddsSumsAndKeepsMaxima) {
  models::kmeans::ReduceFinalizer fin(2, 2);
  std::vector<double> agg(5, 0.0);
  std::vector<double> a = {1, 3, 5, -4, -1}, b = {1, 10, 1, -9, -2};
  fin.Accumulate(Whole(agg, 5), a.data());
  fin.Accumulate(Whole(agg, 5), b.data());
  EXPECT_EQ(agg, (std::vector<double>{2, 13, 6, -4, -1}));
}

TEST(KMeansTables, TopListsMergeByScoreThenTie) {
  using models::kmeans::TopList;
  TopList a(3, 1), b(3, 1);
  const double p = 0;
  a.Offer(5, 10, &p);
  a.Offer(1, 11, &p);
  a.Offer(7, 12, &p);
  a.Offer(0.5, 1, &p);  // not kept: worse than all three
  b.Offer(5, 3, &p);    // same score as (5, 10): the lower tie ranks first
  b.Offer(-1, 0, &p);
  const auto ra = a.Row(), rb = b.Row();
  std::vector<double> merged(ra.size());
  models::kmeans::MergeTop(ra.data(), rb.data(), 3, 4, merged.data());
  const auto top = models::kmeans::ReadTop(merged, 3, 4);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(std::make_pair(top[0].score, top[0].tie), std::make_pair(7.0, 12.0));
  EXPECT_EQ(std::make_pair(top[1].score, top[1].tie), std::make_pair(5.0, 3.0));
  EXPECT_EQ(std::make_pair(top[2].score, top[2].tie), std::make_pair(5.0, 10.0));
  // The same merge the other way round.
  models::kmeans::MergeTop(rb.data(), ra.data(), 3, 4, merged.data());
  EXPECT_EQ(models::kmeans::ReadTop(merged, 3, 4)[1].tie, 3.0);
}

// ---- Model file ------------------------------------------------------------------------------

TEST(KMeansModelFile, RoundTripAndRefusals) {
  kmtest::TempDir dir("model");
  models::kmeans::KMeansModel m;
  m.schema = *FeatureSchema::Make(Cols());
  m.k = 2;
  m.d = 5;
  m.normalizer = models::kmeans::Normalizer::Fit(models::kmeans::Normalize::kZScore, {0, 0, 0, 0, 0},
                                                 {1, 1, 1, 1, 2}, {0.5, 0.2, 0.3, 0.5, 1}, {1, 1, 1, 1, 1});
  m.centroids = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  m.sizes = {3, 4};
  m.mean_distance = {0.5, 0.25};
  m.anomaly_threshold = 2.5;
  const std::string path = dir / "model.bin";
  ASSERT_TRUE(models::kmeans::SaveKMeansModel(path, m).ok());
  auto back = models::kmeans::LoadKMeansModel(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->centroids, m.centroids);
  EXPECT_EQ(back->schema.output_names(), m.schema.output_names());
  EXPECT_EQ(back->normalizer.scale, m.normalizer.scale);
  EXPECT_EQ(back->anomaly_threshold, 2.5);
  EXPECT_EQ(back->Score(1, 0.5), 2.0);

  std::string bytes = kmtest::ReadFile(path);
  kmtest::WriteFile(path, bytes.substr(0, bytes.size() - 5));
  EXPECT_FALSE(models::kmeans::LoadKMeansModel(path).ok()) << "truncated";
  bytes[bytes.size() - 3] ^= 0x40;
  kmtest::WriteFile(path, bytes);
  EXPECT_FALSE(models::kmeans::LoadKMeansModel(path).ok()) << "corrupted";
  m.sizes = {1};
  ASSERT_TRUE(models::kmeans::SaveKMeansModel(path, m).ok());
  auto inconsistent = models::kmeans::LoadKMeansModel(path);
  ASSERT_FALSE(inconsistent.ok());
  EXPECT_THAT(inconsistent.status().message(), HasSubstr("do not fit together"));
}

}  // namespace
}  // namespace ecps
