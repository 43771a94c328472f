// Request counters and a latency histogram of `ecps serve`, written in the Prometheus text
// format (version 0.0.4). Thread-safe: every io thread records into one ServeMetrics.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace ecps::serve {

class ServeMetrics {
 public:
  /// Upper bounds (seconds) of the latency histogram's buckets; +Inf follows.
  static constexpr std::array<double, 12> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                     0.01,   0.025,   0.05,   0.1,   0.5,    1.0};

  /// One answered request: its endpoint ("predict", "healthz", ...), HTTP status and time.
  void Record(const std::string& endpoint, int status, double seconds);
  /// The Prometheus text: ecps_serve_requests_total{endpoint,code},
  /// ecps_serve_request_duration_seconds (histogram), ecps_serve_models_loaded,
  /// ecps_serve_reloads_total (models swapped in by a reload) and
  /// ecps_serve_reload_failures_total (model folders that failed to load in a reload).
  std::string Text(std::size_t models_loaded, std::uint64_t reloads = 0,
                   std::uint64_t reload_failures = 0) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::array<std::uint64_t, kBounds.size() + 1> buckets_{};  // not cumulative; last = +Inf
  double sum_seconds_ = 0;
  std::uint64_t count_ = 0;
};

}  // namespace ecps::serve
