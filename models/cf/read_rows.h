// A worker's byte range of the interaction file read into rows of local id indices (the
// first step of CF ingest, ingest_job.h): in pieces read in parallel, joined in file order.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "models/cf/ids.h"
#include "models/cf/messages.h"
#include "models/cf/progress.h"
#include "models/cf/train_state.h"
#include "privacy/pseudonym.h"
#include "scheduler/shard_plan.h"

namespace ecps::models::cf {

/// Interaction rows as parallel arrays (values and timestamps only when the file has them).
/// Their order is the file's: each worker reads its byte range in order, and rows gathered
/// from several workers are concatenated in worker order (= byte-range order).
struct Rows {
  std::vector<std::uint32_t> user, item;
  std::vector<float> value;
  std::vector<double> ts;
  std::size_t size() const { return user.size(); }
  void Reserve(std::size_t n, bool has_v, bool has_t) {
    user.reserve(n);
    item.reserve(n);
    if (has_v) value.reserve(n);
    if (has_t) ts.reserve(n);
  }
  void Append(std::span<const std::uint32_t> u, std::span<const std::uint32_t> i,
              std::span<const float> v, std::span<const double> t) {
    user.insert(user.end(), u.begin(), u.end());
    item.insert(item.end(), i.begin(), i.end());
    value.insert(value.end(), v.begin(), v.end());
    ts.insert(ts.end(), t.begin(), t.end());
  }
};

/// A worker's byte range of the interaction file, with local (first-seen) id indices.
struct LocalRows {
  IdDictionary users, items;
  Rows rows;
  IdReport report;  // rows, skipped rows and examples; the ids are added later
};

/// Reads `range` into `*local`: in pieces of at least 8 MiB read in parallel by the calling
/// worker's threads (oneTBB) and joined in file order, so the rows, ids and reports are those
/// of one reader over the range; whole with `ids` (which replaces each user id as it is read
/// and drops opted-out users' rows; used from one thread). `progress` gets the bytes read.
/// With settings.catalogue (a private run) rows of other items are dropped; their users are
/// still interned.
Status ReadInteractions(const sched::FileRange& range, const Settings& settings, bool skip_bad_rows,
                        const privacy::IdFilter* ids, ProgressSender* progress, LocalRows* local);

}  // namespace ecps::models::cf
