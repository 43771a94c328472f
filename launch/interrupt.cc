#include "launch/interrupt.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "models/common/checkpoint.h"
#include "util/files.h"

namespace ecps::launch {
namespace {

std::atomic<int> g_scopes{0};
std::atomic<int> g_signal{0};
std::atomic<bool> g_started{false};
std::atomic<int> g_hangup_scopes{0};
std::atomic<std::uint64_t> g_hangups{0};

sigset_t Watched() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);
  return set;
}

std::string_view SignalName(int signo) { return signo == SIGINT ? "SIGINT" : "SIGTERM"; }

// Ends the process by `signo` (its default action), as it would end without the watcher,
// after removing the temporary files of the outputs it was writing.
[[noreturn]] void DieBy(int signo) {
  util::RemoveUnfinishedFiles();
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigaction(signo, &dfl, nullptr);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, signo);
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  raise(signo);
  _exit(128 + signo);  // not reached
}

void Watch() {
  const sigset_t set = Watched();
  for (;;) {
    int signo = 0;
    if (sigwait(&set, &signo) != 0) continue;
    if (signo == SIGHUP) {
      if (g_hangup_scopes.load() == 0) DieBy(signo);  // its default action, as without watcher
      g_hangups.fetch_add(1);
      continue;
    }
    if (signo == SIGUSR1) {  // never the default action: it may come before a run starts
      if (const auto logger = spdlog::default_logger()) {
        logger->warn(
            "SIGUSR1 received: a training with --checkpoint-dir writes a checkpoint after its "
            "current clock and stops with exit code {}; other runs go on",
            models::kCheckpointStopExitCode);
      }
      models::RequestCheckpointAndStop();
      continue;
    }
    if (g_scopes.load() == 0 || g_signal.load() != 0) DieBy(signo);
    // Through a reference of its own: main may be shutting spdlog down meanwhile. Logged
    // before the signal is recorded, so that a command that ends as soon as it sees the
    // signal (ecps serve drains in milliseconds) never exits in the middle of this line; but
    // on a thread of its own, waited for at most kLogWait: a write to a full stdout (a
    // launcher that stops reading while it passes the signal on) must not keep the signal
    // from being recorded.
    if (const auto logger = spdlog::default_logger()) {
      auto logged = std::make_shared<std::atomic<bool>>(false);
      std::thread([logger, logged, signo] {
        logger->warn(
            "{} received: stopping at the next safe point and removing this run's unfinished "
            "outputs (send it again to stop at once)",
            SignalName(signo));
        logged->store(true);
      }).detach();
      constexpr auto kLogWait = std::chrono::milliseconds(500);
      const auto until = std::chrono::steady_clock::now() + kLogWait;
      while (!logged->load() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    g_signal.store(signo);
  }
}

}  // namespace

void StartSignalWatcher() {
  if (g_started.exchange(true)) return;
  const sigset_t set = Watched();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(Watch).detach();
}

InterruptibleScope::InterruptibleScope() { g_scopes.fetch_add(1); }
InterruptibleScope::~InterruptibleScope() { g_scopes.fetch_sub(1); }

HangupScope::HangupScope() { g_hangup_scopes.fetch_add(1); }
HangupScope::~HangupScope() { g_hangup_scopes.fetch_sub(1); }

std::uint64_t HangupsReceived() { return g_hangups.load(); }

int CaughtSignal() { return g_signal.load(); }

Status InterruptedBy(int signo) {
  return Interrupted(fmt::format("interrupted by {}", SignalName(signo)));
}

Status InterruptStatus() {
  const int signo = CaughtSignal();
  return signo == 0 ? Status::Ok() : InterruptedBy(signo);
}

int InterruptExitCode(const Status& s) {
  if (s.ok()) return 0;
  if (const int signo = CaughtSignal(); signo != 0) return 128 + signo;
  if (s.code() != StatusCode::kInterrupted) return 0;
  if (models::IsCheckpointStop(s)) return models::kCheckpointStopExitCode;
  return 128 + (s.message().find("interrupted by SIGINT") != std::string::npos ? SIGINT : SIGTERM);
}

}  // namespace ecps::launch
