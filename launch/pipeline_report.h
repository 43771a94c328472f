// The pipeline's report (summary.md) and file list (manifest.json).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ps/status.h"

namespace ecps::launch {

struct StageResult {
  std::string name;   ///< section name ("segment")
  std::string what;   ///< human description
  std::string dir;    ///< its output folder
  double seconds = 0; ///< wall time of the stage
  /// False for a stage of the file that this run did not select but whose outputs an
  /// earlier run left in `dir`: the reports show them, marked as earlier.
  bool ran = true;
};

/// (label, value) rows of a report table.
using Rows = std::vector<std::pair<std::string, std::string>>;

/// The key numbers of a stage's metrics.json (segment: quality of the clustering; recommend:
/// data and coverage; ctr: AUC, logloss, the threshold's metrics); empty for other stages.
Rows StageRows(const std::string& stage, const nlohmann::json& metrics);

/// The stage's privacy budget (metrics.json's `privacy`: scalars, and objects of scalars as
/// "name.key"); nullopt when the stage is not differentially private.
std::optional<Rows> PrivacyRows(const nlohmann::json& metrics);

/// The `ecps serve` line that answers every stage's model file (model.bin or model.ecps in
/// its folder); empty when no stage wrote one.
std::string ServeCommand(const std::vector<StageResult>& stages);

/// Writes out/summary.md: stage times; per stage its key metrics from metrics.json (segment:
/// quality of the clustering; recommend: model vs popularity on both protocols; ctr: AUC,
/// logloss, calibration; other stages: every top-level number), each training stage's privacy
/// budget (metrics.json's `privacy` object, or a line saying it is not private), the
/// segments' one-line descriptions (profiles.json), the segment profiles and the `ecps serve` command that answers the trained models. Stages
/// with `ran` false are listed as from an earlier run, with their outputs.
Status WriteSummary(const std::string& out, const std::vector<StageResult>& stages);

/// Writes out/manifest.json: every file under `out` (but the manifest) with size and CRC-32,
/// sorted by path.
Status WriteManifest(const std::string& out);

}  // namespace ecps::launch
