#include "launch/report/stage_charts.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <vector>

#include "launch/report/plot.h"
#include "launch/report/svg.h"
#include "worker/csv.h"
#include "worker/line_reader.h"

namespace ecps::launch::report {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::optional<json> ReadJson(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// The lines of a JSON-lines file that parse as objects.
std::vector<json> ReadJsonLines(const fs::path& path) {
  std::vector<json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, false);
    if (j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

double Num(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : kNaN;
}

std::vector<double> Column(const json& j, const char* key) {
  std::vector<double> v;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return v;
  for (const auto& x : *it) v.push_back(x.is_number() ? x.get<double>() : kNaN);
  return v;
}

std::string Figure(const std::string& svg, const std::string& caption) {
  return fmt::format("<figure>{}<figcaption>{}</figcaption></figure>\n", svg, EscapeHtml(caption));
}

std::string Charts(const std::string& figures) {
  return figures.empty() ? std::string() : "<div class=\"charts\">\n" + figures + "</div>\n";
}

std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::string s = "<table><tr>";
  for (const auto& h : header) s += "<th>" + EscapeHtml(h) + "</th>";
  s += "</tr>\n";
  for (const auto& r : rows) {
    s += "<tr>";
    for (const auto& c : r) s += "<td>" + EscapeHtml(c) + "</td>";
    s += "</tr>\n";
  }
  return s + "</table>\n";
}

std::string Cell(double v, int decimals = 4) {
  return std::isfinite(v) ? FormatNumber(v, decimals) : "undefined";
}

// --- ctr -------------------------------------------------------------------------------

std::string ThresholdTable(const json& m, const std::optional<json>& curves) {
  const auto best = m.find("best_f1");
  if (best == m.end() || !best->is_object()) return {};
  // Share of examples called positive at a marked threshold, from curves.json.
  auto share = [&](const char* name) {
    if (!curves) return kNaN;
    const double n = Num(*curves, "positives") + Num(*curves, "negatives");
    for (const auto& mk : curves->value("marked", json::array())) {
      if (mk.value("name", "") == name) return (Num(mk, "tp") + Num(mk, "fp")) / n;
    }
    return kNaN;
  };
  std::string s;
  if (Num(m, "predicted_positive_at_threshold") == 0) {
    s += fmt::format(
        "<p class=\"warning\">No evaluated example reaches the threshold {}: recall is 0, "
        "precision and F1 are undefined, and accuracy is the share of negatives. The "
        "F1-best threshold below calls {} of the examples positive.</p>\n",
        EscapeHtml(FormatNumber(Num(m, "threshold"), 3)),
        EscapeHtml(Cell(100 * share("best_f1"), 1) + "%"));
  }
  const double at = Num(m, "predicted_positive_at_threshold");
  s += Table({"threshold", "", "called positive", "precision", "recall", "F1"},
             {{Cell(Num(m, "threshold"), 3), "configured (--threshold)", Cell(100 * at, 1) + "%",
               Cell(Num(m, "precision")), Cell(Num(m, "recall")), Cell(Num(m, "f1"))},
              {Cell(Num(*best, "threshold")), "highest F1", Cell(100 * share("best_f1"), 1) + "%",
               Cell(Num(*best, "precision")), Cell(Num(*best, "recall")), Cell(Num(*best, "f1"))}});
  return s;
}

std::string MarkerLabel(const json& mk) {
  const std::string name = mk.value("name", "");
  const double t = Num(mk, "threshold");
  if (name == "best_f1") return fmt::format("best F1 (t = {:.3g})", t);
  if (name == "threshold") return fmt::format("t = {:.3g}", t);
  return fmt::format("{} (t = {:.3g})", name, t);
}

// What the curves of a score show: chart ids start with `prefix`; `rings` says what the
// marked thresholds are; calibration only for scores that are probabilities.
struct CurveOptions {
  std::string prefix;
  std::string score;  ///< "model", "risk score": the legend's and the titles' name
  double auc;
  std::string rings;
  bool probabilities;
};

std::string CurveFigures(const json& c, const CurveOptions& o) {
  const double P = Num(c, "positives"), N = Num(c, "negatives"), n = P + N;
  if (!(P > 0) || !(N > 0)) return {};
  const json& pts = c.value("points", json::object());
  const auto tp = Column(pts, "tp"), fp = Column(pts, "fp");
  LineChart roc{o.prefix + "roc",
                fmt::format("ROC curve{} (AUC {:.4f})",
                            o.score == "model" ? "" : " of the " + o.score, o.auc),
                "false positive rate", "true positive rate"};
  LineChart pr{o.prefix + "pr", "Precision-recall", "recall", "precision"};
  LineChart gain{o.prefix + "gain", "Cumulative gain",
                 "share of examples targeted (highest scores first)", "share of positives found"};
  LineChart lift{o.prefix + "lift", "Lift", "share of examples targeted (highest scores first)",
                 "lift over random"};
  LineSeries r{o.score, {0}, {0}}, p{o.score, {}, {}}, g{o.score, {0}, {0}}, l{o.score, {}, {}};
  for (std::size_t i = 0; i < std::min(tp.size(), fp.size()); ++i) {
    const double called = tp[i] + fp[i];
    r.x.push_back(fp[i] / N);
    r.y.push_back(tp[i] / P);
    g.x.push_back(called / n);
    g.y.push_back(tp[i] / P);
    if (called > 0) {
      p.x.push_back(tp[i] / P);
      p.y.push_back(tp[i] / called);
      l.x.push_back(called / n);
      l.y.push_back((tp[i] / P) / (called / n));
    }
  }
  roc.series = {r};
  pr.series = {p, {"positive rate (random)", {0, 1}, {P / n, P / n}}};
  gain.series = {g};
  lift.series = {l, {"random", {0, 1}, {1, 1}}};
  roc.diagonal = gain.diagonal = true;
  for (LineChart* ch : {&roc, &pr, &gain}) ch->x_min = ch->y_min = 0, ch->x_max = ch->y_max = 1;
  lift.x_min = lift.y_min = 0;
  lift.x_max = 1;
  for (const auto& mk : c.value("marked", json::array())) {
    const double t = Num(mk, "tp"), f = Num(mk, "fp");
    roc.markers.push_back({MarkerLabel(mk), f / N, t / P});
    gain.markers.push_back({MarkerLabel(mk), (t + f) / n, t / P});
    if (t + f > 0) pr.markers.push_back({MarkerLabel(mk), t / P, t / (t + f)});
  }
  std::string s = Figure(RenderLineChart(roc),
                         "True against false positive rate for every threshold; the "
                         "diagonal is a random score. Rings: " +
                             o.rings + ".");
  s += Figure(RenderLineChart(pr),
              "Precision against recall for every threshold; the flat line is the "
              "positive rate, what a random score reaches.");
  const json& cal = c.value("calibration", json::object());
  LineChart calib{o.prefix + "calibration", "Calibration (reliability)",
                  "mean predicted probability", "observed positive rate"};
  calib.series = {
      {"bins of equal size", Column(cal, "mean_score"), Column(cal, "positive_rate"), true, true}};
  calib.diagonal = true;
  double top = 0;
  for (const auto& v : {calib.series[0].x, calib.series[0].y}) {
    for (double x : v) top = std::isfinite(x) ? std::max(top, x) : top;
  }
  calib.x_min = calib.y_min = 0;
  calib.x_max = calib.y_max = std::min(1.0, NiceTicks(0, top, 5).hi);
  if (o.probabilities && !calib.series[0].x.empty()) {
    s += Figure(RenderLineChart(calib),
                fmt::format("The examples in {} bins of about equal size by predicted "
                            "probability: on the diagonal, predictions match the "
                            "observed rate.",
                            calib.series[0].x.size()));
  }
  s += Figure(RenderLineChart(gain),
              "Share of all positives among the examples with the highest scores; the "
              "diagonal is a random order.");
  s += Figure(RenderLineChart(lift),
              "How many times the positive rate of the targeted share exceeds the "
              "overall rate.");
  return s;
}

std::string LossFigure(const fs::path& dir) {
  LineSeries train{"training", {}, {}, true, true}, test{"evaluation", {}, {}, true, true};
  for (const auto& line : ReadJsonLines(dir / "metrics.jsonl")) {
    const double epoch = Num(line, "epoch");
    train.x.push_back(epoch);
    train.y.push_back(Num(line, "train_logloss"));
    test.x.push_back(epoch);
    test.y.push_back(line.contains("test") ? Num(line["test"], "logloss") : kNaN);
  }
  LineChart c{"loss", "Log-loss per epoch", "epoch", "log-loss"};
  for (auto* s : {&train, &test}) {
    if (std::any_of(s->y.begin(), s->y.end(), [](double v) { return std::isfinite(v); }))
      c.series.push_back(*s);
  }
  if (c.series.empty()) return {};
  c.whole_x = true;
  return Figure(RenderLineChart(c),
                "Mean log-loss of each epoch on the training rows (as trained) and on the "
                "evaluation rows (after the epoch).");
}

// --- segment -----------------------------------------------------------------------------

// Per cluster: users, and users flagged as anomalies (assignments.csv).
struct ClusterRisk {
  double users = 0, flagged = 0;
};

std::map<long, ClusterRisk> ReadRisk(const fs::path& path, bool* has_scores) {
  std::map<long, ClusterRisk> out;
  *has_scores = false;
  auto reader = worker::LineReader::OpenFile(path.string());
  if (!reader.ok()) return out;
  std::string_view line;
  std::vector<std::string_view> f;
  std::deque<std::string> scratch;
  int cluster = -1, anomaly = -1;
  for (bool header = true;; header = false) {
    auto got = (*reader)->Next(&line);
    if (!got.ok() || !*got || !worker::SplitCsv(line, ',', &f, &scratch).ok()) break;
    if (header) {
      for (std::size_t i = 0; i < f.size(); ++i) {
        const int at = static_cast<int>(i);
        if (f[i] == "cluster") cluster = at;
        if (f[i] == "anomaly") anomaly = at;
      }
      if (cluster < 0 || anomaly < 0) return out;  // no risk scores (or sealed)
      *has_scores = true;
      continue;
    }
    if (f.size() <= static_cast<std::size_t>(std::max(cluster, anomaly))) break;
    const auto c = worker::ParseDouble(f[cluster]), an = worker::ParseDouble(f[anomaly]);
    if (!c || !an) break;
    ClusterRisk& r = out[static_cast<long>(*c)];
    r.users += 1;
    r.flagged += *an;
  }
  return out;
}

// The dendrogram of hierarchy.json (train kmeans --hierarchy); empty without one.
std::string HierarchyFigure(const fs::path& dir) {
  const auto h = ReadJson(dir / "hierarchy.json");
  if (!h || !h->contains("nodes") || !(*h)["nodes"].is_array()) return {};
  Dendrogram d{"hierarchy", "Segment hierarchy (Ward linkage)", "segment (share of users)",
               "merge height (normalised units)"};
  for (const auto& node : (*h)["nodes"]) {
    if (!node.is_object()) return {};
    const auto text = node.find("description");
    DendrogramNode out{-1, -1, Num(node, "height"), {},
                       text != node.end() && text->is_string() ? text->get<std::string>() : ""};
    const json children = node.value("children", json::array());
    if (children.size() == 2 && children[0].is_number_integer() &&
        children[1].is_number_integer()) {
      out.left = children[0].get<int>();
      out.right = children[1].get<int>();
    } else {
      out.label = fmt::format("{} ({:.0f}%)", FormatNumber(Num(node, "id"), 0),
                              100 * Num(node, "share"));
    }
    d.nodes.push_back(std::move(out));
  }
  const std::string svg = RenderDendrogram(d);
  if (svg.empty()) return {};
  return Figure(svg,
                "The segments merged two at a time by Ward linkage (weighted by size): "
                "cutting at a height leaves the groups below it. Hover a link or a leaf "
                "for its profile.");
}

}  // namespace

std::string CtrCharts(const std::string& dir, const json& metrics) {
  const auto curves = ReadJson(fs::path(dir) / "curves.json");
  const CurveOptions o{"", "model", Num(metrics, "auc"),
                       "the configured threshold and the one with the highest F1", true};
  std::string figures = curves ? CurveFigures(*curves, o) : std::string();
  figures += LossFigure(dir);
  return ThresholdTable(metrics, curves) + Charts(figures);
}

std::string SegmentCharts(const std::string& dir, const json& metrics) {
  std::string figures, table;
  const auto profiles = ReadJson(fs::path(dir) / "profiles.json");
  if (profiles && profiles->contains("segments") && (*profiles)["segments"].is_array()) {
    const json& segs = (*profiles)["segments"];
    std::vector<std::string> features;
    for (const auto& f : metrics.value("features", json::array())) {
      if (f.is_string()) features.push_back(f.get<std::string>());
    }
    if (features.empty() && !segs.empty()) {
      for (const auto& [k, v] : segs[0].value("centroid", json::object()).items())
        features.push_back(k);
    }
    const json mean = profiles->value("overall_mean", json::object()),
               sd = profiles->value("overall_sd", json::object());
    const bool overall = !sd.empty() && !mean.empty();
    Heatmap map{"profiles",
                "Segment profiles: standardised means",
                {},
                features,
                {},
                2,
                overall ? "(segment mean - overall mean) / overall standard deviation"
                        : "(segment mean - mean of the segments) / their standard deviation"};
    BarChart sizes{"sizes", "Segment sizes", "share of users (%)", {}, {{"share of users", {}}}, 1};
    bool has_scores = false;
    const auto risk = ReadRisk(fs::path(dir) / "assignments.csv", &has_scores);
    BarChart flagged{"risk", "Flagged as anomalies", "share of the segment (%)",
                     {},     {{"flagged", {}}},      1};
    std::vector<std::vector<std::string>> rows;
    for (const auto& seg : segs) {
      const long id = seg.value("segment", 0L);
      const double share = Num(seg, "share");
      map.rows.push_back(fmt::format("segment {} ({:.0f}%)", id, 100 * share));
      sizes.categories.push_back(fmt::format("segment {}", id));
      sizes.series[0].values.push_back(100 * share);
      const auto it = risk.find(id);
      const ClusterRisk r = it == risk.end() ? ClusterRisk{} : it->second;
      flagged.categories.push_back(sizes.categories.back());
      flagged.series[0].values.push_back(r.users > 0 ? 100 * r.flagged / r.users : kNaN);
      rows.push_back(
          {std::to_string(id), seg.value("description", ""), Cell(Num(seg, "size"), 0),
           Cell(Num(seg, "mean_distance"), 3),
           has_scores ? Cell(r.users > 0 ? 100 * r.flagged / r.users : kNaN, 1) + "%" : ""});
    }
    map.values.assign(segs.size() * features.size(), kNaN);
    for (std::size_t k = 0; k < features.size(); ++k) {
      const char* f = features[k].c_str();
      std::vector<double> col;
      for (const auto& seg : segs) col.push_back(Num(seg.value("centroid", json::object()), f));
      double centre = 0, spread = 0;
      if (overall) {
        centre = Num(mean, f);
        spread = Num(sd, f);
      } else {
        for (double v : col) centre += v / static_cast<double>(col.size());
        for (double v : col)
          spread += (v - centre) * (v - centre) / static_cast<double>(col.size());
        spread = std::sqrt(spread);
      }
      for (std::size_t j = 0; j < col.size(); ++j) {
        map.values[j * features.size() + k] = spread > 0 ? (col[j] - centre) / spread : 0.0;
      }
    }
    if (!features.empty() && !segs.empty()) {
      figures += Figure(RenderHeatmap(map),
                        "Each segment's mean of every feature in standard deviations from "
                        "the mean of all users: red above, blue below.");
    }
    figures += Figure(RenderBarChart(sizes), "Share of the users in each segment.");
    if (has_scores) {
      figures += Figure(RenderBarChart(flagged),
                        "Share of each segment's users whose risk score reaches the "
                        "anomaly threshold.");
    }
    table = Table({"segment", "description (profiles.json)", "users", "mean distance (normalised)",
                   "flagged"},
                  rows);
  }
  // The risk score against the label (with --label-column).
  if (const auto curves = ReadJson(fs::path(dir) / "curves.json")) {
    const CurveOptions o{"risk-", "risk score", Num(metrics, "roc_auc"), "the anomaly threshold",
                         false};
    figures += CurveFigures(*curves, o);
  }
  figures += HierarchyFigure(dir);
  LineChart inertia{"inertia", "Inertia per iteration", "iteration", "inertia (normalised space)"};
  LineSeries s{"inertia", {}, {}, true, true};
  for (const auto& line : ReadJsonLines(fs::path(dir) / "metrics.jsonl")) {
    s.x.push_back(Num(line, "iteration"));
    s.y.push_back(Num(line, "inertia"));
  }
  if (std::any_of(s.y.begin(), s.y.end(), [](double v) { return std::isfinite(v); })) {
    inertia.series = {s};
    inertia.whole_x = true;
    figures += Figure(RenderLineChart(inertia),
                      "Sum of squared distances of the users to their centroids "
                      "after each Lloyd iteration.");
  }
  return Charts(figures) + table;
}

std::string RecommendCharts(const json& m) {
  const json& e = m.value("evaluation", json::object());
  const std::string model = m.value("model", std::string("model"));
  std::string figures;
  for (const auto& [proto, title] :
       {std::pair<const char*, std::string>{"full", "Full ranking over all items"},
        {"sampled",
         fmt::format("Held-out item among {} sampled items", e.value("sampled_negatives", 100))}}) {
    if (!e.contains(proto) || !e[proto].contains(model)) continue;
    const json& mine = e[proto][model];
    const json& pop = e[proto].value("popularity", json::object());
    BarChart c{std::string("rec-") + proto,       title, "score", {},
               {{model, {}}, {"popularity", {}}}, 3};
    for (const char* prefix : {"HR@", "NDCG@"}) {
      std::vector<std::pair<double, std::string>> names;
      for (const auto& [k, v] : mine.items()) {
        if (k.rfind(prefix, 0) == 0)
          names.emplace_back(std::atof(k.c_str() + std::strlen(prefix)), k);
      }
      std::sort(names.begin(), names.end());
      for (const auto& [k, name] : names) {
        c.categories.push_back(name);
        c.series[0].values.push_back(Num(mine, name.c_str()));
        c.series[1].values.push_back(Num(pop, name.c_str()));
      }
    }
    if (c.categories.empty()) continue;
    figures += Figure(RenderBarChart(c),
                      fmt::format("Hit rate and NDCG of {} against recommending the most "
                                  "popular items ({} protocol).",
                                  model, proto));
  }
  return Charts(figures);
}

}  // namespace ecps::launch::report
