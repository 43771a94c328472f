// Names of hashed libsvm/libffm weights taken from the training files' own indices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "models/lr/lr_model.h"
#include "ps/status.h"
#include "worker/example_parser.h"

namespace ecps::models::lr {

/// libsvm/libffm names without a featindex: each key is named by the indices ("7") or
/// field:index pairs ("2:7") found in `files` that map to it, in the order of their first
/// appearance (at most `max_distinct` distinct ones, the first in file order; at most 4 names
/// per key, then "..."); nothing for CSV or libsvm with direct indices, whose keys are named
/// by DirectIndexName. Unparsable tokens are passed over (training reports them).
/// The files are read in pieces of about `piece_bytes` in parallel (oneTBB); the names do not
/// depend on the piece size or the thread count.
Status AddIndexNames(const std::vector<std::string>& files, const worker::ExampleParser& parser,
                     std::size_t max_distinct, FeatureNames* names,
                     std::uint64_t piece_bytes = std::uint64_t{32} << 20);

}  // namespace ecps::models::lr
