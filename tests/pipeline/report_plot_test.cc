// The report's pieces: the curves a binary scorer's counts give (models/common/binary_curves.h)
// and the SVG charts (launch/report/svg.h, plot.h).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "launch/report/plot.h"
#include "launch/report/svg.h"
#include "models/common/binary_curves.h"
#include "tests/pipeline/report_support.h"

namespace ecps::launch::report {
namespace {

using ecps::testing::Count;

TEST(Svg, EscapesEveryStringAndFormatsNumbers) {
  EXPECT_EQ(EscapeHtml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(FormatNumber(-0.0001, 2), "0.00");
  EXPECT_EQ(FormatNumber(0.25, 2), "0.25");
  EXPECT_EQ(FormatNumber(1234567, 0), "1.235e+06");
  EXPECT_EQ(FormatNumber(NAN, 2), "n/a");
  EXPECT_EQ(DecimalsFor(0.2), 1);
  EXPECT_EQ(DecimalsFor(0.05), 2);
  EXPECT_EQ(DecimalsFor(5), 0);
  Svg svg(100, 50, "x\"y", "t<i>");
  svg.Text(1, 2, "<script>", "tick");
  const std::string s = svg.Finish();
  EXPECT_NE(s.find("data-chart=\"x&quot;y\""), std::string::npos) << s;
  EXPECT_NE(s.find("&lt;script&gt;"), std::string::npos) << s;
  EXPECT_EQ(s.find("<script>"), std::string::npos) << s;
  EXPECT_EQ(s.find("<i>"), std::string::npos) << s;
}

TEST(Plot, NiceTicksCoverTheRangeInSteps1_2_5) {
  Ticks t = NiceTicks(0, 0.97, 5);
  EXPECT_DOUBLE_EQ(t.step, 0.2);
  EXPECT_DOUBLE_EQ(t.lo, 0);
  EXPECT_NEAR(t.hi, 1, 1e-12);
  EXPECT_EQ(t.values.size(), 6u);
  t = NiceTicks(-1.3, 2.1, 5);  // raw step 0.68 -> 1
  EXPECT_DOUBLE_EQ(t.step, 1);
  EXPECT_DOUBLE_EQ(t.lo, -2);
  EXPECT_DOUBLE_EQ(t.hi, 3);
  t = NiceTicks(79.28, 125.66, 5);  // raw 9.3 -> 10
  EXPECT_DOUBLE_EQ(t.step, 10);
  EXPECT_DOUBLE_EQ(t.lo, 70);
  EXPECT_DOUBLE_EQ(t.hi, 130);
  t = NiceTicks(3, 3, 5);  // one value: widened around it
  EXPECT_LT(t.lo, 3);
  EXPECT_GT(t.hi, 3);
  t = NiceTicks(NAN, INFINITY, 5);
  EXPECT_DOUBLE_EQ(t.lo, 0);
  EXPECT_DOUBLE_EQ(t.hi, 1);
}

TEST(Plot, LineChartDrawsEachFiniteRunMarkersAndTheDiagonal) {
  LineChart c{"roc", "ROC <AUC>", "x", "y"};
  c.series = {{"a", {0, 0.5, NAN, 0.7, 1}, {0, 0.6, 0.7, 0.8, 1}, true, false},
              {"b", {0, 1}, {0.5, 0.5}, true, true}};
  c.markers = {{"t = 0.5", 0.2, 0.3}};
  c.diagonal = true;
  const std::string s = RenderLineChart(c);
  EXPECT_NE(s.find("data-chart=\"roc\""), std::string::npos);
  EXPECT_NE(s.find("ROC &lt;AUC&gt;"), std::string::npos);
  EXPECT_EQ(Count(s, "<polyline"), 3u) << "a breaks at NaN into two runs, b is one";
  EXPECT_EQ(Count(s, "class=\"mark\""), 2u) << "b's two points";
  EXPECT_EQ(Count(s, "class=\"mark marker\""), 1u);
  EXPECT_EQ(Count(s, "class=\"reference\""), 1u);
  EXPECT_EQ(Count(s, "class=\"key\""), 2u) << "a legend for two series";
  EXPECT_EQ(s.find("http"), std::string::npos);
}

TEST(Plot, BarChartHangsNegativeBarsBelowZero) {
  BarChart c{"bars", "t", "value", {"p", "q", "r"}, {{"one", {1, -2, 3}}, {"two", {0.5, NAN, 2}}},
             2};
  const std::string s = RenderBarChart(c);
  EXPECT_EQ(Count(s, "class=\"mark\""), 5u) << "one bar per finite value";
  EXPECT_EQ(Count(s, "class=\"zero\""), 1u);
  EXPECT_NE(s.find("one, q: -2"), std::string::npos) << "tooltips name series, category and value";
}

TEST(Plot, HeatmapColoursBySignAndSaturatesAtTheLimit) {
  Heatmap m{"h", "t", {"s0", "s1"}, {"a", "b"}, {2, -2, 0, NAN}, 2, "sd"};
  const std::string s = RenderHeatmap(m);
  EXPECT_EQ(Count(s, "class=\"mark cell\""), 4u);
  EXPECT_NE(s.find("fill=\"#b2182b\""), std::string::npos);
  EXPECT_NE(s.find("fill=\"#2166ac\""), std::string::npos);
  EXPECT_NE(s.find("fill=\"#ffffff\""), std::string::npos);
  EXPECT_NE(s.find("fill=\"#cccccc\""), std::string::npos);
}

// Tree ((0, 2), 1): the leaves in the order 0, 2, 1 so that no links cross, each merge a
// bracket from its children up to its height. Frame: x from 62 over (460 - 78) / 3 = 127.33
// per leaf; y ticks 0..2 from 276 (bottom) to 28 (top), so height 1 is at 152.
TEST(Plot, DendrogramDrawsALinkPerMergeAtItsHeight) {
  Dendrogram d{"tree", "t", "segment", "height"};
  d.nodes = {{-1, -1, 0, "s0", "leaf <0>"},
             {-1, -1, 0, "s1", "leaf 1"},
             {-1, -1, 0, "s2", "leaf 2"},
             {0, 2, 1, "", "merge 0+2 & \"x\""},
             {3, 1, 2, "", "root"}};
  const std::string s = RenderDendrogram(d);
  EXPECT_EQ(Count(s, "class=\"mark series link\""), 2u) << s;
  EXPECT_EQ(Count(s, "class=\"mark leaf\""), 3u);
  EXPECT_LT(s.find(">s0<"), s.find(">s2<"));
  EXPECT_LT(s.find(">s2<"), s.find(">s1<"));
  EXPECT_NE(s.find("<polyline points=\"125.67,276.00 125.67,152.00 253.00,152.00 253.00,276.00\""),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("points=\"189.33,152.00 189.33,28.00 380.33,28.00 380.33,276.00\""),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("<title>merge 0+2 &amp; &quot;x&quot;</title>"), std::string::npos);
  EXPECT_NE(s.find("<title>leaf &lt;0&gt;</title>"), std::string::npos);
  EXPECT_EQ(s.find("<0>"), std::string::npos);

  Dendrogram broken = d;
  broken.nodes[3].left = 3;
  EXPECT_EQ(RenderDendrogram(broken), "") << "a child not earlier than its parent";
  broken.nodes[3].left = 0;
  broken.nodes[3].right = 0;
  EXPECT_EQ(RenderDendrogram(broken), "") << "a child used twice";
  broken.nodes.pop_back();
  broken.nodes[3].right = 2;
  EXPECT_EQ(RenderDendrogram(broken), "") << "leaf 1 is below no merge";
  EXPECT_EQ(RenderDendrogram({}), "");
}

}  // namespace
}  // namespace ecps::launch::report

namespace ecps::models {
namespace {

ScoreCounts Hand() {
  const std::vector<double> s{0.1, 0.4, 0.35, 0.8};
  const std::vector<int> y{0, 0, 1, 1};
  return ScoreCounts::From(s, y);
}

TEST(BinaryCurves, OperatingPointsAndCalibrationByHand) {
  const auto p = OperatingPoints(Hand(), 100);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].threshold, 0.8);
  EXPECT_EQ(p[0].tp, 1u);
  EXPECT_EQ(p[0].fp, 0u);
  EXPECT_EQ(p[2].threshold, 0.35);
  EXPECT_EQ(p[2].tp, 2u);
  EXPECT_EQ(p[2].fp, 1u);
  EXPECT_EQ(p[3].tp + p[3].fp, 4u);
  const auto thin = OperatingPoints(Hand(), 2);  // a point per 2 examples, and the last
  ASSERT_EQ(thin.size(), 2u);
  EXPECT_EQ(thin[0].threshold, 0.4);
  EXPECT_EQ(thin[1].threshold, 0.1);
  const auto at = AtThreshold(Hand(), 0.5);
  EXPECT_EQ(at.tp, 1u);
  EXPECT_EQ(at.fp, 0u);
  EXPECT_EQ(AtThreshold(Hand(), 0.35).tp, 2u);
  EXPECT_EQ(AtThreshold(Hand(), 0.9).tp + AtThreshold(Hand(), 0.9).fp, 0u);
  const auto bins = Calibration(Hand(), 2);
  ASSERT_EQ(bins.size(), 2u);
  EXPECT_DOUBLE_EQ(bins[0].mean_score, 0.225);
  EXPECT_DOUBLE_EQ(bins[0].positive_rate, 0.5);
  EXPECT_EQ(bins[0].count, 2u);
  EXPECT_DOUBLE_EQ(bins[1].mean_score, 0.6);
  EXPECT_TRUE(Calibration(ScoreCounts{}, 10).empty());
}

// The area under the ROC points (trapezoids, from (0, 0)) is the exact AUC when no point is
// thinned away: ties become the diagonal steps that count one half.
TEST(BinaryCurves, RocAreaOfAllPointsIsTheExactAuc) {
  std::mt19937 rng(7);
  std::vector<double> s(5000);
  std::vector<int> y(5000);
  for (std::size_t i = 0; i < s.size(); ++i) {
    y[i] = rng() % 4 == 0;
    s[i] = std::round((y[i] * 0.3 + std::uniform_real_distribution<double>(0, 1)(rng)) * 50) /
           50;  // ties
  }
  const ScoreCounts c = ScoreCounts::From(s, y);
  const auto p = OperatingPoints(c, 1u << 20);
  EXPECT_EQ(p.size(), c.scores.size());
  const double P = static_cast<double>(c.positives()), N = static_cast<double>(c.negatives());
  double area = 0, x0 = 0, y0 = 0;
  for (const auto& q : p) {
    const double x1 = static_cast<double>(q.fp) / N, y1 = static_cast<double>(q.tp) / P;
    area += (x1 - x0) * (y0 + y1) / 2;
    x0 = x1;
    y0 = y1;
  }
  EXPECT_NEAR(area, ExactAuc(c), 1e-12);
  const auto json = CurvesJson(c, std::vector<std::pair<std::string, double>>{{"threshold", 0.5}});
  EXPECT_LE(json["points"]["tp"].size(), 201u);
  EXPECT_EQ(json["calibration"]["count"].size(), 10u);
  EXPECT_EQ(json["marked"][0]["tp"].get<std::uint64_t>(), AtThreshold(c, 0.5).tp);
}

}  // namespace
}  // namespace ecps::models
