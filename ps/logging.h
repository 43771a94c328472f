// Loggers: one per node, all sharing the process's sink, with the rank and role in every
// line:
//   [2026-11-28 19:02:03.123] [r3 worker 1] info: epoch 2 ...
// or, with the JSON format, one object per line:
//   {"time":"2026-11-28T19:02:03.123Z","logger":"r3 worker 1","level":"info","message":"epoch 2 ..."}
// The sink writes to stderr and, when configured, appends to a log file (flushed line by
// line). On a terminal it shares stderr's last line with a progress bar (StatusLine): a
// log line clears the bar, is written, and the bar is drawn again below it.
#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>
#include <spdlog/sinks/sink.h>

#include "ps/roles.h"
#include "ps/status.h"

namespace ecps::ps {

enum class LogFormat { kText, kJson };

struct LogOutput {
  LogFormat format = LogFormat::kText;
  std::string file;  ///< appended to besides stderr; "" = stderr only
};

/// The sink of this process (stderr in text until ConfigureProcessLog says otherwise).
std::shared_ptr<spdlog::sinks::sink> ProcessSink();

/// Makes `output` the process's log output: the sink ProcessSink() returns from now on and
/// the default logger's. IoError naming the file when it cannot be opened for appending.
/// Loggers made earlier keep the sink they were given. Call it before other threads log.
Status ConfigureProcessLog(const LogOutput& output);

/// Whether the process's log is text on a terminal, where a progress bar may be drawn.
bool LogDrawsBars();

/// The progress bar on stderr's last line (terminal only, see LogDrawsBars()).
class StatusLine {
 public:
  /// Draws `text` in place of the current bar.
  static void Show(const std::string& text);
  /// Draws `text` and ends the line: the bar becomes a line of the log.
  static void Finish(const std::string& text);
};

/// A logger for `rank` whose name shows its role ("r3 worker 1", "r0 scheduler").
std::shared_ptr<spdlog::logger> MakeRankLogger(const RoleTable& roles, Rank rank,
                                               std::shared_ptr<spdlog::sinks::sink> sink,
                                               spdlog::level::level_enum level);

}  // namespace ecps::ps
