// How much a pseudonym costs: microseconds per id for Pseudonymize (HMAC-SHA-256 from the
// key's precomputed pad states) beside OpenSSL's one-shot HMAC() of the same ids, measured in
// the same run. Ids are "u<i>", as in ecps generate's files.
// Usage: pseudonym_bench [IDS=1000000] [REPEATS=5]; prints the median of REPEATS runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "privacy/pseudonym.h"

namespace {
template <class F>
double MedianUsPerId(const std::vector<std::string>& ids, int repeats, F&& map) {
  std::vector<double> us;
  std::size_t sink = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& id : ids) sink += static_cast<unsigned char>(map(id)[0]);
    const std::chrono::duration<double, std::micro> d = std::chrono::steady_clock::now() - t0;
    us.push_back(d.count() / static_cast<double>(ids.size()));
  }
  if (sink == 1) std::puts("");  // keeps the work observable
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  if (n == 0 || repeats < 1) return 2;
  const auto key = ecps::privacy::PseudonymKey::FromBytes(std::string(32, 'k')).value();
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < n; ++i) ids.push_back("u" + std::to_string(i));
  const double fast = MedianUsPerId(ids, repeats, [&](const std::string& id) {
    return ecps::privacy::Pseudonymize(key, id);
  });
  const double one_shot = MedianUsPerId(ids, repeats, [&](const std::string& id) {
    return ecps::privacy::HmacSha256(key.bytes(), id);
  });
  std::printf("ids %zu  pseudonymize %.3f us/id  one-shot HMAC() %.3f us/id\n", n, fast, one_shot);
  return 0;
}
