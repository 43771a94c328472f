#include "scheduler/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace ecps::sched {

Progress::Progress(spdlog::logger& log, std::string label, std::uint64_t total, ProgressOptions options)
    : log_(log),
      label_(std::move(label)),
      total_(total),
      options_(options),
      tty_(isatty(STDERR_FILENO) != 0),
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
  if (!detail.empty()) s += "  " + detail;
  return s;
}

void Progress::Update(std::uint64_t done, const std::string& detail) {
  if (options_.quiet || finished_) return;
  done_ = done;
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (now - last_ < std::chrono::milliseconds(100) && done < total_) return;
    last_ = now;
    std::fprintf(stderr, "\r\033[K%s", Line(done, detail, true).c_str());
    std::fflush(stderr);
    return;
  }
  if (std::chrono::duration<double>(now - last_).count() < options_.line_interval_s) return;
  last_ = now;
  log_.info("{}", Line(done, detail, false));
}

void Progress::Finish(const std::string& detail) {
  if (options_.quiet || finished_) return;
  finished_ = true;
  const std::uint64_t done = total_ > 0 ? total_ : done_;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s\n", Line(done, detail, true).c_str());
    std::fflush(stderr);
  } else {
    log_.info("{}", Line(done, detail, false));
  }
}

}  // namespace ecps::sched
