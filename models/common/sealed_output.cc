#include "models/common/sealed_output.h"

#include <filesystem>

namespace ecps::models {

Result<std::unique_ptr<OutputFile>> OutputFile::Open(const std::string& path,
                                                     const privacy::EncryptionKey* key) {
  ECPS_ASSIGN_OR_RETURN(auto file, util::AtomicWriter::Open(path));
  return std::unique_ptr<OutputFile>(new OutputFile(std::move(file), key));
}

Status OutputFile::Write(std::string_view bytes) {
  if (key_ == nullptr) return file_->Write(bytes);
  held_.append(bytes);
  return Status::Ok();
}

Status OutputFile::Commit() {
  if (key_ != nullptr) {
    const std::string label = std::filesystem::path(file_->path()).filename().string();
    ECPS_ASSIGN_OR_RETURN(std::string sealed, privacy::Seal(*key_, held_, label));
    std::string().swap(held_);
    ECPS_RETURN_IF_ERROR(file_->Write(sealed));
  }
  return file_->Commit();
}

Status WriteOutputFile(const std::string& path, std::string_view content,
                       const privacy::EncryptionKey* key) {
  if (key == nullptr) return util::WriteFileAtomic(path, content);
  const std::string label = std::filesystem::path(path).filename().string();
  ECPS_ASSIGN_OR_RETURN(std::string sealed, privacy::Seal(*key, content, label));
  return util::WriteFileAtomic(path, sealed);
}

}  // namespace ecps::models
