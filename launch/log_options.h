// The logging options every command takes: --log-level, -q/--quiet, --log-file, --log-format.
#pragma once

#include <CLI/CLI.hpp>
#include <spdlog/common.h>
#include <string>

#include "ps/logging.h"
#include "ps/status.h"

namespace ecps::launch {

struct LogOptions {
  std::string log_level = "info";
  bool quiet = false;
  /// --log-file (appended to besides stderr; under MPI rank r > 0 writes FILE.rank<r>) and
  /// --log-format.
  std::string log_file;
  ps::LogFormat log_format = ps::LogFormat::kText;

  /// warn under --quiet, else --log-level.
  spdlog::level::level_enum Level() const;
  /// InvalidArgument for an unknown --log-level.
  Status ValidateLog() const;
};

/// Adds the "Logging" group (--log-level, -q/--quiet, --log-file, --log-format) to `app`.
void AddLogOptions(CLI::App& app, LogOptions& options);

/// Makes spdlog's default logger (used by launch/ itself, e.g. the pipeline's stage lines)
/// print like the rank loggers: "[time] [r3 ecps] info: ..." under MPI, "[time] [ecps] ..."
/// otherwise.
void SetUpProcessLogger();

/// Makes `options` this process's log output (ps::ConfigureProcessLog, and the level of the
/// process's own logger). Commands call it before their first log line; RunCluster does.
Status ApplyLogOptions(const LogOptions& options);

}  // namespace ecps::launch
