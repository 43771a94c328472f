// Shared by the model-loader targets: the fuzz input is a model's payload (the Cereal archive
// after the header), written with a valid header and checksum, as a crafted or foreign model
// file would be (the checksum only catches accidents), then loaded by the real loader.
#pragma once

#include "fuzz/fuzz_util.h"
#include "models/common/model_file.h"

namespace ecps::fuzz {

/// Writes `payload` as a model file of `kind` and `version` to `file`; returns its path.
inline const std::string& WriteModel(ScratchFile* file, const char* kind, std::uint32_t version,
                                     std::string_view payload) {
  Check(models::SaveModelFile(file->path(), kind, version, std::string(payload)).ok(), "model file written");
  return file->path();
}

}  // namespace ecps::fuzz
