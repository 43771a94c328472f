#include "serve/metrics.h"

#include <fmt/format.h>

namespace ecps::serve {

void ServeMetrics::Record(const std::string& endpoint, int status, double seconds) {
  std::size_t b = 0;
  while (b < kBounds.size() && seconds > kBounds[b]) ++b;
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{endpoint, status}];
  ++buckets_[b];
  sum_seconds_ += seconds;
  ++count_;
}

std::string ServeMetrics::Text(std::size_t models_loaded, std::uint64_t reloads,
                              std::uint64_t reload_failures) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string t;
  t += "# HELP ecps_serve_requests_total Requests answered, by endpoint and HTTP status code.\n";
  t += "# TYPE ecps_serve_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    t += fmt::format("ecps_serve_requests_total{{endpoint=\"{}\",code=\"{}\"}} {}\n", key.first,
                     key.second, n);
  }
  t += "# HELP ecps_serve_request_duration_seconds Time from a request read to its answer.\n";
  t += "# TYPE ecps_serve_request_duration_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    cumulative += buckets_[b];
    const std::string le = b < kBounds.size() ? fmt::format("{}", kBounds[b]) : "+Inf";
    t +=
        fmt::format("ecps_serve_request_duration_seconds_bucket{{le=\"{}\"}} {}\n", le, cumulative);
  }
  t += fmt::format("ecps_serve_request_duration_seconds_sum {:.9g}\n", sum_seconds_);
  t += fmt::format("ecps_serve_request_duration_seconds_count {}\n", count_);
  t += "# HELP ecps_serve_models_loaded Models being served.\n";
  t += "# TYPE ecps_serve_models_loaded gauge\n";
  t += fmt::format("ecps_serve_models_loaded {}\n", models_loaded);
  t += "# HELP ecps_serve_reloads_total Models swapped in by a reload.\n";
  t += "# TYPE ecps_serve_reloads_total counter\n";
  t += fmt::format("ecps_serve_reloads_total {}\n", reloads);
  t += "# HELP ecps_serve_reload_failures_total Model folders that failed to load in a reload.\n";
  t += "# TYPE ecps_serve_reload_failures_total counter\n";
  t += fmt::format("ecps_serve_reload_failures_total {}\n", reload_failures);
  return t;
}

}  // namespace ecps::serve
