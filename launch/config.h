// TOML configuration files whose keys are a command's long option names.
//
//   # job.toml, for `ecps train kmeans --config job.toml --k 12`
//   data = "users.csv"
//   features = ["age", "purchase_frequency"]
//   k = 8
//   local = true
//
// An option given on the command line replaces the file's value (a list too: the command
// line's `--features rating` gives the one feature rating). Unknown keys, values of the wrong
// shape and values the option refuses (out of range, not a number) are errors that name the
// file, the line and the key.
#pragma once

#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "ps/status.h"

namespace ecps::launch {

/// One key of a TOML table as arguments of its option, each value a word of its own:
/// {"--k", "8"}; a list {"--features", "age", "--features", "rating"}; a switch
/// {"--local=true"}. An empty string stays an (empty) value.
struct ConfigOption {
  std::string key;
  std::vector<std::string> args;
};

/// The key/value pairs of `table` as options of `command`, each value checked as the command
/// line checks it. `where` names the source in messages (a file path, or "file.toml [kmeans]"):
/// `job.toml:3: key "k": must be in [1, 1048576], not 0`.
Result<std::vector<ConfigOption>> ReadConfigOptions(const toml::table& table,
                                                    const CLI::App& command,
                                                    const std::string& where);

/// ReadConfigOptions' arguments in the table's order ("--k", "8", ...).
Result<std::vector<std::string>> TomlToArgs(const toml::table& table, const CLI::App& command,
                                            const std::string& where);

/// Expands `--config FILE` in `args` (argv without the program name): finds the command the
/// leading words select, reads FILE and inserts the options the rest of `args` does not give
/// right after those words. `ecps pipeline` is left alone: its --config holds one section per
/// stage.
Result<std::vector<std::string>> ExpandConfig(const CLI::App& root, std::vector<std::string> args);

}  // namespace ecps::launch
