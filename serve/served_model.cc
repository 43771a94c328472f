#include "serve/served_model.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "models/cf/model.h"
#include "models/mf/mf_model.h"
#include "models/common/model_file.h"
#include "models/kmeans/model.h"
#include "models/lr/linreg_job.h"
#include "models/lr/lr_model.h"
#include "util/files.h"

namespace ecps::serve {

std::string JsonString(std::string_view s) {
  // Printable ASCII without a quote or backslash stands as it is in nlohmann's text.
  bool plain = true;
  for (const char c : s) plain &= c >= 0x20 && c != 0x7f && c != '"' && c != '\\';
  if (plain) return std::string(1, '"').append(s) += '"';
  return util::DumpJson(nlohmann::json(std::string(s)));  // bytes that are not UTF-8: U+FFFD
}

Reply ErrorReply(int status, std::string_view message) {
  return Reply{status, "{\"error\": " + JsonString(message) + "}\n"};
}

namespace {

// The kind's loader for the model file in `dir`.
Result<std::unique_ptr<ServedModel>> LoadKind(const std::string& dir,
                                              const privacy::EncryptionKey* key) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(dir, ec) && fs::exists(fs::path(dir) / "model.ecps", ec)) {
    if (auto mf = models::mf::IsMfModel(dir, key); mf.ok() && mf.value()) {
      return LoadServedMf(dir, key);
    }
    return LoadServedCf(dir, key);
  }
  ECPS_ASSIGN_OR_RETURN(std::string path, models::ModelFileIn(dir, "model.bin"));
  ECPS_ASSIGN_OR_RETURN(std::string kind, models::ModelFileKind(path, key));
  if (kind == models::lr::LrModel::kKind || kind == models::lr::LinRegModel::kKind) {
    return LoadServedLr(path, kind, key);
  }
  if (kind == models::kmeans::KMeansModel::kKind) return LoadServedKMeans(path, key);
  if (kind == models::cf::CfModel::kKind) return LoadServedCf(path, key);
  if (kind == models::mf::MfModel::kKind) return LoadServedMf(path, key);
  return InvalidArgument(fmt::format("{}: a {} model cannot be served", path, kind));
}

}  // namespace

Result<std::shared_ptr<const ServedModel>> LoadServedModel(
    const std::string& name, const std::string& dir,
    std::shared_ptr<const privacy::EncryptionKey> key) {
  namespace fs = std::filesystem;
  auto loaded = LoadKind(dir, key.get());
  if (!loaded.ok()) return loaded.status().WithContext(fmt::format("model \"{}\"", name));
  std::unique_ptr<ServedModel> m = std::move(*loaded);
  m->key_ = std::move(key);
  if (std::ifstream in(fs::path(dir) / "metrics.json"); in) {
    const auto metrics = nlohmann::json::parse(in, nullptr, false);
    if (!metrics.is_discarded()) m->metrics_ = util::DumpJson(metrics);
  }
  m->name_ = name;
  m->dir_ = dir;
  m->loaded_at_ =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return std::shared_ptr<const ServedModel>(std::move(m));
}

}  // namespace ecps::serve
