// `ecps unseal` and `ecps seal`: open a file that --encrypt-key sealed (privacy/sealed.h) with
// its key file and write the plain bytes, or seal a plain file the same way.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "launch/command.h"
#include "privacy/sealed.h"
#include "util/files.h"

namespace ecps::launch {
namespace {

struct SealOptions {
  std::string key_file, in, out = "-", label;
};

// The whole content of `path`.
Result<std::string> ReadWhole(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFound(fmt::format("{}: no such regular file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return IoError(fmt::format("{}: read error", path));
  return bytes;
}

// `o.label`, or the base name of `path` (the label --encrypt-key seals under).
std::string LabelOf(const SealOptions& o, const std::string& path) {
  return o.label.empty() ? std::filesystem::path(path).filename().string() : o.label;
}

// Writes `bytes` to o.out: atomically to a file, or to standard output for "-".
Status WriteOut(const SealOptions& o, std::string_view bytes) {
  if (o.out != "-") return util::WriteFileAtomic(o.out, bytes);
  if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() ||
      std::fflush(stdout) != 0) {
    return IoError("standard output: write error");
  }
  return Status::Ok();
}

Status Unseal(const SealOptions& o) {
  ECPS_ASSIGN_OR_RETURN(const auto key, privacy::EncryptionKey::Load(o.key_file));
  ECPS_ASSIGN_OR_RETURN(const std::string sealed, ReadWhole(o.in));
  if (!privacy::LooksSealed(sealed)) {
    return DataError(fmt::format("{}: not an ecps sealed file (written without --encrypt-key?): "
                                 "nothing to unseal",
                                 o.in));
  }
  auto plain = privacy::Open(key, sealed, LabelOf(o, o.in));
  if (!plain.ok()) {
    const char* hint =
        o.label.empty() ? " (or it was renamed: give its original name with --label)" : "";
    return DataError(fmt::format("{}: {}{}", o.in, plain.status().message(), hint));
  }
  return WriteOut(o, *plain);
}

Status SealFile(const SealOptions& o) {
  if (o.out == "-") return InvalidArgument("--out: seal writes a file, not standard output");
  ECPS_ASSIGN_OR_RETURN(const auto key, privacy::EncryptionKey::Load(o.key_file));
  ECPS_ASSIGN_OR_RETURN(const std::string plain, ReadWhole(o.in));
  if (privacy::LooksSealed(plain)) {
    return DataError(fmt::format("{}: already an ecps sealed file", o.in));
  }
  ECPS_ASSIGN_OR_RETURN(const std::string sealed, privacy::Seal(key, plain, LabelOf(o, o.out)));
  return util::WriteFileAtomic(o.out, sealed);
}

// The options both commands share.
void AddKeyAndInput(CLI::App& sub, SealOptions& o, const char* in_help) {
  sub.add_option("--key", o.key_file,
                 "Secret key file, as --encrypt-key's (>= 16 bytes, mode 600)")
      ->required();
  sub.add_option("--in", o.in, in_help)->required();
}

}  // namespace

void AddSealCommands(CommandTree& tree) {
  auto u = std::make_shared<SealOptions>();
  auto* unseal = tree.root->add_subcommand(
      "unseal",
      "Open a file that --encrypt-key sealed (model.bin, assignments.csv, recommendations.csv, "
      "weights.csv, ...) with its key and write the plain bytes");
  AddKeyAndInput(*unseal, *u, "Sealed file to open");
  unseal->add_option("--out", u->out,
                     "Where the plain bytes go: a file, written atomically, or - for standard "
                     "output (default -)");
  unseal->add_option("--label", u->label,
                     "Name the file was sealed under (default: the base name of --in; give the "
                     "original name of a renamed file)");
  AddConfigOption(*unseal);
  unseal->callback([u, sel = tree.selected] { *sel = [u] { return Unseal(*u); }; });

  auto s = std::make_shared<SealOptions>();
  auto* seal = tree.root->add_subcommand(
      "seal",
      "Seal a plain file with a key as --encrypt-key does (AES-256-GCM; ecps unseal opens it)");
  AddKeyAndInput(*seal, *s, "Plain file to seal");
  seal->add_option("--out", s->out, "Sealed file to write, atomically")->required();
  seal->add_option("--label", s->label,
                   "Name to seal under (default: the base name of --out, as --encrypt-key does)");
  AddConfigOption(*seal);
  seal->callback([s, sel = tree.selected] { *sel = [s] { return SealFile(*s); }; });
}

}  // namespace ecps::launch
