// report.html: the pipeline's report as one self-contained page (inline CSS and SVG; no
// scripts, fonts or links to other files), with the numbers of summary.md and each stage's
// charts (stage_charts.h). Every string from the outputs or the configuration is escaped.
#pragma once

#include <string>
#include <vector>

#include "launch/pipeline_report.h"
#include "ps/status.h"

namespace ecps::launch::report {

/// The page for `stages` (their outputs are read from each stage's `dir`).
std::string RenderReportHtml(const std::vector<StageResult>& stages);

/// Writes RenderReportHtml to out/report.html (atomically).
Status WriteReportHtml(const std::string& out, const std::vector<StageResult>& stages);

}  // namespace ecps::launch::report
