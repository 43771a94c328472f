#include "launch/option_names.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include <fmt/format.h>

namespace ecps::launch {

namespace {

// Edit distance with swaps of neighbouring characters (optimal string alignment).
std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// Every name `command` accepts, with its dashes ("--train", "-k"), its option groups'
// (unnamed subcommands) included.
void CollectNames(const CLI::App& command, std::vector<std::string>& names) {
  for (const CLI::Option* opt : command.get_options()) {
    for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
    for (const auto& s : opt->get_snames()) names.push_back("-" + s);
  }
  for (const CLI::App* group :
       command.get_subcommands([](const CLI::App* s) { return s->get_name().empty(); })) {
    CollectNames(*group, names);
  }
}

// The command selected by the leading command words of `args`, and where its options start.
std::pair<const CLI::App*, std::size_t> SelectedCommand(const CLI::App& root,
                                                        const std::vector<std::string>& args) {
  const CLI::App* command = &root;
  std::size_t i = 0;
  for (; i < args.size() && !args[i].empty() && args[i][0] != '-'; ++i) {
    const CLI::App* next = nullptr;
    for (const CLI::App* s : command->get_subcommands({})) {
      if (!s->get_name().empty() && s->get_name() == args[i]) next = s;
    }
    if (next == nullptr) break;  // a positional argument
    command = next;
  }
  return {command, i};
}

// The option name a word is written as ("--name" of "--name=v", "-x" of "-xVALUE"), or ""
// when the word is a value (a negative number, "-" for stdin, no dash).
std::string OptionWord(const std::string& word) {
  if (word.size() < 2 || word[0] != '-') return "";
  if (word[1] == '-') return word.substr(0, word.find('='));
  if (!std::isalpha(static_cast<unsigned char>(word[1]))) return "";  // -0.5, -.5
  return word.substr(0, 2);
}

std::string CommandName(const CLI::App& command) {
  std::string name;
  for (const CLI::App* c = &command; c != nullptr; c = c->get_parent()) {
    name = c->get_name() + (name.empty() ? "" : " " + name);
  }
  return name;
}

}  // namespace

std::string ClosestOption(const CLI::App& command, std::string_view name) {
  std::vector<std::string> names;
  CollectNames(command, names);
  const std::string_view bare = name.substr(name.find_first_not_of('-') == std::string_view::npos
                                                ? name.size()
                                                : name.find_first_not_of('-'));
  const std::size_t limit = std::max<std::size_t>(1, bare.size() / 3);
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const std::string& candidate : names) {
    if (candidate[1] != '-') continue;  // long names only
    const std::string_view c = std::string_view(candidate).substr(2);
    const std::size_t d = EditDistance(bare, c);
    if (d <= limit && d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

Status CheckOptionNames(const CLI::App& root, const std::vector<std::string>& args) {
  const auto [command, first] = SelectedCommand(root, args);
  std::vector<std::string> names;
  CollectNames(*command, names);
  for (std::size_t i = first; i < args.size(); ++i) {
    if (args[i] == "--") break;
    const std::string word = OptionWord(args[i]);
    if (word.empty() || std::find(names.begin(), names.end(), word) != names.end()) continue;
    const std::string closest = ClosestOption(*command, word);
    return InvalidArgument(fmt::format("`{}`: unknown option {}{}", CommandName(*command), word,
                                       closest.empty() ? "; see --help for its options"
                                                       : fmt::format("; did you mean {}?", closest)));
  }
  return Status::Ok();
}

}  // namespace ecps::launch
