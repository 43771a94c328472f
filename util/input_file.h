// Input files as the readers need them: seekable regular files. A gzip file (recognised by its
// magic bytes 1f 8b, whatever its name), standard input ("-") and pipes (`<(...)`) are copied,
// decompressed, into a temporary file of $TMPDIR on first use (one copy per process, unlinked
// at once and reopened as /proc/self/fd/N, so it goes whenever the process ends; it needs as
// much free space as the decompressed data). Every later use of the same path reads that copy, so byte ranges, second passes and line numbers work as for a plain
// file, and messages keep naming the path the user gave.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ps/status.h"

namespace ecps::util {

/// The path standing for standard input.
inline constexpr const char* kStdinPath = "-";

/// The plain file to open for `path`: `path` itself for a regular file without the gzip magic,
/// else the decompressed copy (made on the first call, again when the file has changed since;
/// standard input and pipes are read once; thread-safe). kNotFound for a missing
/// file; kDataError naming `path` for a corrupt or truncated gzip stream ("data.csv.gz: not a
/// valid gzip stream (invalid block type)"); kIoError when the copy cannot be written.
Result<std::string> LocalInputPath(const std::string& path);

/// Calls `line_fn(line, number)` for every line of the list file `path` ("-": standard input;
/// gzip read decompressed), numbered from 1, without its line break (CRLF or LF). kNotFound
/// "PATH: cannot open the WHAT" for a missing file; the first failure of `line_fn` is
/// returned with its code and "NAME:NUMBER: " before its message (NAME: the path, or stdin).
Status ForEachListLine(
    const std::string& path, const std::string& what,
    const std::function<Status(std::string_view line, std::size_t number)>& line_fn);

/// True when `path` is or will be read through a decompressed copy (gzip, stdin, pipe).
bool IsSpooledInput(const std::string& path);

/// Refuses standard input where it cannot work: given for two inputs (it can be read once),
/// or when the run has several processes (mpirun gives standard input to rank 0 alone).
/// `inputs` are (option, path) pairs, e.g. {"--train", "-"}; kInvalidArgument names the option.
Status CheckStdinInputs(const std::vector<std::pair<std::string, std::string>>& inputs,
                        bool one_process);

}  // namespace ecps::util
