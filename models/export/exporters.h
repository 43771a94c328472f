// The exporters of each model kind (models/export/export.h dispatches to them).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "models/cf/model.h"
#include "models/kmeans/model.h"
#include "models/lr/linreg_job.h"
#include "models/lr/lr_model.h"

namespace ecps::models::exporting {

/// Version of the JSON layout ("ecps_export" in every file).
inline constexpr int kJsonVersion = 1;

/// `dir`: the model's folder (weights.json beside model.bin gives names), or "" for none.
nlohmann::json LrJson(const lr::LrModel& model, const std::string& dir);
nlohmann::json LinRegJson(const lr::LinRegModel& model, const std::string& dir);
std::string LrOnnx(const lr::LrModel& model);

/// `dir`: the model's folder (profiles.json beside model.bin is included), or "".
nlohmann::json KMeansJson(const kmeans::KMeansModel& model, const std::string& dir);
std::string KMeansOnnx(const kmeans::KMeansModel& model);

nlohmann::json CfJson(const cf::CfModel& model);

}  // namespace ecps::models::exporting
