#include "serve/api.h"

#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "util/files.h"

namespace ecps::serve {

void ModelRegistry::Set(std::shared_ptr<const ServedModel> model) {
  std::lock_guard<std::mutex> lock(mu_);
  ++versions_[model->name()];
  models_[model->name()] = std::move(model);
}

std::uint64_t ModelRegistry::Version(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = versions_.find(name);
  return it == versions_.end() ? 0 : it->second;
}

std::string ModelRegistry::Reload() {
  std::lock_guard<std::mutex> one_at_a_time(reload_mu_);
  nlohmann::json answer = {{"reloaded", nlohmann::json::array()},
                           {"failed", nlohmann::json::array()}};
  for (const auto& old : All()) {
    auto loaded = LoadServedModel(old->name(), old->dir(), old->encrypt_key());
    std::string error;
    if (!loaded.ok()) {
      error = loaded.status().message();
    } else if ((*loaded)->kind() != old->kind()) {
      error = fmt::format("{}: holds a {} model, not {}", old->dir(), (*loaded)->kind(),
                          old->kind());
    }
    if (error.empty()) {
      Set(std::move(*loaded));
      reloads_.fetch_add(1);
      answer["reloaded"].push_back(old->name());
      spdlog::info("reload: model \"{}\" from {} is served (version {})", old->name(),
                   old->dir(), Version(old->name()));
    } else {
      reload_failures_.fetch_add(1);
      answer["failed"].push_back({{"name", old->name()}, {"error", error}});
      spdlog::error("reload: model \"{}\" keeps its previous version: {}", old->name(), error);
    }
  }
  return util::DumpJson(answer) + "\n";
}

std::shared_ptr<const ServedModel> ModelRegistry::Find(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find(name);
  return it == models_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const ServedModel>> ModelRegistry::All() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<const ServedModel>> all;
  for (const auto& [name, m] : models_) all.push_back(m);
  return all;
}

namespace {

// A model's entry in /v1/models; with its training metrics (metrics.json) when `metrics`.
std::string Describe(const ServedModel& m, std::uint64_t version, bool metrics = false) {
  return fmt::format(
      "{{\"name\": {}, \"kind\": \"{}\", \"path\": {}, \"verbs\": \"{}\", \"version\": {}, "
      "\"loaded_at\": {:.3f}{}}}",
      JsonString(m.name()), m.kind(), JsonString(m.dir()), m.verbs(), version, m.loaded_at(),
      metrics ? ", \"metrics\": " + m.metrics() : "");
}

Reply MethodNotAllowed(std::string_view method, std::string_view allowed) {
  return ErrorReply(405, fmt::format("method {} is not allowed here (use {})", method, allowed));
}

constexpr std::string_view kModels = "/v1/models";

Reply ModelRequest(const ModelRegistry& models, std::string_view method, std::string_view rest,
                   const std::string& body, std::string* endpoint) {
  const auto colon = rest.find(':');
  const std::string_view name = rest.substr(0, colon);
  const std::string verb(colon == std::string_view::npos ? "" : rest.substr(colon + 1));
  if (!verb.empty())
    *endpoint = verb == "predict" || verb == "segment" || verb == "recommend" || verb == "similar"
                    ? verb
                    : "other";
  else
    *endpoint = "models";
  const auto model = models.Find(name);
  if (!model) return ErrorReply(404, fmt::format("model \"{}\" is not served", name));
  if (verb.empty()) {
    if (method != "GET") return MethodNotAllowed(method, "GET");
    return Reply{200, Describe(*model, models.Version(name), true) + "\n"};
  }
  if (method != "POST") return MethodNotAllowed(method, "POST");
  JsonDoc parsed;
  if (auto error = parsed.Parse(body)) return ErrorReply(400, "malformed JSON: " + *error);
  return model->Handle(verb, parsed.root());
}

}  // namespace

Reply HandleRequest(ModelRegistry& models, const ServeMetrics& metrics,
                    std::string_view method, std::string_view target, const std::string& body,
                    std::string* endpoint) {
  target = target.substr(0, target.find('?'));
  *endpoint = "other";
  if (target == "/healthz") {
    *endpoint = "healthz";
    if (method != "GET" && method != "HEAD") return MethodNotAllowed(method, "GET");
    return Reply{200, "{\"status\": \"ok\"}\n"};
  }
  if (target == "/metrics") {
    *endpoint = "metrics";
    if (method != "GET") return MethodNotAllowed(method, "GET");
    return Reply{200,
                 metrics.Text(models.All().size(), models.reloads(), models.reload_failures()),
                 "text/plain; version=0.0.4"};
  }
  if (target == "/v1/admin/reload") {
    *endpoint = "admin";
    if (method != "POST") return MethodNotAllowed(method, "POST");
    return Reply{200, models.Reload()};
  }
  if (target == kModels || target == "/v1/models/") {
    *endpoint = "models";
    if (method != "GET") return MethodNotAllowed(method, "GET");
    std::string out = "{\"models\": [";
    const auto all = models.All();
    for (std::size_t i = 0; i < all.size(); ++i)
      out += (i ? ", " : "") + Describe(*all[i], models.Version(all[i]->name()));
    return Reply{200, out + "]}\n"};
  }
  if (target.starts_with("/v1/models/")) {
    try {
      return ModelRequest(models, method, target.substr(kModels.size() + 1), body, endpoint);
    } catch (const std::exception& e) {
      return ErrorReply(500, fmt::format("internal error: {}", e.what()));
    }
  }
  return ErrorReply(404, fmt::format("no such path: {}", target));
}

}  // namespace ecps::serve
