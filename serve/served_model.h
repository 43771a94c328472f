// The models `ecps serve` answers with, loaded once from a training run's folder into
// immutable objects (shared as std::shared_ptr<const ServedModel>, so that a reload can swap
// one atomically while requests in flight finish on the old one).
//
// Every answer is computed by the code the command-line tools run, and its numbers are
// printed with their digits:
//   lr      `ecps predict`    probability, {:.8g}; an instance is an object of the training CSV
//                             columns (categorical values hashed, numeric ones standardised as
//                             in training) or, for libsvm/libffm models, a line string
//   linreg  `ecps predict`    value, {:.17g}
//   kmeans  `ecps segment`    segment, distance and risk score ({:.17g}), anomaly flag
//   cf      `ecps recommend`  items and scores (%.6g); an unknown user gets the most popular
//                             items, flagged "fallback": "popularity"
//           `ecps similar`    neighbours of an item (itemcf) or a user (usercf)
//   mf      `ecps recommend`, `ecps similar` (items, by the cosine of their factors)
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "privacy/sealed.h"
#include "ps/status.h"
#include "serve/instances.h"
#include "serve/reply.h"

namespace ecps::serve {

class ServedModel {
 public:
  virtual ~ServedModel() = default;
  const std::string& name() const { return name_; }
  const std::string& dir() const { return dir_; }
  /// "lr", "linreg", "kmeans", "itemcf", "usercf" or "mf".
  virtual std::string kind() const = 0;
  /// The verbs (after the colon of /v1/models/NAME:VERB) this model answers.
  virtual std::string verbs() const = 0;
  /// Answers `verb` for the parsed request body; 400 with a message naming the field when the
  /// body does not fit, 404 for an unknown user or item where the CLI refuses it too.
  virtual Reply Handle(const std::string& verb, JsonValue body) const = 0;
  /// Seconds since the epoch when the model was loaded.
  double loaded_at() const { return loaded_at_; }
  /// The training run's metrics.json (one line), or "null" when the folder has none.
  const std::string& metrics() const { return metrics_; }
  /// The key the model file was opened with (`serve --encrypt-key`; null = none), which a
  /// reload of the folder uses again.
  const std::shared_ptr<const privacy::EncryptionKey>& encrypt_key() const { return key_; }

 protected:
  std::string name_, dir_;
  double loaded_at_ = 0;
  std::string metrics_ = "null";
  std::shared_ptr<const privacy::EncryptionKey> key_;
  friend Result<std::shared_ptr<const ServedModel>> LoadServedModel(
      const std::string&, const std::string&, std::shared_ptr<const privacy::EncryptionKey>);
};

/// Loads the model in `dir` (a training run's --out folder; its kind is read from the model
/// file as `ecps predict`, `segment` and `recommend` do) and prepares it for serving. With
/// `key`, a sealed model file is opened with it (a plain one still loads); a sealed file
/// without the key, under another key or with a changed byte is refused (DataError naming
/// the model and its file), as the command-line readers refuse it.
Result<std::shared_ptr<const ServedModel>> LoadServedModel(
    const std::string& name, const std::string& dir,
    std::shared_ptr<const privacy::EncryptionKey> key = nullptr);

// The kinds' loaders (one file each); `key` may be null (plain model files only).
Result<std::unique_ptr<ServedModel>> LoadServedLr(const std::string& path, const std::string& kind,
                                                  const privacy::EncryptionKey* key);
Result<std::unique_ptr<ServedModel>> LoadServedKMeans(const std::string& path,
                                                      const privacy::EncryptionKey* key);
Result<std::unique_ptr<ServedModel>> LoadServedCf(const std::string& dir,
                                                  const privacy::EncryptionKey* key);
Result<std::unique_ptr<ServedModel>> LoadServedMf(const std::string& dir,
                                                  const privacy::EncryptionKey* key);

}  // namespace ecps::serve
