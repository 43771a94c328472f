// Progress of a long stage, shown by the scheduler: a bar redrawn in place on a terminal,
// plain periodic log lines otherwise (batch logs, CI), nothing with quiet.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <spdlog/logger.h>

namespace ecps::sched {

struct ProgressOptions {
  bool quiet = false;
  /// Seconds between plain lines when stderr is not a terminal.
  double line_interval_s = 5.0;
};

class Progress {
 public:
  /// `total` = 0 when the amount of work is unknown (then only counts are shown).
  Progress(spdlog::logger& log, std::string label, std::uint64_t total, ProgressOptions options = {});
  /// Reports `done` units and a free-form detail ("loss 0.4312"); cheap to call often.
  void Update(std::uint64_t done, const std::string& detail = {});
  /// Prints the final state once (a newline after a bar).
  void Finish(const std::string& detail = {});

 private:
  std::string Line(std::uint64_t done, const std::string& detail, bool bar) const;

  spdlog::logger& log_;
  std::string label_;
  std::uint64_t total_;
  ProgressOptions options_;
  bool tty_;
  bool finished_ = false;
  std::uint64_t done_ = 0;  // the last Update's count (Finish shows it when total_ is 0)
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace ecps::sched
