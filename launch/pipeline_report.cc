#include "launch/pipeline_report.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/crc32.h"
#include "util/files.h"
#include "worker/csv.h"
#include "worker/line_reader.h"

namespace ecps::launch {
namespace {
namespace fs = std::filesystem;

std::string Number(const nlohmann::json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return fmt::format("{}", v.get<long long>());
  if (v.is_number_float()) return fmt::format("{:.6g}", v.get<double>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_string()) return v.get<std::string>();
  return {};
}

// Renders metrics.json: scalars in one table, objects of scalars side by side.
std::string MetricsMarkdown(const nlohmann::json& m) {
  std::string scalars, objects;
  std::vector<std::string> names;
  std::map<std::string, std::map<std::string, std::string>> rows;  // metric -> object -> value
  std::vector<std::string> row_order;
  for (const auto& [k, v] : m.items()) {
    if (v.is_number() || v.is_boolean()) {
      scalars += fmt::format("| {} | {} |\n", k, Number(v));
    } else if (v.is_object()) {
      bool flat = !v.empty() && std::all_of(v.begin(), v.end(), [](const auto& x) { return x.is_number(); });
      if (!flat) continue;
      names.push_back(k);
      for (const auto& [mk, mv] : v.items()) {
        if (!rows.count(mk)) row_order.push_back(mk);
        rows[mk][k] = Number(mv);
      }
    }
  }
  std::string s;
  if (!scalars.empty()) s += "| metric | value |\n|---|---|\n" + scalars + "\n";
  if (!names.empty()) {
    s += "| metric |";
    for (const auto& n : names) s += " " + n + " |";
    s += "\n|---|";
    for (std::size_t i = 0; i < names.size(); ++i) s += "---|";
    s += "\n";
    for (const auto& r : row_order) {
      s += "| " + r + " |";
      for (const auto& n : names) s += " " + (rows[r].count(n) ? rows[r][n] : std::string("")) + " |";
      s += "\n";
    }
    s += "\n";
  }
  return s;
}

// A small CSV file as a markdown table (numbers shortened).
std::string CsvMarkdown(const std::string& path, std::size_t max_rows) {
  auto reader = worker::LineReader::OpenFile(path);
  if (!reader.ok()) return {};
  std::string s;
  std::string_view line;
  std::vector<std::string_view> f;
  std::deque<std::string> scratch;
  std::size_t row = 0;
  while (true) {
    auto got = (*reader)->Next(&line);
    if (!got.ok() || !*got || row > max_rows) break;
    if (!worker::SplitCsv(line, ',', &f, &scratch).ok()) break;
    s += "|";
    for (auto v : f) {
      auto d = worker::ParseDouble(v);
      s += " " + (d && row > 0 ? fmt::format("{:.4g}", *d) : std::string(v)) + " |";
    }
    s += "\n";
    if (row == 0) {
      s += "|";
      for (std::size_t i = 0; i < f.size(); ++i) s += "---|";
      s += "\n";
    }
    ++row;
  }
  return s;
}

// The one-line description of every segment in profiles.json, as a list (empty without).
std::string DescriptionsMarkdown(const fs::path& path) {
  std::ifstream in(path);
  const auto j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object() || !j.contains("segments") || !j["segments"].is_array()) return {};
  std::string s;
  for (const auto& seg : j["segments"]) {
    if (seg.is_object() && seg.contains("description") && seg["description"].is_string()) {
      s += "- " + seg["description"].get<std::string>() + "\n";
    }
  }
  return s.empty() ? s : "Segments (`profiles.json`):\n\n" + s + "\n";
}

// Rows of the listed keys that are present (nested with '/') and are scalars.
Rows KeyRows(const nlohmann::json& m,
             const std::vector<std::pair<std::string, std::string>>& keys) {
  Rows rows;
  for (const auto& [path, label] : keys) {
    const nlohmann::json* v = &m;
    std::size_t start = 0;
    bool found = true;
    while (found) {
      auto slash = path.find('/', start);
      std::string part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      if (!v->is_object() || !v->contains(part)) {
        found = false;
        break;
      }
      v = &(*v)[part];
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    if (found && !v->is_null() && !v->is_object() && !v->is_array()) {
      rows.emplace_back(label, Number(*v));
    }
  }
  return rows;
}

std::string RowsMarkdown(const Rows& rows) {
  if (rows.empty()) return {};
  std::string s = "| | |\n|---|---|\n";
  for (const auto& [label, value] : rows) s += fmt::format("| {} | {} |\n", label, value);
  return s + "\n";
}

Rows SegmentRows(const nlohmann::json& m) {
  return KeyRows(m, {{"users", "users"},
                     {"k", "segments (k)"},
                     {"normalize", "normalisation"},
                     {"iterations", "iterations"},
                     {"inertia", "inertia (normalised space)"},
                     {"silhouette", "silhouette (seeded sample)"},
                     {"davies_bouldin", "Davies-Bouldin index"},
                     {"anomaly/flagged", "users flagged as anomalies"},
                     {"anomaly/score", "risk score"},
                     {"roc_auc", "risk score ROC AUC against the label"},
                     {"roc_auc_by_score/relative", "ROC AUC of the relative score"},
                     {"roc_auc_by_score/distance", "ROC AUC of the plain distance"}});
}

Rows RecommendRows(const nlohmann::json& m) {
  return KeyRows(m, {{"data/users", "users"},
                     {"data/items", "items"},
                     {"data/rows", "interactions"},
                     {"evaluation/split", "split"},
                     {"evaluation/users", "users evaluated"},
                     {"coverage/itemcf", "catalogue coverage (model)"},
                     {"coverage/mf", "catalogue coverage (model)"},
                     {"coverage/popularity", "catalogue coverage (popularity)"}});
}

Rows CtrRows(const nlohmann::json& m) {
  return KeyRows(m, {{"train_rows", "training rows"},
                     {"eval_rows", "evaluation rows"},
                     {"evaluated_on", "evaluated on"},
                     {"auc", "AUC"},
                     {"logloss", "logloss"},
                     {"accuracy", "accuracy"},
                     {"precision", "precision"},
                     {"recall", "recall"},
                     {"f1", "F1"},
                     {"threshold", "threshold"},
                     {"observed_positive_rate", "observed positive rate"},
                     {"predicted_positive_rate", "mean predicted probability"},
                     {"nonzero_weights", "non-zero weights"},
                     {"examples_per_s", "training examples/s"}});
}

std::string RecommendMarkdown(const nlohmann::json& m) {
  std::string s = RowsMarkdown(RecommendRows(m));
  const auto& e = m.value("evaluation", nlohmann::json::object());
  if (!e.contains("full") || !e.contains("sampled")) return s;
  const std::string model = m.value("model", std::string("model"));
  s += fmt::format("Quality against the popularity baseline (full ranking over all items, and the SASRec "
                   "protocol: the held-out item among {} sampled items):\n\n",
                   e.value("sampled_negatives", 100));
  s += fmt::format("| metric | {m} (full) | popularity (full) | {m} (sampled) | popularity (sampled) |\n"
                   "|---|---|---|---|---|\n",
                   fmt::arg("m", model));
  const auto& full_model = e["full"].value(model, nlohmann::json::object());
  for (const auto& item : full_model.items()) {
    const std::string metric = item.key();  // not a structured binding: clang 15 cannot capture one
    auto get = [&](const char* proto, const std::string& who) {
      const auto& p = e[proto];
      return p.contains(who) && p[who].contains(metric) ? Number(p[who][metric]) : std::string();
    };
    s += fmt::format("| {} | {} | {} | {} | {} |\n", metric, get("full", model), get("full", "popularity"),
                     get("sampled", model), get("sampled", "popularity"));
  }
  return s + "\n";
}

// The F1-best threshold beside the configured one, and a warning when the configured one
// called nothing positive (recall 0, precision and F1 undefined).
std::string ThresholdMarkdown(const nlohmann::json& m) {
  const auto best = m.find("best_f1");
  if (best == m.end() || !best->is_object()) return "";
  std::string s;
  const auto at = m.find("predicted_positive_at_threshold");
  if (at != m.end() && at->is_number() && at->get<double>() == 0) {
    s += fmt::format("**No evaluated example reaches the threshold {}**: recall is 0, precision "
                     "and F1 are undefined, and accuracy is the share of negatives.\n\n",
                     Number(m.value("threshold", nlohmann::json())));
  }
  return s + fmt::format("F1 is highest from threshold {}: precision {}, recall {}, F1 {} "
                         "(`metrics.json` → `best_f1`; `--threshold` sets the one above).\n\n",
                         Number((*best)["threshold"]), Number((*best)["precision"]),
                         Number((*best)["recall"]), Number((*best)["f1"]));
}

std::string CtrMarkdown(const nlohmann::json& m) {
  return RowsMarkdown(CtrRows(m)) + ThresholdMarkdown(m);
}

std::string PrivacyMarkdown(const nlohmann::json& m) {
  const auto rows = PrivacyRows(m);
  if (!rows) return "Privacy: not differentially private (trained without `--dp-*` options).\n\n";
  return "Privacy budget of this stage (differential privacy; `metrics.json` → `privacy`):\n\n" +
         RowsMarkdown(*rows);
}

std::string ServeMarkdown(const std::vector<StageResult>& stages) {
  const std::string command = ServeCommand(stages);
  if (command.empty()) return "";
  return "## Serving\n\nAnswer these models over HTTP (README, Serving):\n\n```sh\n" + command +
         "\n```\n\n";
}

}  // namespace

std::optional<Rows> PrivacyRows(const nlohmann::json& m) {
  const auto it = m.find("privacy");
  if (it == m.end() || !it->is_object()) return std::nullopt;
  Rows rows;
  for (const auto& [key, value] : it->items()) {
    if (value.is_object()) {
      for (const auto& [sub, v] : value.items()) {
        if (!v.is_object() && !v.is_array()) {
          rows.emplace_back(fmt::format("{}.{}", key, sub), Number(v));
        }
      }
    } else if (!value.is_array()) {
      rows.emplace_back(key, Number(value));
    }
  }
  return rows;
}

std::string ServeCommand(const std::vector<StageResult>& stages) {
  std::string models;
  for (const auto& st : stages) {
    const fs::path dir(st.dir);
    if (fs::exists(dir / "model.bin") || fs::exists(dir / "model.ecps")) {
      models += fmt::format(" --model {}={}", st.name, st.dir);
    }
  }
  return models.empty() ? std::string() : "ecps serve --port 8500" + models;
}

Rows StageRows(const std::string& stage, const nlohmann::json& m) {
  if (stage == "segment") return SegmentRows(m);
  if (stage == "recommend" || stage == "mf") return RecommendRows(m);
  if (stage == "ctr") return CtrRows(m);
  return {};
}

Status WriteSummary(const std::string& out, const std::vector<StageResult>& stages) {
  std::string s = "# ecps pipeline report\n\n";
  std::time_t now = std::time(nullptr);
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  s += fmt::format("Written {} by ecps 0.1.0. The same with charts: `report.html` beside this file.\n\n",
                   when);
  s += "| stage | what | time (s) | outputs |\n|---|---|---|---|\n";
  double total = 0;
  for (const auto& st : stages) {
    const std::string secs = st.ran ? fmt::format("{:.2f}", st.seconds) : "earlier run";
    s += fmt::format("| {} | {} | {} | `{}` |\n", st.name, st.what, secs, st.dir);
    if (st.ran) total += st.seconds;
  }
  s += fmt::format("| **total** | | {:.2f} | |\n\n", total);
  for (const auto& st : stages) {
    s += fmt::format("## {}: {}\n\n", st.name, st.what);
    if (!st.ran) {
      s += fmt::format("Not run this time: the outputs an earlier run left in `{}`.\n\n", st.dir);
    }
    if (st.name == "generate") s += fmt::format("Synthetic shop in `{}`; the planted truth is in its `truth/` folder.\n\n", st.dir);
    const fs::path metrics = fs::path(st.dir) / "metrics.json";
    if (fs::exists(metrics)) {
      try {
        std::ifstream in(metrics);
        const auto m = nlohmann::json::parse(in);
        if (st.name == "segment") {
          s += RowsMarkdown(SegmentRows(m));
        } else if (st.name == "recommend" || st.name == "mf") {
          s += RecommendMarkdown(m);
        } else if (st.name == "ctr") {
          s += CtrMarkdown(m);
        } else {
          s += MetricsMarkdown(m);
        }
        if (st.name == "segment" || st.name == "recommend" || st.name == "ctr") s += PrivacyMarkdown(m);
      } catch (const std::exception& e) {
        s += fmt::format("(metrics.json unreadable: {})\n\n", e.what());
      }
    }
    const fs::path profiles = fs::path(st.dir) / "profiles.csv";
    s += DescriptionsMarkdown(fs::path(st.dir) / "profiles.json");
    if (fs::exists(profiles)) {
      s += "Segment profiles (original units):\n\n" + CsvMarkdown(profiles.string(), 50) + "\n";
    }
  }
  s += ServeMarkdown(stages);
  return util::WriteFileAtomic((fs::path(out) / "summary.md").string(), s);
}

Status WriteManifest(const std::string& out) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(out)) {
    if (!e.is_regular_file()) continue;
    std::string rel = fs::relative(e.path(), out).string();
    if (rel == "manifest.json") continue;
    files.push_back(rel);
  }
  std::sort(files.begin(), files.end());
  nlohmann::json list = nlohmann::json::array();
  for (const auto& rel : files) {
    ECPS_ASSIGN_OR_RETURN(auto crc, util::FileCrc32((fs::path(out) / rel).string()));
    list.push_back({{"path", rel}, {"bytes", crc.second}, {"crc32", fmt::format("{:08x}", crc.first)}});
  }
  return util::WriteJsonFile((fs::path(out) / "manifest.json").string(), {{"files", list}});
}

}  // namespace ecps::launch
