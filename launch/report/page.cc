#include "launch/report/page.h"

#include <fmt/format.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "launch/report/stage_charts.h"
#include "launch/report/svg.h"
#include "util/files.h"

namespace ecps::launch::report {
namespace {
namespace fs = std::filesystem;

constexpr const char* kStyle = R"(
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 24px auto; max-width: 1500px;
       padding: 0 16px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 1px solid #ccc; padding-bottom: 3px; }
table { border-collapse: collapse; margin: 8px 0 12px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
code { background: #f3f3f3; padding: 1px 4px; word-break: break-all; }
pre { white-space: pre-wrap; word-break: break-all; }
.note { color: #555; }
.warning { background: #fff3cd; border: 1px solid #e0c36b; padding: 6px 10px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; border: 1px solid #e3e3e3; padding: 6px; background: #fff; }
figcaption { max-width: 460px; font-size: 12px; color: #555; }
svg.chart { display: block; background: #fff; font-family: system-ui, sans-serif; }
svg .title { font-size: 14px; font-weight: 600; fill: #222; }
svg .tick, svg .legend, svg .value { font-size: 11px; fill: #444; }
svg .value { font-size: 10px; }
svg .axis-label { font-size: 12px; fill: #222; }
svg .grid { stroke: #e6e6e6; stroke-width: 1; }
svg .zero { stroke: #888; stroke-width: 1; }
svg .frame { fill: none; stroke: #999; stroke-width: 1; }
svg .reference { stroke: #999; stroke-width: 1; stroke-dasharray: 5 4; }
svg .series { fill: none; stroke-width: 2; }
svg .marker { fill: none; stroke: #222; stroke-width: 2; }
svg .marker-label { font-size: 11px; fill: #222; }
svg .cell-value { font-size: 10px; fill: #222; }
)";

std::string RowsTable(const Rows& rows) {
  if (rows.empty()) return {};
  std::string s = "<table>\n";
  for (const auto& [label, value] : rows) {
    s += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", EscapeHtml(label), EscapeHtml(value));
  }
  return s + "</table>\n";
}

std::string StageSection(const StageResult& st) {
  std::string s = fmt::format("<section id=\"{0}\">\n<h2>{0}: {1}</h2>\n", EscapeHtml(st.name),
                              EscapeHtml(st.what));
  if (!st.ran) {
    s += fmt::format(
        "<p class=\"note\">Not run this time: the outputs an earlier run left in "
        "<code>{}</code>.</p>\n",
        EscapeHtml(st.dir));
  }
  if (st.name == "generate") {
    s += fmt::format(
        "<p>Synthetic shop in <code>{}</code>; the planted truth is in its <code>truth/</code> "
        "folder.</p>\n",
        EscapeHtml(st.dir));
  }
  std::ifstream in(fs::path(st.dir) / "metrics.json");
  if (!in) return s + "</section>\n";
  const nlohmann::json m = nlohmann::json::parse(in, nullptr, false);
  if (!m.is_object())
    return s + "<p class=\"warning\">metrics.json is unreadable.</p>\n</section>\n";
  s += RowsTable(StageRows(st.name, m));
  if (st.name == "ctr") s += CtrCharts(st.dir, m);
  if (st.name == "segment") s += SegmentCharts(st.dir, m);
  if (st.name == "recommend" || st.name == "mf") s += RecommendCharts(m);
  if (st.name == "segment" || st.name == "recommend" || st.name == "ctr") {
    const auto privacy = PrivacyRows(m);
    s += privacy
             ? "<p>Privacy budget of this stage (differential privacy; <code>metrics.json</code> → "
               "<code>privacy</code>):</p>\n" +
                   RowsTable(*privacy)
             : "<p class=\"note\">Privacy: not differentially private (trained without "
               "<code>--dp-*</code> options).</p>\n";
  }
  return s + "</section>\n";
}

}  // namespace

std::string RenderReportHtml(const std::vector<StageResult>& stages) {
  std::time_t now = std::time(nullptr);
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  std::string s = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>ecps pipeline report</title>\n<style>{}</style>\n</head>\n<body>\n"
      "<h1>ecps pipeline report</h1>\n<p class=\"note\">Written {} by ecps 0.1.0. The same numbers "
      "as summary.md, with charts; each stage's files are in its folder.</p>\n",
      kStyle, when);
  std::vector<std::vector<std::string>> rows;
  double total = 0;
  s += "<table>\n<tr><th>stage</th><th>what</th><th>time (s)</th><th>outputs</th></tr>\n";
  for (const auto& st : stages) {
    s += fmt::format(
        "<tr><td><a "
        "href=\"#{0}\">{0}</a></td><td>{1}</td><td>{2}</td><td><code>{3}</code></td></tr>\n",
        EscapeHtml(st.name), EscapeHtml(st.what),
        st.ran ? fmt::format("{:.2f}", st.seconds) : "earlier run", EscapeHtml(st.dir));
    if (st.ran) total += st.seconds;
  }
  s += fmt::format("<tr><th>total</th><td></td><td>{:.2f}</td><td></td></tr>\n</table>\n", total);
  for (const auto& st : stages) s += StageSection(st);
  const std::string serve = ServeCommand(stages);
  if (!serve.empty()) {
    s += fmt::format(
        "<section id=\"serving\">\n<h2>Serving</h2>\n<p>Answer these models over HTTP (README, "
        "Serving):</p>\n<pre><code>{}</code></pre>\n</section>\n",
        EscapeHtml(serve));
  }
  return s + "</body>\n</html>\n";
}

Status WriteReportHtml(const std::string& out, const std::vector<StageResult>& stages) {
  return util::WriteFileAtomic((fs::path(out) / "report.html").string(), RenderReportHtml(stages));
}

}  // namespace ecps::launch::report
