// The pipeline's report (summary.md) and file list (manifest.json).
#pragma once

#include <string>
#include <vector>

#include "ps/status.h"

namespace ecps::launch {

struct StageResult {
  std::string name;   ///< section name ("segment")
  std::string what;   ///< human description
  std::string dir;    ///< its output folder
  double seconds = 0; ///< wall time of the stage
};

/// Writes out/summary.md: stage times; per stage its key metrics from metrics.json (segment:
/// quality of the clustering; recommend: model vs popularity on both protocols; ctr: AUC,
/// logloss, calibration; other stages: every top-level number), each training stage's privacy
/// budget (metrics.json's `privacy` object, or a line saying it is not private), the
/// segment profiles and the `ecps serve` command that answers the trained models.
Status WriteSummary(const std::string& out, const std::vector<StageResult>& stages);

/// Writes out/manifest.json: every file under `out` (but the manifest) with size and CRC-32,
/// sorted by path.
Status WriteManifest(const std::string& out);

}  // namespace ecps::launch
