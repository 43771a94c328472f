#include "launch/privacy_options.h"

namespace ecps::launch {

Result<std::shared_ptr<const privacy::IdFilter>> IdPrivacyOptions::LoadFilter() const {
  if (key_file.empty() && exclude_file.empty()) return std::shared_ptr<const privacy::IdFilter>();
  return privacy::IdFilter::Load(key_file, exclude_file);
}

void AddIdPrivacyOptions(CLI::App& sub, IdPrivacyOptions& o, const std::string& mask_help,
                         const std::string& counted_in) {
  auto* g = sub.add_option_group("Privacy of ids");
  g->add_option("--pseudonymize-key", o.key_file,
                "Secret key file (>= 16 bytes, mode 600): every user id is replaced as it is read "
                "by its pseudonym, the first 32 hex digits of HMAC-SHA-256(key, id), so no raw id "
                "reaches a table, log or output (`ecps pseudonymize` maps other files the same "
                "way)");
  g->add_option("--exclude-users", o.exclude_file,
                "File of users who opted out, one id per line (raw ids; pseudonymised with "
                "--pseudonymize-key): their rows are dropped as they are read, counted in " +
                    counted_in);
  if (!mask_help.empty()) {
    g->add_option("--mask-columns", o.mask_columns, mask_help)->delimiter(',');
  }
}

void AddLookupKeyOption(CLI::App& sub, std::string& key_file) {
  sub.add_option("--pseudonymize-key", key_file,
                 "The key file the model was trained with (train --pseudonymize-key): --user, "
                 "or each id of --users, is then a raw id, looked up by its pseudonym");
}

Status PseudonymizeLookup(const std::string& key_file, std::string* id) {
  if (key_file.empty() || id->empty()) return Status::Ok();
  ECPS_ASSIGN_OR_RETURN(const auto key, privacy::PseudonymKey::Load(key_file));
  *id = privacy::Pseudonymize(key, *id);
  return Status::Ok();
}

void AddEncryptKeyOption(CLI::App& sub, std::string& key_file, const std::string& what) {
  sub.add_option("--encrypt-key", key_file,
                 "Secret key file (>= 16 bytes, mode 600) for AES-256-GCM: " + what);
}

Result<std::shared_ptr<const privacy::EncryptionKey>> LoadEncryptKey(const std::string& key_file) {
  if (key_file.empty()) return std::shared_ptr<const privacy::EncryptionKey>();
  ECPS_ASSIGN_OR_RETURN(auto key, privacy::EncryptionKey::Load(key_file));
  return std::make_shared<const privacy::EncryptionKey>(key);
}

}  // namespace ecps::launch
