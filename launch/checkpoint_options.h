// The checkpoint options of the training commands that can resume (train kmeans):
// --checkpoint-dir, --checkpoint-every, --checkpoint-keep, --resume [DIR].
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "models/common/checkpoint.h"

namespace ecps::launch {

/// Adds the "Checkpoints" option group to `sub`; `clock` names what --checkpoint-every
/// counts ("Lloyd iterations").
void AddCheckpointOptions(CLI::App& sub, models::CheckpointOptions& o, const std::string& clock);

/// After parsing: sets o.resume when --resume was given (with or without a folder), and
/// o.every or o.every_seconds from --checkpoint-every (InvalidArgument when malformed).
Status ResolveCheckpointOptions(const CLI::App& sub, models::CheckpointOptions& o);

}  // namespace ecps::launch
