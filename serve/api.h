// The HTTP API of `ecps serve`, apart from the network: the models being served and the
// answer to one request (method, target, body). Endpoints (TensorFlow Serving's REST shape):
//   GET  /healthz             {"status": "ok"}
//   GET  /v1/models           {"models": [{"name", "kind", "path", "verbs", "loaded_at"}]}
//   GET  /v1/models/NAME      one of them, with its training metrics (metrics.json)
//   POST /v1/models/NAME:VERB the model's answer (served_model.h)
//   GET  /metrics             Prometheus text (metrics.h)
// Malformed JSON or a body that does not fit: 400 {"error": ...} naming the field; unknown
// model or path: 404; a known path with another method: 405.
#pragma once

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
/// the old one finishes on it).
class ModelRegistry {
 public:
  void Set(std::shared_ptr<const ServedModel> model);
  /// The model called `name`, or null.
  std::shared_ptr<const ServedModel> Find(std::string_view name) const;
  std::vector<std::shared_ptr<const ServedModel>> All() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const ServedModel>, std::less<>> models_;
};

/// Answers one request. `*endpoint` is set to the name under which /metrics counts it
/// ("predict", "segment", "recommend", "similar", "models", "healthz", "metrics", "other").
Reply HandleRequest(const ModelRegistry& models, const ServeMetrics& metrics,
                    std::string_view method, std::string_view target, const std::string& body,
                    std::string* endpoint);

}  // namespace ecps::serve
