#include "util/mapped_input.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "util/files.h"

namespace ecps::util {
namespace {

struct Slot {
  std::atomic<bool> taken{false};
  std::atomic<std::uintptr_t> begin{0};  // 0: not live (set last on register, first on forget)
  std::size_t len = 0;
  char message[640] = {};  // the whole line the handler writes
  std::size_t message_len = 0;
};
Slot g_slots[MappedInput::kMaxRegistered];
static_assert(std::atomic<std::uintptr_t>::is_always_lock_free);

void OnSigbus(int signo, siginfo_t* info, void*) {
  const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  for (Slot& s : g_slots) {
    const std::uintptr_t b = s.begin.load(std::memory_order_acquire);
    if (b != 0 && addr >= b && addr - b < s.len) {
      (void)!::write(STDERR_FILENO, s.message, s.message_len);
      RemoveUnfinishedFilesIfFree();
      ::_exit(3);
    }
  }
  // Not a mapped input: the default action (the fault repeats when the handler returns).
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(signo, &dfl, nullptr);
}

void InstallHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = OnSigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, nullptr);
  });
}

int Register(const char* data, std::size_t len, const std::string& path) {
  InstallHandler();
  for (int i = 0; i < MappedInput::kMaxRegistered; ++i) {
    Slot& s = g_slots[i];
    bool expected = false;
    if (!s.taken.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) continue;
    const std::string line = fmt::format(
        "ecps: error: {}: the file shrank while ecps was reading it (was it rewritten or truncated "
        "during the run?)\n",
        path);
    s.message_len = std::min(line.size(), sizeof s.message);
    std::memcpy(s.message, line.data(), s.message_len);
    if (s.message_len == sizeof s.message) s.message[sizeof s.message - 1] = '\n';
    s.len = len;
    s.begin.store(reinterpret_cast<std::uintptr_t>(data), std::memory_order_release);
    return i;
  }
  return -1;
}

void Forget(int slot) {
  if (slot < 0) return;
  g_slots[slot].begin.store(0, std::memory_order_release);
  g_slots[slot].taken.store(false, std::memory_order_release);
}

}  // namespace

Result<MappedInput> MappedInput::Map(int fd, std::size_t len, std::uint64_t offset, const std::string& path) {
  void* m = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd, static_cast<off_t>(offset));
  if (m == MAP_FAILED) return IoError(fmt::format("{}: cannot map: {}", path, std::strerror(errno)));
  (void)::madvise(m, len, MADV_SEQUENTIAL);
  MappedInput r;
  r.data_ = static_cast<const char*>(m);
  r.size_ = len;
  r.slot_ = Register(r.data_, len, path);
  return r;
}

MappedInput::MappedInput(MappedInput&& o) noexcept : data_(o.data_), size_(o.size_), slot_(o.slot_) {
  o.data_ = nullptr;
  o.size_ = 0;
  o.slot_ = -1;
}

MappedInput& MappedInput::operator=(MappedInput&& o) noexcept {
  if (this != &o) {
    Release();
    data_ = o.data_;
    size_ = o.size_;
    slot_ = o.slot_;
    o.data_ = nullptr;
    o.size_ = 0;
    o.slot_ = -1;
  }
  return *this;
}

MappedInput::~MappedInput() { Release(); }

void MappedInput::Release() {
  if (!data_) return;
  Forget(slot_);
  ::munmap(const_cast<char*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
  slot_ = -1;
}

}  // namespace ecps::util
