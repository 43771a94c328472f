// The options of pseudonymised ids, opt-outs and masked output columns, shared by the
// training commands whose inputs carry user ids (train kmeans, itemcf, usercf).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "privacy/pseudonym.h"
#include "privacy/sealed.h"
#include "ps/status.h"

namespace ecps::launch {

struct IdPrivacyOptions {
  std::string key_file;                   ///< --pseudonymize-key
  std::string exclude_file;               ///< --exclude-users
  std::vector<std::string> mask_columns;  ///< --mask-columns

  /// The filter the readers apply; null when neither a key nor an exclusion file is given
  /// (ids as they are, outputs as without these options). Every rank loads its own.
  Result<std::shared_ptr<const privacy::IdFilter>> LoadFilter() const;
};

/// Adds the "Privacy of ids" option group to `sub`. `mask_help` says which output columns
/// --mask-columns may name; empty = the command takes no --mask-columns. `counted_in` says
/// where the command reports the rows --exclude-users drops.
void AddIdPrivacyOptions(CLI::App& sub, IdPrivacyOptions& o, const std::string& mask_help,
                         const std::string& counted_in = "metrics.json (excluded_rows)");

/// Adds --pseudonymize-key to a command that looks up a user id given on the command line
/// (`recommend`, `similar`) in a model trained with that key.
void AddLookupKeyOption(CLI::App& sub, std::string& key_file);
/// Replaces *id by its pseudonym under the key in `key_file`; nothing when `key_file` is empty.
Status PseudonymizeLookup(const std::string& key_file, std::string* id);

/// Adds --encrypt-key (a key file, as --pseudonymize-key's) to `sub`; `what` says which files
/// it seals (a training command) or opens (a reader).
void AddEncryptKeyOption(CLI::App& sub, std::string& key_file, const std::string& what);
/// The key in `key_file` (privacy::EncryptionKey::Load); null when `key_file` is empty.
Result<std::shared_ptr<const privacy::EncryptionKey>> LoadEncryptKey(const std::string& key_file);

}  // namespace ecps::launch
