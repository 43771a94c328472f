// Secret key files (for `--pseudonymize-key` and `--encrypt-key`): the checks every key file
// passes before its bytes are used.
#pragma once

#include <cstddef>
#include <string>

#include "ps/status.h"

namespace ecps::privacy {

/// Bytes a key file must hold at least (128 bits).
inline constexpr std::size_t kMinKeyBytes = 16;

/// The whole content of the key file `path`. Refused (kInvalidArgument, naming the file): a
/// missing file, a directory or other non-regular file, a file that its group or others may
/// read or write (mode & 077; the message says `chmod 600`), and one shorter than kMinKeyBytes.
/// The file is checked through the descriptor it is read from.
Result<std::string> ReadSecretKeyFile(const std::string& path);

}  // namespace ecps::privacy
