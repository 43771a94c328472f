// The command tree of the ecps executable, built in one place so that main() and the
// pipeline (which runs other commands as its stages) parse commands the same way.

#include "launch/command.h"

#include <cstdio>

#include "launch/config.h"
#include "launch/log_options.h"
#include "launch/option_names.h"
#include "util/files.h"

namespace ecps::launch {

void AddConfigOption(CLI::App& sub) {
  // Read before parsing by ExpandConfig; declared here so that --help lists it.
  sub.add_option("--config", "TOML file of options whose keys are the long option names "
                             "(command-line options override it)");
}

Status WriteCommandOutput(const std::string& path, std::string_view bytes) {
  if (path != "-") return util::WriteFileAtomic(path, bytes);
  if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() ||
      std::fflush(stdout) != 0) {
    return IoError("stdout: write failed");
  }
  return Status::Ok();
}

namespace {
// The commands below `app` that have no command below them.
void Leaves(CLI::App& app, std::vector<CLI::App*>& out) {
  const auto subs = app.get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); });
  if (subs.empty() && &app != app.get_parent()) out.push_back(&app);
  for (CLI::App* s : subs) Leaves(*s, out);
}
}  // namespace

std::shared_ptr<const LogOptions> BuildCommandTree(CLI::App& app, Selected& selected) {
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
  AddMfCommands(tree);
  AddPipelineCommand(tree);
  AddPrivacyCommands(tree);
  AddPseudonymizeCommand(tree);
  AddSealCommands(tree);
  AddServeCommand(tree);
  AddExportCommand(tree);
  // Every command logs the same way: the commands without cluster options (predict, generate,
  // serve, ...) get the logging options here; main applies them before running one.
  auto log = std::make_shared<LogOptions>();
  std::vector<CLI::App*> leaves;
  Leaves(app, leaves);
  for (CLI::App* leaf : leaves) {
    if (leaf != &app && leaf->get_option_no_throw("--quiet") == nullptr) AddLogOptions(*leaf, *log);
  }
  CheckNumberTypes(app);
  return log;
}

namespace {
// The commands below `app`: its named subcommands (CLI11's option groups are unnamed ones).
std::vector<const CLI::App*> Commands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); });
}

const CLI::App* Command(const CLI::App& app, const std::string& name) {
  for (const CLI::App* s : Commands(app)) {
    if (s->get_name() == name) return s;
  }
  return nullptr;
}
}  // namespace

const CLI::App* FindCommand(const CLI::App& root, const std::vector<std::string>& path) {
  const CLI::App* cmd = &root;
  for (const auto& word : path) {
    cmd = Command(*cmd, word);
    if (!cmd) return nullptr;
  }
  return cmd;
}

Status CheckCommandWords(const CLI::App& app, const std::vector<std::string>& args) {
  const CLI::App* level = &app;
  std::string path = "ecps";
  for (std::size_t i = 0;; ++i) {
    const auto subs = Commands(*level);
    if (subs.empty()) return Status::Ok();
    std::string known;
    for (const CLI::App* s : subs) known += (known.empty() ? "" : ", ") + s->get_name();
    if (i == args.size()) {
      return InvalidArgument(fmt::format("`{}`: a command is needed: {} (or --help)", path, known));
    }
    const std::string& word = args[i];
    if (word.empty() || word[0] == '-') return Status::Ok();  // options: CLI11 checks them
    const CLI::App* next = Command(*level, word);
    if (!next) return InvalidArgument(fmt::format("`{} {}`: unknown command; the commands are: {}", path, word, known));
    path += " " + word;
    level = next;
  }
}

Result<Selected> ParseCommand(const std::vector<std::string>& args) {
  CLI::App app{"ecps", "ecps"};
  Selected selected;
  BuildCommandTree(app, selected);
  ECPS_RETURN_IF_ERROR(CheckCommandWords(app, args));
  ECPS_ASSIGN_OR_RETURN(auto expanded, ExpandConfig(app, args));
  ECPS_RETURN_IF_ERROR(CheckOptionNames(app, expanded));
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
