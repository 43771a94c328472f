// How fast DP-SGD's Poisson sampling is: one epoch of `steps` steps at sample rate q over n
// example ids (spread like ecps' file/offset ids), on one thread, in ns per record, through
// PoissonSampler::Steps (one record at a time) and PoissonSampler::StepsOfMany (records in
// groups), and the number of joins (about n·q·steps).
// Usage: sampling_bench [ROWS=2000000] [Q=0.02] [REPEATS=5]; prints medians of REPEATS.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench/privacy/median_ms.h"
#include "privacy/poisson_sampling.h"

using ecps::bench::MedianMs;

int main(int argc, char** argv) {
  const std::size_t rows = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2000000;
  const double q = argc > 2 ? std::strtod(argv[2], nullptr) : 0.02;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 5;
  const auto steps = static_cast<std::uint32_t>(std::lround(1 / q));
  const ecps::privacy::PoissonSampler sampler(ecps::privacy::TestSamplingKey(1), q);
  std::vector<std::uint64_t> ids(rows);
  for (std::size_t i = 0; i < rows; ++i) ids[i] = (std::uint64_t{1} << 40) | (i * 37);
  std::size_t joins = 0;
  std::vector<std::uint32_t> st;
  const double one = MedianMs(repeats, [&] {
    joins = 0;
    for (std::uint64_t id : ids) {
      st.clear();
      sampler.Steps(id, 0, steps, &st);
      joins += st.size();
    }
  });
  std::printf("rows %zu, q %g, %u steps: %zu joins\n", rows, q, steps, joins);
  std::printf("Steps, one record at a time: %.1f ms, %.1f ns / record\n", one, one * 1e6 / rows);
  std::vector<ecps::privacy::PoissonSampler::Join> out;
  const double many = MedianMs(repeats, [&] {
    out.clear();
    sampler.StepsOfMany(ids, 0, steps, &out);
  });
  std::printf("StepsOfMany: %.1f ms, %.1f ns / record (%zu joins)\n", many, many * 1e6 / rows, out.size());
  return 0;
}
