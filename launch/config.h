// TOML configuration files whose keys are a command's long option names.
//
//   # job.toml, for `ecps train kmeans --config job.toml --k 12`
//   data = "users.csv"
//   features = ["age", "purchase_frequency"]
//   k = 8
//   local = true
//
// The file's values are placed before the command line's own arguments, so options given on
// the command line win. Unknown keys and values of the wrong shape are errors that name the
// file, the line and the key.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include "ps/status.h"

namespace ecps::launch {

/// Converts the key/value pairs of `table` into arguments for `command` ("--k", "8", ...).
/// `where` names the source in messages (a file path, or "file.toml [kmeans]").
Result<std::vector<std::string>> TomlToArgs(const toml::table& table, const CLI::App& command,
                                            const std::string& where);

/// Expands `--config FILE` in `args` (argv without the program name): finds the command the
/// leading words select, reads FILE and inserts its options right after those words.
/// `ecps pipeline` is left alone: its --config holds one section per stage.
Result<std::vector<std::string>> ExpandConfig(const CLI::App& root, std::vector<std::string> args);

}  // namespace ecps::launch
