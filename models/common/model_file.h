// Model files: a small header (magic, format version, model kind zero-padded to 16 bytes,
// payload size, CRC-32) followed by the model as a Cereal binary archive. Loading refuses,
// with a clear message naming the file, a path that is not a regular file, a file that is
// not an ecps model, a model of another kind or format version, a header with non-zero
// padding, a truncated or padded file and a file whose checksum does not match — all from
// the header and the file's size, before the payload is read. The checksum only catches
// accidents: the payload is then decoded by ps::BoundedInputArchive, which checks every count
// against the bytes left, and each loader checks that the decoded parts fit together.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <sstream>
#include <string>

#include <cereal/archives/binary.hpp>

#include "privacy/sealed.h"
#include "ps/bounded_archive.h"
#include "ps/status.h"

namespace ecps::models {

/// Writes `payload` as a model of `kind` ("lr", "kmeans", ...) and `version`, atomically.
/// With `key`, the whole file (header, checksum and payload) is sealed (privacy/sealed.h) under
/// the file's base name as label; without, the bytes are as they always were.
Status SaveModelFile(const std::string& path, const std::string& kind, std::uint32_t version,
                     const std::string& payload, const privacy::EncryptionKey* key = nullptr);

/// Writes a model file whose payload is what `write` puts into the stream it is given, without
/// holding the payload: `write` runs twice, once for the header's size and checksum, once into
/// the file (pieces of 1 MiB), so it must write the same bytes both times. With `key` the file
/// is sealed whole, so held in memory as SaveModelFile holds it. The bytes are SaveModelFile's
/// for the same payload; an exception from `write` becomes an Internal error.
Status StreamModelFile(const std::string& path, const std::string& kind, std::uint32_t version,
                       const std::function<void(std::ostream&)>& write,
                       const privacy::EncryptionKey* key = nullptr);

/// The kind ("lr", "linreg", ...) written in a model file's header; an error for a file that
/// is not an ecps model. LoadModelFile still checks the rest. A sealed file is opened with
/// `key` first (refused as LoadModelFile refuses it).
Result<std::string> ModelFileKind(const std::string& path, const privacy::EncryptionKey* key = nullptr);

/// The model file to read for `dir_or_file`: the path itself when it is not a folder, else
/// `file` inside it. When the folder lacks `file`, NotFound says what it holds instead
/// (another kind of model, or none).
Result<std::string> ModelFileIn(const std::string& dir_or_file, const std::string& file);

/// Reads and checks a model file; returns the payload. A sealed file is opened with `key`
/// first and then checked like a plain one; refused (DataError, naming the file): a sealed
/// file without a key ("encrypted ... --encrypt-key"), and one the key does not open ("wrong
/// key, or the file was modified"). A plain file is read with or without a key.
Result<std::string> LoadModelFile(const std::string& path, const std::string& kind, std::uint32_t version,
                                  const privacy::EncryptionKey* key = nullptr);

template <class T>
Status SaveModel(const std::string& path, const std::string& kind, std::uint32_t version, const T& model,
                 const privacy::EncryptionKey* key = nullptr) {
  std::ostringstream os;
  {
    cereal::BinaryOutputArchive ar(os);
    ar(model);
  }
  return SaveModelFile(path, kind, version, os.str(), key);
}

/// SaveModel's file, streamed (StreamModelFile): for a model too large to hold twice.
template <class T>
Status SaveModelStreamed(const std::string& path, const std::string& kind, std::uint32_t version,
                         const T& model, const privacy::EncryptionKey* key = nullptr) {
  return StreamModelFile(
      path, kind, version,
      [&model](std::ostream& os) {
        cereal::BinaryOutputArchive ar(os);
        ar(model);
      },
      key);
}

/// Loads a model of `kind` and `version` into `model`. Refusals (DataError, NotFound) name the
/// file and what is wrong; nothing is allocated beyond a small multiple of the file's size.
template <class T>
Status LoadModel(const std::string& path, const std::string& kind, std::uint32_t version, T* model,
                 const privacy::EncryptionKey* key = nullptr) {
  ECPS_ASSIGN_OR_RETURN(std::string payload, LoadModelFile(path, kind, version, key));
  try {
    ps::BoundedInputArchive ar(payload);
    ar(*model);
    if (ar.left() != 0) {
      return DataError(path + ": the model does not decode (" + std::to_string(ar.left()) +
                       " bytes follow the model)");
    }
  } catch (const std::exception& e) {
    return DataError(path + ": the model does not decode (" + e.what() + ")");
  }
  return Status::Ok();
}

}  // namespace ecps::models
