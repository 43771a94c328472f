// The ecps executable: parses the command line, runs the chosen command, and turns its
// Status into an exit code. The only place that touches argv.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "launch/cluster.h"
#include "launch/command.h"
#include "launch/config.h"
#include "launch/interrupt.h"
#include "launch/option_names.h"
#include "launch/startup_watchdog.h"
#include "models/common/checkpoint.h"

namespace ecps::launch {

namespace {

int ExitCode(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return 0;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kDataError: return 2;   // the input or the command line is wrong
    case StatusCode::kIoError: return 3;
    case StatusCode::kPeerLost:
    case StatusCode::kAborted:
    case StatusCode::kTimeout: return 4;     // the cluster failed
    default: return 1;
  }
}

}  // namespace
}  // namespace ecps::launch

int main(int argc, char** argv) {
  using namespace ecps::launch;
  StartSignalWatcher();  // first: every thread started later inherits its signal mask
  CLI::App app{"ecps: distributed parameter-server training for e-commerce models "
               "(segmentation, recommendation, CTR/CVR prediction)",
               "ecps"};
  SetUpProcessLogger();
  Selected selected;
  const auto log_options = BuildCommandTree(app, selected);

  std::vector<std::string> args(argv + 1, argv + argc);
  if (auto words = CheckCommandWords(app, args); !words.ok()) {
    std::fprintf(stderr, "ecps: error: %s\n", words.message().c_str());
    return Exiting(2);
  }
  auto expanded = ExpandConfig(app, std::move(args));
  if (!expanded.ok()) {
    std::fprintf(stderr, "ecps: error: %s\n", expanded.status().message().c_str());
    return Exiting(2);
  }
  if (auto names = CheckOptionNames(app, *expanded); !names.ok()) {
    std::fprintf(stderr, "ecps: error: %s\n", names.message().c_str());
    return Exiting(2);
  }
  std::vector<std::string> reversed(expanded->rbegin(), expanded->rend());  // CLI11 wants them reversed
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return Exiting(app.exit(e));  // --help, --version
    // Usage errors exit with 2, like every other error in the input or command line.
    std::fprintf(stderr, "ecps: error: %s\nRun the command with --help for its options.\n", e.what());
    return Exiting(2);
  }
  ecps::Status s;
  try {
    s = ApplyLogOptions(*log_options);
    if (s.ok()) s = selected ? selected() : ecps::InvalidArgument("no command given");
  } catch (const std::exception& e) {  // no exception leaves main: exit 1, "anything else"
    s = ecps::Internal(std::string("internal error: ") + e.what());
  }
  if (!s.ok()) {
    // A stop after a requested checkpoint (exit 75) is what was asked for, not an error.
    std::fprintf(stderr, "ecps: %s%s\n", ecps::models::IsCheckpointStop(s) ? "" : "error: ",
                 s.message().c_str());
    std::fflush(stderr);
    // Flushed, not shut down: _exit skips destructors, and the signal watcher's thread may
    // be logging through the same logger at this moment.
    if (const auto logger = spdlog::default_logger()) logger->flush();
    // Under MPI with a failed job, peers may be gone: MPI_Finalize could hang, so leave
    // without it and let the launcher report the exit code.
    const int interrupted = InterruptExitCode(s);  // 130 SIGINT, 143 SIGTERM, 75 checkpoint
    _exit(Exiting(interrupted != 0 ? interrupted : ExitCode(s)));
  }
  FinalizeMpi();
  return Exiting(0);
}
