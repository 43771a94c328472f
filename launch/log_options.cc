#include "launch/log_options.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <map>
#include <memory>

namespace ecps::launch {
namespace {

// This process's rank as its MPI launcher gives it, or null when not launched by one.
const char* LauncherRank() {
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}) {
    if (const char* r = std::getenv(var)) return r;  // NOLINT(concurrency-mt-unsafe)
  }
  return nullptr;
}

}  // namespace

spdlog::level::level_enum LogOptions::Level() const {
  if (quiet) return spdlog::level::warn;
  return spdlog::level::from_str(log_level);
}

Status LogOptions::ValidateLog() const {
  if (spdlog::level::from_str(log_level) == spdlog::level::off && log_level != "off") {
    return InvalidArgument(fmt::format("--log-level: unknown level \"{}\"", log_level));
  }
  return Status::Ok();
}

void AddLogOptions(CLI::App& app, LogOptions& o) {
  auto* l = app.add_option_group("Logging");
  l->add_option("--log-level", o.log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  l->add_flag("--quiet,-q", o.quiet, "Only warnings and errors; no progress lines");
  l->add_option("--log-file", o.log_file,
                "Also append the log to this file, a line at a time (under mpirun, rank r > 0 "
                "writes FILE.rank<r>); progress bars stay on the terminal");
  l->add_option("--log-format", o.log_format,
                "text, or json: one object per line with time (UTC), logger, level and message "
                "(no progress bar)")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, ps::LogFormat>{{"text", ps::LogFormat::kText},
                                              {"json", ps::LogFormat::kJson}}))
      ->default_str("text");
}

void SetUpProcessLogger() {
  const char* rank = LauncherRank();
  const std::string name = rank != nullptr ? fmt::format("r{} ecps", rank) : "ecps";
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(name, ps::ProcessSink()));
}

Status ApplyLogOptions(const LogOptions& options) {
  ECPS_RETURN_IF_ERROR(options.ValidateLog());
  std::string file = options.log_file;
  if (const char* rank = LauncherRank(); !file.empty() && rank != nullptr && std::string(rank) != "0") {
    file += fmt::format(".rank{}", rank);
  }
  ECPS_RETURN_IF_ERROR(ps::ConfigureProcessLog({options.log_format, file}));
  spdlog::default_logger()->set_level(options.Level());
  return Status::Ok();
}

}  // namespace ecps::launch
