#include "models/lr/lr_eval.h"

#include <cmath>
#include <vector>

#include "models/common/binary_curves.h"
#include "models/lr/lr_kernels.h"

namespace ecps::models::lr {

BinaryEval BinaryEval::From(std::span<const float> p, std::span<const float> y, double threshold) {
  BinaryEval e;
  std::vector<double> scores(p.begin(), p.end());
  std::vector<int> labels(y.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    const bool pos = y[i] > 0.5f;
    labels[i] = pos ? 1 : 0;
    e.logloss_sum += LogLoss(p[i], pos ? 1.0 : 0.0);
    e.prob_sum += p[i];
    const bool said = p[i] >= threshold;
    e.tp += said && pos;
    e.fp += said && !pos;
    e.tn += !said && !pos;
    e.fn += !said && pos;
  }
  e.n = p.size();
  e.counts = ScoreCounts::From(scores, labels);
  return e;
}

void BinaryEval::Merge(const BinaryEval& o) {
  counts.Merge(o.counts);
  n += o.n;
  logloss_sum += o.logloss_sum;
  prob_sum += o.prob_sum;
  tp += o.tp;
  fp += o.fp;
  tn += o.tn;
  fn += o.fn;
}

namespace {
nlohmann::json Ratio(double num, double den) {
  if (den == 0 || !std::isfinite(num / den)) return nullptr;
  return num / den;
}
}  // namespace

nlohmann::json BinaryEval::ToJson(double threshold) const {
  nlohmann::json j;
  const double auc = ExactAuc(counts);
  j["auc"] = std::isnan(auc) ? nlohmann::json(nullptr) : nlohmann::json(auc);
  j["logloss"] = Ratio(logloss_sum, static_cast<double>(n));
  j["accuracy"] = Ratio(static_cast<double>(tp + tn), static_cast<double>(n));
  j["precision"] = Ratio(static_cast<double>(tp), static_cast<double>(tp + fp));
  j["recall"] = Ratio(static_cast<double>(tp), static_cast<double>(tp + fn));
  const double pr = tp + fp ? static_cast<double>(tp) / static_cast<double>(tp + fp) : 0;
  const double rc = tp + fn ? static_cast<double>(tp) / static_cast<double>(tp + fn) : 0;
  j["f1"] = Ratio(2 * pr * rc, pr + rc);
  j["threshold"] = threshold;
  j["predicted_positive_rate"] = Ratio(prob_sum, static_cast<double>(n));
  j["observed_positive_rate"] = Ratio(static_cast<double>(tp + fn), static_cast<double>(n));
  j["predicted_positive_at_threshold"] = Ratio(static_cast<double>(tp + fp), static_cast<double>(n));
  j["examples"] = n;
  if (const auto best = BestF1(counts)) {
    j["best_f1"] = {{"threshold", best->threshold},
                    {"precision", best->precision},
                    {"recall", best->recall},
                    {"f1", best->f1}};
  } else {
    j["best_f1"] = nullptr;
  }
  return j;
}

nlohmann::json BinaryEval::CurvesJson(double threshold) const {
  std::vector<std::pair<std::string, double>> marked{{"threshold", threshold}};
  if (const auto best = BestF1(counts)) marked.emplace_back("best_f1", best->threshold);
  return models::CurvesJson(counts, marked);
}

}  // namespace ecps::models::lr
