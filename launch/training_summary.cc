#include "launch/training_summary.h"

#include <cstdio>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "launch/cluster.h"

namespace ecps::launch {
namespace {

using nlohmann::json;

struct Figure {
  const char* label;
  const char* pointer;  // JSON pointer into metrics.json
};

// The key figures of each model, in the order they are printed.
std::vector<Figure> FiguresOf(std::string_view model) {
  if (model == "lr") {
    return {{"training rows", "/train_rows"},
            {"evaluated rows", "/eval_rows"},
            {"evaluated on", "/evaluated_on"},
            {"AUC", "/auc"},
            {"log-loss", "/logloss"},
            {"accuracy", "/accuracy"},
            {"threshold", "/threshold"},
            {"best F1", "/best_f1/f1"},
            {"  at threshold", "/best_f1/threshold"},
            {"non-zero weights", "/nonzero_weights"},
            {"seconds", "/total_seconds"}};
  }
  if (model == "linreg") {
    return {{"training rows", "/train/examples"},
            {"evaluated rows", "/examples"},
            {"evaluated on", "/evaluated_on"},
            {"RMSE", "/rmse"},
            {"MAE", "/mae"},
            {"R2", "/r2"},
            {"training RMSE", "/train/rmse"},
            {"coefficients", "/columns"}};
  }
  if (model == "kmeans") {
    return {{"users", "/users"},
            {"k", "/k"},
            {"iterations", "/iterations"},
            {"stopped", "/stop_reason"},
            {"inertia", "/inertia"},
            {"silhouette", "/silhouette"},
            {"Davies-Bouldin", "/davies_bouldin"},
            {"segment sizes", "/sizes"}};
  }
  return {{"users", "/data/users"},
          {"items", "/data/items"},
          {"training interactions", "/data/train_interactions"},
          {"evaluated users", "/data/evaluated_users"},
          {"seconds", "/timings/total_s"}};
}

std::string Value(const json& v) {
  if (v.is_number_float()) return fmt::format("{:.6g}", v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array() && v.size() > 12) {
    return fmt::format("[{} values]", v.size());
  }
  return v.dump();
}

void Line(std::string* s, std::string_view label, const std::string& value) {
  *s += fmt::format("  {:<22} {}\n", label, value);
}

}  // namespace

std::string TrainingSummary(std::string_view model, const json& metrics, const std::string& out) {
  std::string s = fmt::format("train {}: done; {}/metrics.json holds every figure\n", model, out);
  for (const Figure& f : FiguresOf(model)) {
    const json::json_pointer p(f.pointer);
    if (!metrics.contains(p) || metrics.at(p).is_null()) continue;
    Line(&s, f.label, Value(metrics.at(p)));
  }
  if (model == "itemcf" || model == "usercf" || model == "mf") {
    // Each ranking metric of the full-ranking evaluation beside the popularity baseline's.
    const json::json_pointer full("/evaluation/full");
    if (metrics.contains(full) && metrics.at(full).contains(std::string(model))) {
      const json& m = metrics.at(full).at(std::string(model));
      const json pop = metrics.at(full).value("popularity", json::object());
      for (const auto& [name, v] : m.items()) {
        if (!v.is_number()) continue;
        Line(&s, name,
             pop.contains(name) ? fmt::format("{} (popularity {})", Value(v), Value(pop[name]))
                                : Value(v));
      }
    }
    const json::json_pointer cov("/coverage");
    if (metrics.contains(cov) && metrics.at(cov).contains(std::string(model))) {
      Line(&s, "catalogue coverage", Value(metrics.at(cov).at(std::string(model))));
    }
  }
  // mf --task rating: held-out RMSE and MAE beside the global-mean and bias baselines.
  if (const json::json_pointer r("/rating"); model == "mf" && metrics.contains(r)) {
    const json& j = metrics.at(r);
    Line(&s, "held-out ratings", Value(j["ratings"]));
    for (const auto& [label, key] : {std::pair{"rating RMSE", "rmse"}, std::pair{"rating MAE", "mae"}}) {
      if (j["mf"][key].is_null()) continue;
      Line(&s, label,
           fmt::format("{} (global mean {}, biases {})", Value(j["mf"][key]),
                       Value(j["global_mean"][key]), Value(j["biases"][key])));
    }
    Line(&s, "training RMSE", Value(j["train_rmse"]));
  }
  return s;
}

Status PrintTrainingSummary(bool quiet, std::string_view model, const std::string& out) {
  if (quiet || !IsPrintingProcess()) return Status::Ok();
  const std::string path = out + "/metrics.json";
  std::ifstream in(path);
  if (!in.is_open()) return IoError(path + ": cannot open the run's metrics");
  const json metrics = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (metrics.is_discarded()) return IoError(path + ": the run's metrics are not JSON");
  const std::string text = TrainingSummary(model, metrics, out);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);  // before any log line that follows on stderr
  return Status::Ok();
}

}  // namespace ecps::launch
