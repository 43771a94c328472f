// The answer to one request of `ecps serve` (serve::HandleRequest: JSON parsing, the model,
// the answer's text) without the network, on one thread, timed in thread CPU time so that
// other processes on the machine count less.
//
// Usage: serve_handler_bench NAME=DIR... -- NAME:VERB=BODY_FILE[*INSTANCES]...
// Prints, per body: microseconds per request and instances per second (median of 5 rounds of
// about 0.3 s each).
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "serve/api.h"

namespace {

double ThreadSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ecps::serve;
  ModelRegistry models;
  int i = 1;
  for (; i < argc && std::string(argv[i]) != "--"; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    auto m = LoadServedModel(arg.substr(0, eq), arg.substr(eq + 1));
    if (eq == std::string::npos || !m.ok()) {
      std::fprintf(stderr, "cannot load %s: %s\n", arg.c_str(),
                   m.ok() ? "expected NAME=DIR" : m.status().message().c_str());
      return 2;
    }
    models.Set(*m);
  }
  ServeMetrics metrics;
  for (++i; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('='), star = arg.find('*');
    const std::string target = "/v1/models/" + arg.substr(0, eq);
    const std::string file = arg.substr(eq + 1, star == std::string::npos ? star : star - eq - 1);
    const double per_request = star == std::string::npos ? 1 : std::stod(arg.substr(star + 1));
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    const std::string body = text.str();
    std::string endpoint;
    const Reply first = HandleRequest(models, metrics, "POST", target, body, &endpoint);
    if (first.status != 200) {
      std::fprintf(stderr, "%s: %d %s", target.c_str(), first.status, first.body.c_str());
      return 1;
    }
    std::vector<double> us;
    for (int round = 0; round < 5; ++round) {
      const double t0 = ThreadSeconds();
      long n = 0;
      double t = t0;
      while (t - t0 < 0.3) {
        for (int k = 0; k < 16; ++k) HandleRequest(models, metrics, "POST", target, body, &endpoint);
        n += 16;
        t = ThreadSeconds();
      }
      us.push_back(1e6 * (t - t0) / static_cast<double>(n));
    }
    std::sort(us.begin(), us.end());
    const std::string label = arg.substr(0, eq) + " " + file.substr(file.rfind('/') + 1);
    fmt::print("{:32s} {:9.2f} us/request  {:12.0f} instances/s (one thread)\n", label, us[2],
               per_request * 1e6 / us[2]);
  }
  return 0;
}
