// Progress of a long stage, shown by the scheduler: on a terminal with a text log, a bar
// redrawn in place below the log lines (ps::StatusLine) with the count, rate and time left;
// otherwise (batch logs, CI, a JSON log) a log line per 10% of a known total, or every
// `line_interval_s` when the total is unknown; nothing with quiet.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <spdlog/logger.h>

namespace ecps::sched {

struct ProgressOptions {
  bool quiet = false;
  /// Seconds between plain lines when the total is unknown and no bar is drawn.
  double line_interval_s = 5.0;
  /// Plain lines only once this many seconds have passed (a short step stays silent, its
  /// Finish too); 0 = from the start.
  double quiet_first_s = 0;
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
  bool bar_;
  bool finished_ = false;
  int tenths_logged_ = 0;  // plain lines: the 10% steps already logged
  bool shown_ = false;     // a plain line or the bar was printed
  std::uint64_t done_ = 0;  // the last Update's count (Finish shows it when total_ is 0)
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace ecps::sched
