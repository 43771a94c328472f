// Command registration: each command file adds its subcommand to the CLI and, when the
// user picked it, sets `selected` to the function that runs it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "launch/log_options.h"
#include "launch/option_checks.h"
#include "ps/status.h"

namespace ecps::launch {

/// The command chosen on the command line; main() runs it after parsing.
using Selected = std::function<Status()>;

/// Parent commands that several files add to.
struct CommandTree {
  CLI::App* root = nullptr;
  CLI::App* train = nullptr;  ///< `ecps train <model>`
  Selected* selected = nullptr;
};

/// Declares --config on `sub`: a TOML file whose keys are the long option names (without
/// dashes); main() expands it before parsing (launch/config.h), and the command line wins.
void AddConfigOption(CLI::App& sub);

/// Adds every command to `app` (the ecps command tree). Returns the logging options of the
/// commands that have no cluster options (main applies them before running such a command;
/// for the others they stay at their defaults and the command applies its own).
std::shared_ptr<const LogOptions> BuildCommandTree(CLI::App& app, Selected& selected);

/// The command at `path` below `root` (e.g. {"train", "kmeans"}), or null.
const CLI::App* FindCommand(const CLI::App& root, const std::vector<std::string>& path);

/// An error naming the unknown command in `args` (`ecps frobnicate`, `ecps train svm`) and
/// listing the known ones; OK when the command words are known (CLI11 alone only says that
/// a subcommand is required).
Status CheckCommandWords(const CLI::App& app, const std::vector<std::string>& args);


/// Writes a command's whole output to the file `path`, atomically, or to standard output
/// when `path` is "-".
Status WriteCommandOutput(const std::string& path, std::string_view bytes);

/// Parses a command line (without the program name; --config files are expanded) with a
/// fresh command tree and returns the command it selects. Used by the pipeline's stages.
Result<Selected> ParseCommand(const std::vector<std::string>& args);

// One per command file.
void AddDemoCommand(CommandTree& tree);
void AddGenerateCommand(CommandTree& tree);
void AddPipelineCommand(CommandTree& tree);
void AddKMeansCommand(CommandTree& tree);  ///< train kmeans, segment
/// `ecps train lr`, `ecps train linreg`, `ecps predict` (launch/commands/lr_command.cc).
void AddLrCommands(CommandTree& tree);
void AddCfCommands(CommandTree& tree);  // train itemcf/usercf, recommend, similar
/// `ecps train mf` (launch/commands/mf_command.cc).
void AddMfCommands(CommandTree& tree);
/// `ecps privacy epsilon`, `ecps privacy noise` (launch/commands/privacy_command.cc).
void AddPrivacyCommands(CommandTree& tree);
/// `ecps pseudonymize` (launch/commands/pseudonymize_command.cc).
void AddPseudonymizeCommand(CommandTree& tree);
/// `ecps unseal`, `ecps seal` (launch/commands/unseal_command.cc).
void AddSealCommands(CommandTree& tree);
/// `ecps serve` (launch/commands/serve_command.cc).
void AddServeCommand(CommandTree& tree);
/// `ecps export` (launch/commands/export_command.cc).
void AddExportCommand(CommandTree& tree);

}  // namespace ecps::launch
