#include "scheduler/progress.h"

#include <cstdio>

#include <fmt/format.h>

#include "ps/logging.h"

namespace ecps::sched {

Progress::Progress(spdlog::logger& log, std::string label, std::uint64_t total, ProgressOptions options)
    : log_(log),
      label_(std::move(label)),
      total_(total),
      options_(options),
      bar_(ps::LogDrawsBars()),
      start_(std::chrono::steady_clock::now()),
      last_(start_ - std::chrono::hours(1)) {}

std::string Progress::Line(std::uint64_t done, const std::string& detail, bool bar) const {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string s = label_;
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
    if (bar) {
      constexpr int kWidth = 28;
      const int filled = static_cast<int>(frac * kWidth);
      s += " [" + std::string(static_cast<std::size_t>(filled), '#') +
           std::string(static_cast<std::size_t>(kWidth - filled), '.') + "]";
    }
    s += fmt::format(" {}/{} ({:.0f}%)", done, total_, 100 * frac);
  } else {
    s += fmt::format(" {}", done);
  }
  s += fmt::format(" {:.1f}s", secs);
  if (secs > 0 && done > 0) {
    const double rate = static_cast<double>(done) / secs;
    s += fmt::format(" {:.4g}/s", rate);
    if (total_ > done) s += fmt::format(", {:.0f}s left", static_cast<double>(total_ - done) / rate);
  }
  if (!detail.empty()) s += "  " + detail;
  return s;
}

void Progress::Update(std::uint64_t done, const std::string& detail) {
  if (options_.quiet || finished_) return;
  done_ = done;
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - start_).count() < options_.quiet_first_s) return;
  shown_ = true;
  if (bar_) {
    if (now - last_ < std::chrono::milliseconds(100) && done < total_) return;
    last_ = now;
    ps::StatusLine::Show(Line(done, detail, true));
    return;
  }
  if (total_ > 0) {
    const int tenths = static_cast<int>(std::min<std::uint64_t>(10, done * 10 / total_));
    if (tenths <= tenths_logged_ || tenths == 10) return;  // 100% is Finish's line
    tenths_logged_ = tenths;
  } else {
    if (std::chrono::duration<double>(now - last_).count() < options_.line_interval_s) return;
    last_ = now;
  }
  log_.info("{}", Line(done, detail, false));
}

void Progress::Finish(const std::string& detail) {
  if (options_.quiet || finished_) return;
  finished_ = true;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (!shown_ && secs < options_.quiet_first_s) return;
  const std::uint64_t done = total_ > 0 ? total_ : done_;
  if (bar_) {
    ps::StatusLine::Finish(Line(done, detail, true));
  } else {
    log_.info("{}", Line(done, detail, false));
  }
}

}  // namespace ecps::sched
