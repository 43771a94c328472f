#include "launch/config.h"

#include <filesystem>

#include <fmt/format.h>

namespace ecps::launch {
namespace {

std::string Scalar(const toml::node& n) {
  if (auto s = n.value<std::string>()) return *s;
  if (n.is_integer()) return std::to_string(*n.value<std::int64_t>());
  if (n.is_floating_point()) return fmt::format("{}", *n.value<double>());
  if (n.is_boolean()) return *n.value<bool>() ? "true" : "false";
  return {};
}

}  // namespace

Result<std::vector<std::string>> TomlToArgs(const toml::table& table, const CLI::App& command,
                                            const std::string& where) {
  std::vector<std::string> out;
  for (const auto& [k, v] : table) {
    const std::string key(k.str());
    const auto line = v.source().begin.line;
    const CLI::Option* opt = command.get_option_no_throw("--" + key);
    if (opt == nullptr || key == "config" || key == "help") {
      return InvalidArgument(fmt::format("{}:{}: unknown key \"{}\" for `{}` (see --help)", where, line, key,
                                         command.get_name()));
    }
    if (v.is_table()) {
      return InvalidArgument(fmt::format("{}:{}: key \"{}\" is a table; expected a value", where, line, key));
    }
    if (const auto* arr = v.as_array()) {
      if (opt->get_expected_max() <= 1) {
        return InvalidArgument(fmt::format("{}:{}: key \"{}\" takes one value, not a list", where, line, key));
      }
      out.push_back("--" + key);
      for (const auto& e : *arr) {
        std::string s = Scalar(e);
        if (s.empty() && !e.is_string()) {
          return InvalidArgument(fmt::format("{}:{}: key \"{}\": list items must be strings or numbers",
                                             where, line, key));
        }
        out.push_back(s);
      }
      continue;
    }
    if (opt->get_expected_min() == 0) {  // a flag
      if (!v.is_boolean()) {
        return InvalidArgument(fmt::format("{}:{}: key \"{}\" is a switch; write true or false", where, line, key));
      }
      out.push_back(fmt::format("--{}={}", key, *v.value<bool>() ? "true" : "false"));
      continue;
    }
    out.push_back(fmt::format("--{}={}", key, Scalar(v)));
  }
  return out;
}

Result<std::vector<std::string>> ExpandConfig(const CLI::App& root, std::vector<std::string> args) {
  // The command path: leading words that name subcommands.
  const CLI::App* cmd = &root;
  std::size_t path_end = 0;
  while (path_end < args.size()) {
    const CLI::App* sub = nullptr;
    for (const auto* s : cmd->get_subcommands([](const CLI::App*) { return true; })) {
      if (s->get_name() == args[path_end]) sub = s;
    }
    if (!sub) break;
    cmd = sub;
    ++path_end;
  }
  // The pipeline's --config is a file of sections, one per stage: it reads it itself.
  if (cmd->get_name() == "pipeline") return args;
  std::string file;
  std::vector<std::string> rest;
  for (std::size_t i = path_end; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      file = args[++i];
    } else if (args[i].rfind("--config=", 0) == 0) {
      file = args[i].substr(9);
    } else {
      rest.push_back(args[i]);
    }
  }
  if (file.empty()) return args;
  if (!std::filesystem::is_regular_file(file)) return NotFound(fmt::format("--config {}: no such file", file));
  toml::table table;
  try {
    table = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    return InvalidArgument(fmt::format("{}:{}:{}: {}", file, src.begin.line, src.begin.column, e.description()));
  } catch (const std::exception& e) {
    return NotFound(fmt::format("{}: {}", file, e.what()));
  }
  ECPS_ASSIGN_OR_RETURN(auto from_file, TomlToArgs(table, *cmd, file));
  std::vector<std::string> out(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(path_end));
  out.insert(out.end(), from_file.begin(), from_file.end());
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

}  // namespace ecps::launch
