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

/// Writes out/summary.md: stage times, and per stage its metrics (metrics.json: top-level
/// numbers as a table; objects of numbers, e.g. model vs baseline, as columns side by side)
/// and its profiles.csv as a table when present.
Status WriteSummary(const std::string& out, const std::vector<StageResult>& stages);

/// Writes out/manifest.json: every file under `out` (but the manifest) with size and CRC-32,
/// sorted by path.
Status WriteManifest(const std::string& out);

}  // namespace ecps::launch
