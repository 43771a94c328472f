// Unknown options named as such, with a did-you-mean suggestion. CLI11 checks required
// options before it looks at unexpected ones, so `ecps train lr --trian f` alone would say
// that --train is required; this check runs first.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "ps/status.h"

namespace ecps::launch {

/// The long option of `command` (its option groups included) whose name is closest to
/// `name` ("--trian" → "--train"), or "" when none is close: an edit distance (insertions,
/// deletions, substitutions, swaps of neighbours) of at most a third of the name, and at
/// least 1.
std::string ClosestOption(const CLI::App& command, std::string_view name);

/// InvalidArgument for the first word of `args` (a command line without the program name,
/// after --config expansion) that is written as an option (`--name`, `--name=value`, `-x`)
/// but is not one of the selected command's options. The message names the command and
/// the word and suggests the closest option. Words after `--` are not looked at. Command
/// words must already be known (CheckCommandWords).
Status CheckOptionNames(const CLI::App& root, const std::vector<std::string>& args);

}  // namespace ecps::launch
