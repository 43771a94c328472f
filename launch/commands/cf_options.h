// The options of `ecps train itemcf|usercf` that other models trained on interactions
// (`ecps train mf`) take with the same spelling, help and checks.
#pragma once

#include <CLI/CLI.hpp>

#include "models/cf/cf_job.h"

namespace ecps::launch {

/// The "Input" group: --train, --header, --delimiter, --columns, --feedback, --skip-bad-rows.
void AddCfInputOptions(CLI::App* sub, models::cf::CfOptions& c);
/// The "Evaluation" group: --split, --evaluate-on, --holdout-fraction,
/// --min-user-interactions, --metrics-k, --sampled-negatives, --seed.
void AddCfEvaluationOptions(CLI::App* sub, models::cf::CfOptions& c);

}  // namespace ecps::launch
