#include "launch/config.h"
#include "launch/option_names.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "launch/command.h"

namespace ecps::launch {
namespace {

// A TOML string, integer, float or boolean as the command line writes it; nullopt for a date
// or a time.
std::optional<std::string> Scalar(const toml::node& n) {
  if (auto s = n.value<std::string>()) return *s;
  if (n.is_integer()) return std::to_string(*n.value<std::int64_t>());
  if (n.is_floating_point()) return fmt::format("{}", *n.value<double>());
  if (n.is_boolean()) return *n.value<bool>() ? "true" : "false";
  return std::nullopt;
}

// The words naming `command` below the root: {"train", "kmeans"}.
std::vector<std::string> CommandPath(const CLI::App& command) {
  std::vector<std::string> path;
  for (const CLI::App* c = &command; c->get_parent() != nullptr; c = c->get_parent())
    path.push_back(c->get_name());
  std::reverse(path.begin(), path.end());
  return path;
}

// Parses `words` (in their order) with `app`; throws what CLI11 throws.
void ParseWords(CLI::App& app, std::vector<std::string> words) {
  std::reverse(words.begin(), words.end());  // CLI11 takes them reversed
  app.parse(words);
}

// The arguments of one key, or why the value does not suit the option.
Result<std::vector<std::string>> KeyArgs(const std::string& key, const toml::node& v,
                                         const CLI::Option& opt) {
  if (v.is_table()) return InvalidArgument("is a table; expected a value");
  const bool optional_value = opt.get_expected_max() >= 1;  // --resume [DIR]
  if (opt.get_expected_min() == 0 && optional_value && v.is_boolean()) {
    return *v.value<bool>() ? std::vector<std::string>{"--" + key} : std::vector<std::string>{};
  }
  if (opt.get_expected_min() == 0 && !optional_value) {  // a switch
    if (!v.is_boolean()) return InvalidArgument("is a switch; write true or false");
    return std::vector<std::string>{
        fmt::format("--{}={}", key, *v.value<bool>() ? "true" : "false")};
  }
  std::vector<std::string> args;
  auto add = [&](const toml::node& e) -> Status {
    auto s = Scalar(e);
    if (!s) return InvalidArgument("values must be strings, numbers or true/false");
    // "--key" and the value as two words: CLI11 reads "--key=" with an empty value as
    // "--key" followed by the next word.
    args.insert(args.end(), {"--" + key, std::move(*s)});
    return Status::Ok();
  };
  if (const auto* arr = v.as_array()) {
    if (opt.get_expected_max() <= 1) return InvalidArgument("takes one value, not a list");
    for (const auto& e : *arr) {
      if (e.is_array() || e.is_table())
        return InvalidArgument("list items must be strings or numbers");
      ECPS_RETURN_IF_ERROR(add(e));
    }
    return args;
  }
  ECPS_RETURN_IF_ERROR(add(v));
  return args;
}

// CLI11's message for a refused value without its leading "--key: ".
std::string WithoutOptionName(const std::string& message, const std::string& key) {
  const std::string prefix = "--" + key + ": ";
  return message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message;
}

}  // namespace

Result<std::vector<ConfigOption>> ReadConfigOptions(const toml::table& table,
                                                    const CLI::App& command,
                                                    const std::string& where) {
  // Each key's values go through a command line of their own, so that a refused value is
  // reported with its file and line.
  CLI::App probe;
  Selected unused;
  BuildCommandTree(probe, unused);
  const std::vector<std::string> path = CommandPath(command);
  std::vector<ConfigOption> out;
  for (const auto& [k, v] : table) {
    const std::string key(k.str());
    const auto line = v.source().begin.line;
    const CLI::Option* opt = command.get_option_no_throw("--" + key);
    if (opt == nullptr || key == "config" || key == "help") {
      const std::string closest = key == "config" || key == "help" ? "" : ClosestOption(command, key);
      return InvalidArgument(fmt::format("{}:{}: unknown key \"{}\" for `{}` ({})", where, line,
                                         key, command.get_name(),
                                         closest.empty() ? "see --help"
                                                         : "did you mean \"" + closest.substr(2) + "\"?"));
    }
    auto args = KeyArgs(key, v, *opt);
    if (!args.ok())
      return InvalidArgument(
          fmt::format("{}:{}: key \"{}\" {}", where, line, key, args.status().message()));
    std::vector<std::string> words = path;
    words.insert(words.end(), args->begin(), args->end());
    try {
      ParseWords(probe, words);
    } catch (const CLI::RequiredError&) {
      // Other options are missing from this one-key command line: not this key's concern.
    } catch (const CLI::ParseError& e) {
      return InvalidArgument(
          fmt::format("{}:{}: key \"{}\": {}", where, line, key, WithoutOptionName(e.what(), key)));
    }
    out.push_back({key, std::move(args).value()});
  }
  return out;
}

Result<std::vector<std::string>> TomlToArgs(const toml::table& table, const CLI::App& command,
                                            const std::string& where) {
  ECPS_ASSIGN_OR_RETURN(auto options, ReadConfigOptions(table, command, where));
  std::vector<std::string> out;
  for (auto& o : options) out.insert(out.end(), o.args.begin(), o.args.end());
  return out;
}

Result<std::vector<std::string>> ExpandConfig(const CLI::App& root, std::vector<std::string> args) {
  // The command path: leading words that name subcommands.
  std::vector<std::string> path;
  const CLI::App* cmd = &root;
  while (path.size() < args.size()) {
    const CLI::App* sub = FindCommand(*cmd, {args[path.size()]});
    if (!sub) break;
    cmd = sub;
    path.push_back(args[path.size()]);
  }
  // The pipeline's --config is a file of sections, one per stage: it reads it itself.
  if (cmd->get_name() == "pipeline") return args;
  std::string file;
  std::vector<std::string> rest;
  for (std::size_t i = path.size(); i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      file = args[++i];
    } else if (args[i].rfind("--config=", 0) == 0) {
      file = args[i].substr(9);
    } else {
      rest.push_back(args[i]);
    }
  }
  if (file.empty()) return args;
  if (!std::filesystem::is_regular_file(file))
    return NotFound(fmt::format("--config {}: no such file", file));
  toml::table table;
  try {
    table = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    return InvalidArgument(
        fmt::format("{}:{}:{}: {}", file, src.begin.line, src.begin.column, e.description()));
  } catch (const std::exception& e) {
    return NotFound(fmt::format("{}: {}", file, e.what()));
  }
  ECPS_ASSIGN_OR_RETURN(auto from_file, ReadConfigOptions(table, *cmd, file));
  // The options the command line gives, as CLI11 reads it (values that look like options
  // included). An error here is the command line's own, and the real parse reports it.
  CLI::App given;
  Selected unused;
  BuildCommandTree(given, unused);
  std::vector<std::string> command_line = path;
  command_line.insert(command_line.end(), rest.begin(), rest.end());
  try {
    ParseWords(given, command_line);
  } catch (const CLI::ParseError&) {
  }
  const CLI::App* given_cmd = FindCommand(given, path);
  std::vector<std::string> out = path;
  for (const auto& o : from_file) {
    const CLI::Option* on_line = given_cmd->get_option_no_throw("--" + o.key);
    if (on_line != nullptr && on_line->count() > 0) continue;  // the command line wins
    out.insert(out.end(), o.args.begin(), o.args.end());
  }
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

}  // namespace ecps::launch
