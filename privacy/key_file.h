// Secret key files (for `--pseudonymize-key` and `--encrypt-key`): the checks every key file
// passes before its bytes are used.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "ps/status.h"

namespace ecps::privacy {

/// Bytes a key file must hold at least (128 bits).
inline constexpr std::size_t kMinKeyBytes = 16;

/// The whole content of `path`, a file that only its owner may read (`what` names it in
/// messages: "key file", "token file"). Refused (kInvalidArgument, naming the file): a missing
/// file, a directory or other non-regular file, and a file that its group or others may read
/// or write (mode & 077; the message says `chmod 600`). Checked through the descriptor it is
/// read from.
Result<std::string> ReadOwnerOnlyFile(const std::string& path, std::string_view what);

/// The whole content of the key file `path`: ReadOwnerOnlyFile's checks, and at least
/// kMinKeyBytes.
Result<std::string> ReadSecretKeyFile(const std::string& path);

}  // namespace ecps::privacy
