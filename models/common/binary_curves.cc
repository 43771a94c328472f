#include "models/common/binary_curves.h"

#include <algorithm>

namespace ecps::models {

std::vector<OperatingPoint> OperatingPoints(const ScoreCounts& c, std::size_t max_points) {
  std::vector<OperatingPoint> out;
  const std::uint64_t n = c.positives() + c.negatives();
  const double step =
      static_cast<double>(n) / static_cast<double>(std::max<std::size_t>(max_points, 2));
  std::uint64_t tp = 0, fp = 0, kept = 0;
  for (std::size_t i = c.scores.size(); i-- > 0;) {
    tp += c.pos[i];
    fp += c.neg[i];
    if (i == 0 || static_cast<double>(tp + fp - kept) >= step) {
      out.push_back({c.scores[i], tp, fp});
      kept = tp + fp;
    }
  }
  return out;
}

OperatingPoint AtThreshold(const ScoreCounts& c, double threshold) {
  OperatingPoint p{threshold, 0, 0};
  const auto first = std::lower_bound(c.scores.begin(), c.scores.end(), threshold);
  for (auto i = static_cast<std::size_t>(first - c.scores.begin()); i < c.scores.size(); ++i) {
    p.tp += c.pos[i];
    p.fp += c.neg[i];
  }
  return p;
}

std::vector<CalibrationBin> Calibration(const ScoreCounts& c, std::size_t bins) {
  std::vector<CalibrationBin> out;
  const std::uint64_t n = c.positives() + c.negatives();
  if (n == 0 || bins == 0) return out;
  double score_sum = 0;
  std::uint64_t pos = 0, count = 0, done = 0;
  for (std::size_t i = 0; i < c.scores.size(); ++i) {
    const std::uint64_t here = c.pos[i] + c.neg[i];
    score_sum += c.scores[i] * static_cast<double>(here);
    pos += c.pos[i];
    count += here;
    done += here;
    // Close the bin once it reaches its share of the examples (the (b+1)-th of `bins`).
    const double edge =
        static_cast<double>(n) * static_cast<double>(out.size() + 1) / static_cast<double>(bins);
    if (count > 0 && (static_cast<double>(done) >= edge || i + 1 == c.scores.size())) {
      out.push_back({score_sum / static_cast<double>(count),
                     static_cast<double>(pos) / static_cast<double>(count), count});
      score_sum = 0;
      pos = count = 0;
    }
  }
  return out;
}

nlohmann::json CurvesJson(const ScoreCounts& c,
                          std::span<const std::pair<std::string, double>> marked) {
  nlohmann::json points = {{"threshold", nlohmann::json::array()},
                           {"tp", nlohmann::json::array()},
                           {"fp", nlohmann::json::array()}};
  for (const auto& p : OperatingPoints(c, 200)) {
    points["threshold"].push_back(p.threshold);
    points["tp"].push_back(p.tp);
    points["fp"].push_back(p.fp);
  }
  nlohmann::json calibration = {{"mean_score", nlohmann::json::array()},
                                {"positive_rate", nlohmann::json::array()},
                                {"count", nlohmann::json::array()}};
  for (const auto& b : Calibration(c, 10)) {
    calibration["mean_score"].push_back(b.mean_score);
    calibration["positive_rate"].push_back(b.positive_rate);
    calibration["count"].push_back(b.count);
  }
  nlohmann::json marks = nlohmann::json::array();
  for (const auto& [name, t] : marked) {
    const OperatingPoint p = AtThreshold(c, t);
    marks.push_back({{"name", name}, {"threshold", t}, {"tp", p.tp}, {"fp", p.fp}});
  }
  return {{"positives", c.positives()},
          {"negatives", c.negatives()},
          {"points", points},
          {"calibration", calibration},
          {"marked", marks}};
}

}  // namespace ecps::models
