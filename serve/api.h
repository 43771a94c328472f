// The HTTP API of `ecps serve`, apart from the network: the models being served and the
// answer to one request (method, target, body). Endpoints (TensorFlow Serving's REST shape):
//   GET  /healthz             {"status": "ok"}
//   GET  /v1/models           {"models": [{"name", "kind", "path", "verbs", "version",
//                              "loaded_at"}]}
//   GET  /v1/models/NAME      one of them, with its training metrics (metrics.json)
//   POST /v1/models/NAME:VERB the model's answer (served_model.h)
//   GET  /metrics             Prometheus text (metrics.h)
//   POST /v1/admin/reload     ModelRegistry::Reload(): {"reloaded": [names], "failed":
//                             [{"name", "error"}]}
// Malformed JSON or a body that does not fit: 400 {"error": ...} naming the field; unknown
// model or path: 404; a known path with another method: 405.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "serve/metrics.h"
#include "serve/reply.h"
#include "serve/served_model.h"

namespace ecps::serve {

/// The models by name. Each is immutable; Set replaces one atomically (a request that got
/// the old one finishes on it). Thread-safe.
class ModelRegistry {
 public:
  /// Serves `model` under its name; its version is 1 + that of the model it replaces.
  void Set(std::shared_ptr<const ServedModel> model);
  /// The model called `name`, or null.
  std::shared_ptr<const ServedModel> Find(std::string_view name) const;
  std::vector<std::shared_ptr<const ServedModel>> All() const;
  /// How many times a model called `name` was Set (1 for the first load), or 0.
  std::uint64_t Version(std::string_view name) const;

  /// Loads every served model again from its folder, one at a time on the calling thread
  /// (requests keep being answered by the models being replaced), and swaps each one that
  /// loads and has the same kind as before in with Set. A folder that fails (missing,
  /// corrupt, another kind) leaves its old model served and is logged. One reload at a time
  /// (a second caller waits). Answers the JSON {"reloaded": [names], "failed": [{"name",
  /// "error"}]}.
  std::string Reload();
  /// Models swapped in, and folders that failed to load, by Reload since the start.
  std::uint64_t reloads() const { return reloads_.load(); }
  std::uint64_t reload_failures() const { return reload_failures_.load(); }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const ServedModel>, std::less<>> models_;
  std::map<std::string, std::uint64_t, std::less<>> versions_;
  std::mutex reload_mu_;
  std::atomic<std::uint64_t> reloads_{0}, reload_failures_{0};
};

/// Answers one request. `*endpoint` is set to the name under which /metrics counts it
/// ("predict", "segment", "recommend", "similar", "models", "healthz", "metrics", "admin",
/// "other").
Reply HandleRequest(ModelRegistry& models, const ServeMetrics& metrics,
                    std::string_view method, std::string_view target, const std::string& body,
                    std::string* endpoint);

}  // namespace ecps::serve
