// report.html of the demo pipeline through the real binary: self-contained (no network
// reference, no script), rendered by headless Chromium without a console message, with a
// screenshot kept in the build folder (ECPS_REPORT_OUT/<test>/report.png), and every chart drawn: a
// copy of the page with a probe script measures each chart's marks as laid out. Then the runs of
// some stages (--stages) keep the other stages in both reports.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "tests/pipeline/pipeline_support.h"
#include "tests/pipeline/report_support.h"

namespace ecps::testing {
namespace {

// Without the sanitizer pass's LD_PRELOAD (meant for ecps's processes, not the browser's).
constexpr const char* kChromium =
    "env -u LD_PRELOAD chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
    "--enable-logging=stderr --v=0";

// Lays out each chart and lists "id drawn-marks", one chart a line, in <pre id="probe">.
constexpr const char* kProbe = R"(<script>
const lines = [];
for (const svg of document.querySelectorAll("svg.chart")) {
  let drawn = 0;
  for (const m of svg.querySelectorAll(".mark")) {
    const b = m.getBBox();
    if (b.width > 0 || b.height > 0) ++drawn;
  }
  const r = svg.getBoundingClientRect();
  lines.push(svg.dataset.chart + " " + (r.width > 0 && r.height > 0 ? drawn : 0));
}
const pre = document.createElement("pre");
pre.id = "probe";
pre.textContent = lines.join("\n");
document.body.appendChild(pre);
</script>)";

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The lines of Chromium's log that carry a page's console message or a failed load.
std::string ConsoleLines(const std::string& log) {
  std::string found;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find("CONSOLE") != std::string::npos ||
        line.find("Failed to load") != std::string::npos) {
      found += line + "\n";
    }
  }
  return found;
}

class Report : public ::testing::Test {
 protected:
  void SetUp() override {
    out_ =
        fs::path(ECPS_REPORT_OUT) / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(out_);
    fs::create_directories(out_);
  }
  fs::path out_;
};

TEST_F(Report, DemoReportIsSelfContainedAndEveryChartIsDrawn) {
  ASSERT_EQ(InRepo("command -v chromium").rc, 0)
      << "chromium is not installed; run scripts/install-deps.sh";
  const fs::path run = out_ / "pipeline";
  CommandRun r = InRepo(fmt::format("{} pipeline --config examples/demo.toml --out {} --quiet",
                                    ECPS_BINARY, run.string()));
  ASSERT_EQ(r.rc, 0) << r.out;
  ASSERT_TRUE(fs::exists(run / "ctr/curves.json"));
  ASSERT_TRUE(fs::exists(run / "segment/hierarchy.json"));
  const std::string html = Slurp(run / "report.html");
  for (const char* banned :
       {"http://", "https://", "<script", " src=", "url(", "@import", "<link"}) {
    EXPECT_EQ(Lower(html).find(banned), std::string::npos) << "report.html holds " << banned;
  }
  for (const char* part :
       {"ROC curve (AUC 0.7", "best F1 (t = ", "configured (--threshold)", "highest F1",
        "No evaluated example reaches the threshold 0.500", "segment 1 (20.0% of users): age"}) {
    EXPECT_NE(html.find(part), std::string::npos) << part;
  }

  // The screenshot, and no console message (a failed load or a parse error would make one).
  const fs::path png = out_ / "report.png";
  CommandRun shot = InRepo(fmt::format(
      "{} --user-data-dir={} --window-size=1500,4200 --screenshot={} file://{} "
      "2>&1",
      kChromium, (out_ / "profile").string(), png.string(), (run / "report.html").string()));
  ASSERT_EQ(shot.rc, 0) << shot.out;
  EXPECT_EQ(ConsoleLines(shot.out), "");
  ASSERT_TRUE(fs::exists(png)) << shot.out;
  const std::string image = Slurp(png);
  EXPECT_EQ(image.substr(1, 3), "PNG");
  EXPECT_GT(image.size(), 50000u) << "a page of charts, not a blank one";

  // Every chart laid out with its marks drawn.
  std::string probe = html;
  probe.insert(probe.rfind("</body>"), kProbe);
  std::ofstream(out_ / "report-probe.html") << probe;
  CommandRun dom = InRepo(fmt::format(
      "{} --user-data-dir={} --dump-dom file://{} 2>{}", kChromium, (out_ / "profile").string(),
      (out_ / "report-probe.html").string(), (out_ / "probe.log").string()));
  ASSERT_EQ(dom.rc, 0) << dom.out;
  EXPECT_EQ(ConsoleLines(Slurp(out_ / "probe.log")), "");
  const auto begin = dom.out.find("<pre id=\"probe\">"), end = dom.out.find("</pre>", begin);
  ASSERT_NE(begin, std::string::npos) << dom.out.substr(0, 2000);
  std::istringstream lines(dom.out.substr(begin + 16, end - begin - 16));
  std::map<std::string, int> drawn;
  for (std::string id; lines >> id;) lines >> drawn[id];
  const std::map<std::string, int> least = {// marks each chart has at least
                                            {"profiles", 20}, {"sizes", 4},    {"risk", 4},
                                            {"inertia", 2},   {"rec-full", 4}, {"rec-sampled", 4},
                                            {"roc", 2},       {"pr", 2},       {"calibration", 6},
                                            {"gain", 2},      {"lift", 2},     {"loss", 6},
                                            {"hierarchy", 7}};
  for (const auto& [id, n] : least) {
    ASSERT_TRUE(drawn.count(id)) << id << " missing";
    EXPECT_GE(drawn[id], n) << id;
  }
  EXPECT_EQ(drawn.size(), least.size()) << "charts that the test does not know";
  // The demo's 4 segments: 4 leaves and 3 merge links, each with its description.
  EXPECT_EQ(drawn["hierarchy"], 7);
  const std::string svg = ChartSvg(html, "hierarchy");
  EXPECT_EQ(Count(svg, "class=\"mark series link\""), 3u);
  EXPECT_NE(svg.find("<title>segments "), std::string::npos);
  std::size_t svgs = 0;
  for (auto p = html.find("<svg"); p != std::string::npos; p = html.find("<svg", p + 1)) ++svgs;
  // The mf stage draws its own rec-full and rec-sampled charts, as the recommend stage does.
  EXPECT_EQ(svgs, least.size() + 2);
  const auto mf = html.find("<section id=\"mf\">");
  ASSERT_NE(mf, std::string::npos);
  const std::string mf_section = html.substr(mf, html.find("</section>", mf) - mf);
  EXPECT_EQ(Count(mf_section, "data-chart=\"rec-full\""), 1u);
  EXPECT_EQ(Count(mf_section, "data-chart=\"rec-sampled\""), 1u);
  fs::remove_all(out_ / "profile");
}

TEST_F(Report, SomeStagesKeepTheOthersInBothReports) {
  const fs::path run = out_ / "stages";
  ASSERT_EQ(InRepo(fmt::format("{} pipeline --config examples/demo.toml --out {} --quiet",
                               ECPS_BINARY, run.string()))
                .rc,
            0);
  CommandRun again = InRepo(
      fmt::format("{} pipeline --config examples/demo.toml --out {} --stages segment --quiet",
                  ECPS_BINARY, run.string()));
  ASSERT_EQ(again.rc, 0) << again.out;
  const std::string summary = Slurp(run / "summary.md"), html = Slurp(run / "report.html");
  for (const auto& [stage, dir] : std::map<std::string, std::string>{
           {"generate", "data"}, {"recommend", "recommend"}, {"ctr", "ctr"}}) {
    EXPECT_NE(summary.find(fmt::format("## {}:", stage)), std::string::npos) << stage << "\n"
                                                                             << summary;
    EXPECT_NE(
        summary.find(fmt::format("the outputs an earlier run left in `{}`", (run / dir).string())),
        std::string::npos)
        << stage;
  }
  EXPECT_NE(summary.find("| segment | user segments (k-means) | 0."), std::string::npos) << summary;
  EXPECT_NE(summary.find("| ctr | click / conversion model (logistic regression) | earlier run |"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("Segments (`profiles.json`):\n\n- segment 0 ("), std::string::npos)
      << summary;
  EXPECT_NE(html.find("data-chart=\"roc\""), std::string::npos);
  EXPECT_NE(html.find("data-chart=\"inertia\""), std::string::npos);

  // A new --out lacks the generated data: refused before anything runs, naming the way out.
  const fs::path fresh = out_ / "fresh";
  CommandRun alone = InRepo(
      fmt::format("{} pipeline --config examples/demo.toml --out {} --stages segment --quiet",
                  ECPS_BINARY, fresh.string()));
  EXPECT_EQ(alone.rc, 2) << alone.out;
  EXPECT_NE(alone.out.find(fmt::format(
                "stage [segment] reads {}/data/users.csv, which stage [generate] writes",
                fresh.string())),
            std::string::npos)
      << alone.out;
  EXPECT_NE(alone.out.find("(--stages generate,segment)"), std::string::npos) << alone.out;
  EXPECT_FALSE(fs::exists(fresh));
}

// Feature names from the data are escaped; with a label column the segment section also
// draws the risk score's curves (kmeans' curves.json).
TEST_F(Report, NamesFromTheDataAreEscapedAndRiskCurvesDrawn) {
  {
    std::ofstream users(out_ / "users.csv");
    users << "id,a<b>&x,plain,fraud\n";
    for (int i = 0; i < 40; ++i) {  // two groups; the far members of each are the frauds
      const int far = i % 10 == 0;
      users << fmt::format("{},{},{},{}\n", i, (i % 2) * 10 + (far ? 4 : i % 3), 5 + i % 4, far);
    }
  }
  std::ofstream(out_ / "p.toml") << fmt::format(
      "out = \"{0}/run\"\n[segment]\ndata = \"{0}/users.csv\"\nid-column = \"id\"\n"
      "features = [\"a<b>&x\", \"plain\"]\nlabel-column = \"fraud\"\nk = 2\nseed = 1\n"
      "anomaly-scores = true\nanomaly-rate = 0.1\n",
      out_.string());
  CommandRun r =
      InRepo(fmt::format("{} pipeline --config {}/p.toml --quiet", ECPS_BINARY, out_.string()));
  ASSERT_EQ(r.rc, 0) << r.out;
  const std::string html = Slurp(out_ / "run/report.html");
  EXPECT_EQ(html.find("a<b>"), std::string::npos);
  EXPECT_NE(html.find("a&lt;b&gt;&amp;x"), std::string::npos);
  const auto curves = Json(out_ / "run/segment/curves.json");
  EXPECT_EQ(curves["positives"].get<int>(), 4);
  EXPECT_EQ(curves["marked"][0]["name"], "anomaly threshold");
  for (const char* chart : {"risk-roc", "risk-pr", "risk-gain", "risk-lift"}) {
    EXPECT_NE(html.find(fmt::format("data-chart=\"{}\"", chart)), std::string::npos) << chart;
  }
  EXPECT_EQ(html.find("data-chart=\"risk-calibration\""), std::string::npos)
      << "a risk score is not a probability";
  EXPECT_FALSE(fs::exists(out_ / "run/segment/hierarchy.json"));
  EXPECT_EQ(html.find("data-chart=\"hierarchy\""), std::string::npos) << "no dendrogram without it";
}

}  // namespace
}  // namespace ecps::testing
