// The command tree of the ecps executable, built in one place so that main() and the
// pipeline (which runs other commands as its stages) parse commands the same way.
#include "launch/command.h"
#include "launch/config.h"

namespace ecps::launch {

void AddConfigOption(CLI::App& sub) {
  // Read before parsing by ExpandConfig; declared here so that --help lists it.
  sub.add_option("--config", "TOML file of options whose keys are the long option names "
                             "(command-line options override it)");
}

void BuildCommandTree(CLI::App& app, Selected& selected) {
  app.require_subcommand(1);
  // Options given twice (config file, then command line): the last one wins.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", "ecps 0.1.0");
  CommandTree tree{&app, nullptr, &selected};
  tree.train = app.add_subcommand("train", "Train a model (see ecps train <model> --help)");
  tree.train->require_subcommand(1);
  AddDemoCommand(tree);
  AddGenerateCommand(tree);
  AddKMeansCommand(tree);
  AddLrCommands(tree);
  AddCfCommands(tree);
  AddPipelineCommand(tree);
}

Result<Selected> ParseCommand(const std::vector<std::string>& args) {
  CLI::App app{"ecps", "ecps"};
  Selected selected;
  BuildCommandTree(app, selected);
  ECPS_ASSIGN_OR_RETURN(auto expanded, ExpandConfig(app, args));
  std::vector<std::string> reversed(expanded.rbegin(), expanded.rend());  // CLI11 takes them reversed
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    std::string words;
    for (const auto& a : args) words += (words.empty() ? "" : " ") + a;
    return InvalidArgument(fmt::format("`ecps {}`: {}", words, e.what()));
  }
  if (!selected) return InvalidArgument("no command given");
  return selected;
}

}  // namespace ecps::launch
