// Input files read through mmap (worker/csv_scan.cc, worker/line_reader.cc).
//
// When another process truncates a file while it is mapped, reading a page past the file's new
// end raises SIGBUS, whose default action ends the process without a word. A MappedInput maps
// a range read-only and registers it with the file's path; the SIGBUS handler (installed with
// the first mapping) looks the faulting address up among the live mappings, writes
//   ecps: error: PATH: the file shrank while ecps was reading it (was it rewritten or
//   truncated during the run?)
// to standard error, removes the temporary files of unfinished outputs when it can take their
// lock at once (util::RemoveUnfinishedFiles), and ends the process with exit code 3 (an I/O
// error, as for a failed read). A SIGBUS at any other address keeps its default action.
//
// The registry is a fixed table of kMaxRegistered slots read by the handler without locks; a
// mapping beyond that many at once works but is not registered (the default action then).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ps/status.h"

namespace ecps::util {

class MappedInput {
 public:
  static constexpr int kMaxRegistered = 256;

  /// Maps `len` (> 0) bytes of `fd` from `offset` (a multiple of the page size) read-only, with
  /// MADV_SEQUENTIAL. IoError naming `path` when mmap fails.
  static Result<MappedInput> Map(int fd, std::size_t len, std::uint64_t offset, const std::string& path);

  MappedInput() = default;
  MappedInput(MappedInput&& o) noexcept;
  MappedInput& operator=(MappedInput&& o) noexcept;
  MappedInput(const MappedInput&) = delete;
  MappedInput& operator=(const MappedInput&) = delete;
  ~MappedInput();  // forgets the range, then unmaps it

  const char* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  void Release();
  const char* data_ = nullptr;
  std::size_t size_ = 0;
  int slot_ = -1;  // registry slot, -1 when not registered
};

}  // namespace ecps::util
