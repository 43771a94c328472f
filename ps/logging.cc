#include "ps/logging.h"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace ecps::ps {

std::shared_ptr<spdlog::sinks::sink> StderrSink() {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n] %l: %v");
  return sink;
}

std::shared_ptr<spdlog::logger> MakeRankLogger(const RoleTable& roles, Rank rank,
                                               std::shared_ptr<spdlog::sinks::sink> sink,
                                               spdlog::level::level_enum level) {
  std::string name = roles.RoleOf(rank) == Role::kScheduler
                         ? fmt::format("r{} scheduler", rank)
                         : fmt::format("r{} {} {}", rank, RoleName(roles.RoleOf(rank)), roles.IndexOf(rank));
  auto logger = std::make_shared<spdlog::logger>(std::move(name), std::move(sink));
  logger->set_level(level);
  return logger;
}

}  // namespace ecps::ps
