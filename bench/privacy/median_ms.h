// Timing helper of the privacy benchmarks.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace ecps::bench {

/// The median over `repeats` calls of run() of its wall time, in milliseconds.
template <class F>
double MedianMs(int repeats, F&& run) {
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    const std::chrono::duration<double, std::milli> dt = std::chrono::steady_clock::now() - t0;
    ms.push_back(dt.count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace ecps::bench
