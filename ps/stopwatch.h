// Elapsed wall time on the steady clock, in seconds: for phase timings in logs and metrics.
#pragma once

#include <chrono>

namespace ecps::ps {

/// Starts when constructed; Seconds() is the time since then (or since the last Restart()).
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  void Restart() { start_ = std::chrono::steady_clock::now(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace ecps::ps
