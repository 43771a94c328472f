// An output file written in pieces (util::AtomicWriter) that, with `--encrypt-key`, is sealed
// as a whole (privacy/sealed.h, label = the file's base name) when committed. Without a key
// the bytes go straight to the file, as they always did.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "privacy/sealed.h"
#include "ps/status.h"
#include "util/files.h"

namespace ecps::models {

class OutputFile {
 public:
  /// Opens `path` (util::AtomicWriter); `key` may be null (plain), else it must outlive this.
  static Result<std::unique_ptr<OutputFile>> Open(const std::string& path,
                                                  const privacy::EncryptionKey* key);
  /// Appends `bytes`: written at once without a key, held in memory until Commit with one.
  Status Write(std::string_view bytes);
  /// Seals what was written (with a key) and renames the file into place.
  Status Commit();

 private:
  OutputFile(std::unique_ptr<util::AtomicWriter> file, const privacy::EncryptionKey* key)
      : file_(std::move(file)), key_(key) {}
  std::unique_ptr<util::AtomicWriter> file_;
  const privacy::EncryptionKey* key_;
  std::string held_;
};

/// Writes `content` to `path` as one file: atomically (util::WriteFileAtomic) without a key,
/// sealed under the file's base name with one.
Status WriteOutputFile(const std::string& path, std::string_view content,
                       const privacy::EncryptionKey* key);

}  // namespace ecps::models
