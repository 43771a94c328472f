// Loggers: one per node, all sharing one sink, with the rank and role in every line:
//   [2026-11-28 19:02:03.123] [r3 worker 1] info: epoch 2 ...
#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>
#include <spdlog/sinks/sink.h>

#include "ps/roles.h"

namespace ecps::ps {

/// A sink on stderr, shared by the loggers of one process.
std::shared_ptr<spdlog::sinks::sink> StderrSink();

/// A logger for `rank` whose name shows its role ("r3 worker 1", "r0 scheduler").
std::shared_ptr<spdlog::logger> MakeRankLogger(const RoleTable& roles, Rank rank,
                                               std::shared_ptr<spdlog::sinks::sink> sink,
                                               spdlog::level::level_enum level);

}  // namespace ecps::ps
