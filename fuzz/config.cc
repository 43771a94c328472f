// TOML --config files: the file expanded into options of one command and the whole command
// line parsed by the real command tree (`ecps <command> --config FILE`), without running the
// command. The first input byte picks the command, the rest is the file.
#include <iterator>

#include "fuzz/fuzz_util.h"
#include "launch/command.h"

using namespace ecps;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::ScratchFile file("config");
  static const std::vector<std::vector<std::string>> kCommands = {
      {"train", "kmeans"}, {"train", "lr"},  {"train", "linreg"}, {"train", "itemcf"},
      {"train", "usercf"}, {"segment"},      {"predict"},         {"recommend"},
      {"similar"},         {"generate"},     {"demo"}};
  std::string_view in = fuzz::Bytes(data, size);
  const std::uint8_t opt = fuzz::TakeByte(&in);
  std::vector<std::string> args = kCommands[opt % kCommands.size()];
  args.push_back("--config");
  args.push_back(file.Write(in));
  if (opt & 0x80) args.insert(args.end(), {"--out", "cli-out"});  // the command line also sets one
  (void)launch::ParseCommand(args);
  return 0;
}
