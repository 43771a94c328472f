// Model files: a small header (magic, format version, model kind, payload size, CRC-32)
// followed by the model as a Cereal binary archive. Loading refuses, with a clear message,
// a file that is not an ecps model, a model of another kind or format version, a truncated
// file, and a file whose checksum does not match.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>

#include <cereal/archives/binary.hpp>

#include "ps/status.h"

namespace ecps::models {

/// Writes `payload` as a model of `kind` ("lr", "kmeans", ...) and `version`, atomically.
Status SaveModelFile(const std::string& path, const std::string& kind, std::uint32_t version,
                     const std::string& payload);

/// The kind ("lr", "linreg", ...) written in a model file's header; an error for a file that
/// is not an ecps model. LoadModelFile still checks the rest.
Result<std::string> ModelFileKind(const std::string& path);

/// The model file to read for `dir_or_file`: the path itself when it is not a folder, else
/// `file` inside it. When the folder lacks `file`, NotFound says what it holds instead
/// (another kind of model, or none).
Result<std::string> ModelFileIn(const std::string& dir_or_file, const std::string& file);

/// Reads and checks a model file; returns the payload.
Result<std::string> LoadModelFile(const std::string& path, const std::string& kind, std::uint32_t version);

template <class T>
Status SaveModel(const std::string& path, const std::string& kind, std::uint32_t version, const T& model) {
  std::ostringstream os;
  {
    cereal::BinaryOutputArchive ar(os);
    ar(model);
  }
  return SaveModelFile(path, kind, version, os.str());
}

template <class T>
Status LoadModel(const std::string& path, const std::string& kind, std::uint32_t version, T* model) {
  ECPS_ASSIGN_OR_RETURN(std::string payload, LoadModelFile(path, kind, version));
  try {
    std::istringstream is(payload);
    cereal::BinaryInputArchive ar(is);
    ar(*model);
  } catch (const std::exception& e) {
    return DataError(path + ": the model does not decode (" + e.what() + ")");
  }
  return Status::Ok();
}

}  // namespace ecps::models
