#include "models/kmeans/lloyd.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include <tbb/enumerable_thread_specific.h>

#include "models/common/checkpoint.h"
#include "models/kmeans/checkpoint.h"
#include "ps/stopwatch.h"

namespace ecps::models::kmeans {
namespace {

class Lloyd {
 public:
  explicit Lloyd(WorkerState& state) : state_(state) {}

  Status Run() {
    const std::size_t d = state_.d, k = state_.k;
    const std::size_t sw = state_.layout.stats_width();
    const char* stop = "max-iter";
    // Under DP: exactly max_iter iterations (a stop on the data would need its own budget),
    // and no re-seeding from users' rows: the servers' centroids are the private release.
    const bool dp = state_.options.dp.enabled();
    bool converged = false;
    sums_.assign(k * sw, 0.0);
    q_sums_.assign(k, 0);
    std::uint64_t moved_last = 0;
    int it = state_.start_iteration;
    if (!state_.resume_label_centroids.empty()) RestoreLabels();
    for (; it < state_.options.max_iter; ++it) {
      const ps::Stopwatch iteration_time;
      CentroidPanel panel;
      panel.Set(state_.centroids, k, d);
      const bool screen = state_.screen.size() == state_.n && state_.n > 0 &&
                          screen_panel_.Set(state_.centroids, k, state_.screen);
      // Recompute the sums in one pass rather than update them when many labels may change
      // (the first iteration, or when the last one moved more than a tenth of the users).
      const bool full = it == state_.start_iteration || moved_last * 10 > state_.n;
      AssignStep(panel, screen, full);
      std::uint64_t changed = 0;
      if (full) {
        std::fill(sums_.begin(), sums_.end(), 0.0);
        std::fill(q_sums_.begin(), q_sums_.end(), 0);
      }
      for (const auto& a : lloyd_acc_) {
        if (a.add.empty()) continue;
        for (std::size_t j = 0; j < sums_.size(); ++j) {
          sums_[j] += a.add[j] - a.sub[j];  // exact (grid)
        }
        for (std::size_t j = 0; j < k; ++j) q_sums_[j] += a.q[j];
        changed += a.changed;
      }
      moved_last = changed;
      ReduceRow row(state_.layout);
      if (!dp) {  // exact totals the other workers would see; a private run has no use for them
        row.Sum(0) = static_cast<double>(changed);
        for (std::size_t j = 0; j < k; ++j) row.Sum(1 + j) = static_cast<double>(q_sums_[j]);
        row.Sum(1 + k) = CheckpointTimeUp() ? 1 : 0;  // layout.sums >= k + 3
        row.Sum(2 + k) = CheckpointAndStopRequested() ? 1 : 0;
      }
      ECPS_ASSIGN_OR_RETURN(const ClusterTotals totals,
                            state_.ClusterSumsAcrossWorkers(sums_, row));

      // The servers' new centroids; then re-seed empty clusters with the farthest users.
      std::vector<double> next(k * d);
      std::vector<double> counts(k), q(k);
      for (std::size_t j = 0; j < k; ++j) {
        std::copy_n(totals.stats.data() + j * sw, d, next.data() + j * d);
        counts[j] = totals.stats[j * sw + d];
        q[j] = totals.reduce.Sum(1 + j) / state_.q_scale;
      }
      const double global_inertia = LloydInertia(state_.centroids, next, counts, q);
      const auto global_changed = static_cast<std::uint64_t>(totals.reduce.Sum(0));
      std::vector<double> farthest;
      if (!dp && std::find(counts.begin(), counts.end(), 0.0) != counts.end()) {
        ECPS_ASSIGN_OR_RETURN(farthest, FarthestUsers(panel));
      }
      const int relocated = dp ? 0 : Relocate(farthest, &next, &counts);
      if (dp) state_.noisy_counts = counts;
      double shift = 0;
      for (std::size_t j = 0; j < k * d; ++j) {
        shift += (next[j] - state_.centroids[j]) * (next[j] - state_.centroids[j]);
      }
      const double secs = iteration_time.Seconds();
      state_.summary.iteration_seconds.push_back(secs);
      auto report =
          PhaseReport::Iteration(it + 1, global_inertia, shift, global_changed, relocated, secs);
      const bool stops = !dp && (global_changed == 0 || shift <= state_.tol);
      const bool stop_asked = totals.reduce.Sum(2 + k) > 0;
      report.checkpoint = CheckpointDue(it + 1, stops, totals.reduce.Sum(1 + k) > 0, stop_asked);
      report.stop = report.checkpoint && stop_asked;
      if (report.checkpoint) ECPS_RETURN_IF_ERROR(SendCheckpoint(it + 1, next));
      state_.centroids = std::move(next);
      ECPS_RETURN_IF_ERROR(state_.Report(report));
      if (report.stop) return WaitForStop();
      if (stop_asked) WarnNoStop();
      // scikit-learn's rules: labels unchanged (the update did not move anything), or the
      // centroids moved less than tol.
      if (dp) continue;
      if (global_changed == 0) {
        stop = "assignments unchanged";
        converged = true;
        ++it;
        break;
      }
      if (shift <= state_.tol) {
        stop = "centroid movement <= tol";
        converged = true;
        ++it;
        break;
      }
    }
    state_.summary.iterations = it;
    state_.summary.converged = converged;
    state_.summary.stop_reason = stop;
    return Status::Ok();
  }

 private:
  // Per thread, within one iteration.
  struct LloydAcc {
    std::vector<double> add, sub;  // k x (d + 1): sums and counts joining / leaving clusters
    std::vector<std::int64_t> q;   // k: the same for the sums of ||x - o||^2 (fixed point)
    std::uint64_t changed = 0;
    std::vector<std::int32_t> next;  // new labels of the task's users
    std::vector<double> d2;          // scratch for Assign
    std::vector<std::uint16_t> todo, unsure;
    std::vector<std::size_t> moved[2];  // users whose label changes, of two consecutive stages
    void Reset(std::size_t k, std::size_t d) {
      add.assign(k * (d + 1), 0.0);
      sub.assign(k * (d + 1), 0.0);
      q.assign(k, 0);
      changed = 0;
    }
  };

  // Resumed: the labels the users had at the checkpoint, from the centroids they were
  // assigned to (labels depend only on the centroids, so they are the same bits).
  void RestoreLabels() {
    CentroidPanel panel;
    panel.Set(state_.resume_label_centroids, state_.k, state_.d);
    const bool screen = state_.screen.size() == state_.n && state_.n > 0 &&
                        screen_panel_.Set(state_.resume_label_centroids, state_.k, state_.screen);
    AssignStep(panel, screen, true);
  }

  // A checkpoint after iteration `done` (1-based): every --checkpoint-every-th one, or with a
  // time, when a worker found it up (`time_up`: the total every worker pulled, so all agree),
  // or when a worker was asked to checkpoint and stop (`stop_asked`, the same kind of total),
  // unless the run ends with it. Never under DP (refused by PrepareDp).
  bool CheckpointDue(int done, bool stops, bool time_up, bool stop_asked) {
    const auto& c = state_.options.checkpoint;
    if (!c.writes() || stops || done >= state_.options.max_iter) return false;
    if (stop_asked) return true;
    if (c.every_seconds <= 0) return done % c.every == 0;
    if (time_up) since_checkpoint_.Restart();
    return time_up;
  }

  // After the checkpoint of a checkpoint-and-stop request: the scheduler ends the job once it
  // has written it (SchedulerCheckpoints::AfterIteration); that end is this worker's status.
  Status WaitForStop() {
    ps::Node& node = state_.ctx.node;
    if (!node.WaitForAbort(state_.Deadline())) {
      return Timeout("waiting for the scheduler to stop the job after a requested checkpoint");
    }
    return node.abort_status();
  }

  // A checkpoint-and-stop request that this run does not follow (no --checkpoint-dir, or the
  // iteration ended the run): worker 0 says so once.
  void WarnNoStop() {
    if (state_.worker != 0 || warned_no_stop_) return;
    warned_no_stop_ = true;
    state_.ctx.node.log().warn(
        "kmeans: checkpoint-and-stop request (SIGUSR1) ignored: {}",
        state_.options.checkpoint.writes() ? "the run ends with this iteration"
                                           : "no --checkpoint-dir; going on to the end");
  }

  // Worker 0, with --checkpoint-every as a time: whether it has passed since the start of the
  // iterations or the last checkpoint.
  bool CheckpointTimeUp() const {
    const auto& c = state_.options.checkpoint;
    return state_.worker == 0 && c.writes() && c.every_seconds > 0 &&
           since_checkpoint_.Seconds() >= c.every_seconds;
  }

  // This worker's checkpoint part after iteration `done`, whose result is `next`.
  Status SendCheckpoint(int done, const std::vector<double>& next) {
    WorkerCheckpoint part;
    part.worker = state_.worker;
    part.iteration = done;
    part.users = state_.n;
    part.total_users = state_.total;
    part.normalizer = state_.normalizer;
    part.centroids = next;
    part.label_centroids = state_.centroids;
    part.initial_centroids = state_.summary.initial_centroids;
    part.init_candidates = state_.summary.init_candidates;
    part.iteration_seconds = state_.summary.iteration_seconds;
    return state_.ToScheduler(kCheckpointTopic, part);
  }

  // Users per stage of a task: labelling a stage overlaps the memory fetches that moving the
  // previous stage's changed users waits for.
  static constexpr std::size_t kStageUsers = 128 * kScreenBlock;

  // New labels for users [s0, s1) of the task that starts at user i0 (into acc.next from
  // s0 - i0; s0 - i0 a multiple of kScreenBlock). With `moved`, lists there the users whose
  // label changes and prefetches what MoveUsers reads of them; else the screen brings all the
  // range's rows into the cache for a pass over them (Assign reads them anyway).
  void Label(LloydAcc& acc, const CentroidPanel& panel, bool screen, std::size_t i0, std::size_t s0,
             std::size_t s1, std::vector<std::size_t>* moved) {
    std::int32_t* next = acc.next.data() + (s0 - i0);
    auto note = [&](std::size_t i) {
      if (next[i - s0] == state_.labels[i]) return;
      moved->push_back(i);
      __builtin_prefetch(state_.X(i));
      if (state_.d * sizeof(double) > 64) __builtin_prefetch(state_.X(i) + state_.d - 1);
    };
    if (!screen) {
      Assign(state_.X(s0), state_.norms.data() + s0, s1 - s0, panel, next, acc.d2.data(),
             state_.options.kernel);
      if (moved) {
        for (std::size_t i = s0; i < s1; ++i) note(i);
      }
      return;
    }
    const std::size_t b0 = s0 / kScreenBlock, b1 = (s1 + kScreenBlock - 1) / kScreenBlock;
    std::uint16_t* todo = acc.todo.data() + (s0 - i0) / kScreenBlock;
    std::uint16_t* unsure = acc.unsure.data() + (s0 - i0) / kScreenBlock;
    Screen(state_.screen, screen_panel_, b0, b1, state_.labels.data() + s0, next, todo, unsure,
           moved ? nullptr : state_.X(s0));
    const std::size_t blocks = b1 - b0;
    for (std::size_t b = 0; b < blocks; ++b) {
      if (b % 4 == 0 && b + 4 <= blocks) {  // skip 4 quiet blocks at once (the common case)
        std::uint64_t four = 0;
        std::memcpy(&four, todo + b, sizeof(four));
        if (four == 0) {
          b += 3;
          continue;
        }
      }
      if (todo[b] == 0) continue;  // unsure implies todo
      for (unsigned u = unsure[b]; u != 0; u &= u - 1) {
        const std::size_t at = b * kScreenBlock + static_cast<std::size_t>(std::countr_zero(u));
        next[at] = NearestCentroid(state_.X(s0 + at), panel);
      }
      if (!moved) continue;
      for (unsigned t = todo[b]; t != 0; t &= t - 1) {
        note(s0 + b * kScreenBlock + static_cast<std::size_t>(std::countr_zero(t)));
      }
    }
  }

  // Users `moved` of [s0, s1) take their new labels (acc.next, from i0): their coordinates,
  // counts and norms leave their old clusters' sums and join the new ones'. Few users: one
  // by one; many: two passes of AccumulateSums over the range.
  void MoveUsers(LloydAcc& acc, std::size_t i0, std::size_t s0, std::size_t s1,
                 const std::vector<std::size_t>& moved) {
    const std::size_t d = state_.d, m = s1 - s0;
    const std::int32_t* next = acc.next.data() + (s0 - i0);
    if (moved.empty()) return;
    if (moved.size() * 8 > m) {
      if (state_.labels[s0] >= 0) {
        AccumulateSums(state_.X(s0), m, d, state_.labels.data() + s0, state_.k, acc.sub.data(),
                       state_.options.kernel);
      }
      // Unmoved users cancel.
      AccumulateSums(state_.X(s0), m, d, next, state_.k, acc.add.data(), state_.options.kernel);
    } else {
      for (std::size_t i : moved) {
        const double* x = state_.X(i);
        double* t = acc.add.data() + static_cast<std::size_t>(next[i - s0]) * (d + 1);
        for (std::size_t f = 0; f < d; ++f) t[f] += x[f];
        t[d] += 1;
        if (state_.labels[i] >= 0) {
          double* u = acc.sub.data() + static_cast<std::size_t>(state_.labels[i]) * (d + 1);
          for (std::size_t f = 0; f < d; ++f) u[f] += x[f];
          u[d] += 1;
        }
      }
    }
    for (std::size_t i : moved) {
      const std::int32_t to = next[i - s0], from = state_.labels[i];
      const std::int64_t q =
          state_.NormFromOrigin(i);  // its row is in cache; state_.q[i] would not be
      acc.q[static_cast<std::size_t>(to)] += q;
      if (from >= 0) acc.q[static_cast<std::size_t>(from)] -= q;
      state_.labels[i] = to;
    }
    acc.changed += moved.size();
  }

  // One assignment step over this worker's users: new state_.labels, and in the accumulators the
  // changes to the sums; `full`: the whole sums instead, in one pass over all users (cheaper
  // when many labels change).
  void AssignStep(const CentroidPanel& panel, bool screen, bool full) {
    for (auto& a : lloyd_acc_) a.Reset(state_.k, state_.d);
    state_.ForBlocks([&](std::size_t b0, std::size_t b1) {
      auto& acc = lloyd_acc_.local();
      if (acc.add.empty()) acc.Reset(state_.k, state_.d);  // a thread's first task
      const std::size_t blocks = b1 - b0, i0 = b0 * kScreenBlock,
                        i1 = std::min(state_.n, b1 * kScreenBlock);
      acc.next.resize(blocks * kScreenBlock);
      acc.d2.resize(screen ? 0 : blocks * kScreenBlock);
      acc.todo.resize(blocks);
      acc.unsure.resize(blocks);
      if (full) {  // by stages: each one's rows arrive in the cache while it is labelled
        for (std::size_t s0 = i0; s0 < i1; s0 += kStageUsers) {
          const std::size_t s1 = std::min(i1, s0 + kStageUsers);
          Label(acc, panel, screen, i0, s0, s1, nullptr);
          const std::int32_t* next = acc.next.data() + (s0 - i0);
          std::uint64_t changed = 0;
          for (std::size_t i = s0; i < s1; ++i) changed += next[i - s0] != state_.labels[i];
          AccumulateSumsAndNorms(state_.X(s0), state_.q.data() + s0, s1 - s0, state_.d, next,
                                 state_.k, acc.add.data(), acc.q.data(), state_.options.kernel);
          std::copy(next, next + (s1 - s0),
                    state_.labels.begin() + static_cast<std::ptrdiff_t>(s0));
          acc.changed += changed;
        }
        return;
      }
      std::size_t p0 = i0, p1 = i0;  // the previous stage
      int cur = 0;
      acc.moved[1].clear();
      for (std::size_t s0 = i0; s0 < i1; s0 += kStageUsers, cur ^= 1) {
        const std::size_t s1 = std::min(i1, s0 + kStageUsers);
        acc.moved[cur].clear();
        Label(acc, panel, screen, i0, s0, s1, &acc.moved[cur]);
        MoveUsers(acc, i0, p0, p1, acc.moved[cur ^ 1]);
        acc.moved[cur ^ 1].clear();
        p0 = s0;
        p1 = s1;
      }
      MoveUsers(acc, i0, p0, p1, acc.moved[cur ^ 1]);
    });
  }

  // The inertia of an assignment to `old` centroids, from the global counts, new centroids
  // `mean` (the clusters' means) and sums of ||x - o||^2 (q): per cluster
  // q_j - n_j ||m_j - o||^2 + n_j ||m_j - c_j||^2, added in cluster order.
  double LloydInertia(const std::vector<double>& old, const std::vector<double>& mean,
                      const std::vector<double>& counts, const std::vector<double>& q) const {
    const std::size_t d = state_.d;
    double total = 0;
    for (std::size_t j = 0; j < state_.k; ++j) {
      if (counts[j] == 0) continue;
      double spread = 0, shift = 0;
      for (std::size_t f = 0; f < d; ++f) {
        const double m = mean[j * d + f];
        spread += (m - state_.origin[f]) * (m - state_.origin[f]);
        shift += (m - old[j * d + f]) * (m - old[j * d + f]);
      }
      total += std::max(0.0, q[j] - counts[j] * spread) + counts[j] * shift;
    }
    return total;
  }

  // Offers the users farthest from their centroid (by Assign's distance to `panel`) to
  // kmeans.top, for re-seeding empty clusters; returns the global list.
  Result<std::vector<double>> FarthestUsers(const CentroidPanel& panel) {
    const std::size_t d = state_.d;
    tbb::enumerable_thread_specific<TopList> part(
        [&] { return TopList(state_.layout.m, state_.layout.payload()); });
    state_.ForChunks([&](std::size_t b, std::size_t e) {
      auto& far = part.local();
      // A cheap test against the list's worst first.
      double worst = far.Worst();
      std::vector<double> payload(d + 1);
      for (std::size_t i = b; i < e; ++i) {
        const auto label = static_cast<std::size_t>(state_.labels[i]);
        const double d2 = AssignedDistance(state_.X(i), state_.norms[i], label, panel);
        if (d2 < worst || !far.WouldKeep(d2, state_.Tie(i))) continue;
        std::copy(state_.X(i), state_.X(i) + d, payload.begin());
        payload[d] = static_cast<double>(label);
        far.Offer(d2, state_.Tie(i), payload.data());
        worst = far.Worst();
      }
    });
    TopList far(state_.layout.m, state_.layout.payload());
    for (const auto& p : part) far.Merge(p);
    const auto top = far.Row();
    return state_.MergeTopAcrossWorkers(top);
  }

  // Empty clusters (count 0), lowest id first, take the farthest users in order (skipping
  // users whose own cluster would become empty); that user's old cluster loses it. Every
  // worker does the same with the same pulled data (`farthest`: FarthestUsers' list, which is
  // only read when a cluster is empty).
  int Relocate(const std::vector<double>& farthest, std::vector<double>* next,
               std::vector<double>* counts) const {
    const std::size_t d = state_.d;
    std::vector<std::size_t> empty;
    for (std::size_t j = 0; j < state_.k; ++j) {
      if ((*counts)[j] == 0) empty.push_back(j);
    }
    if (empty.empty()) return 0;
    const auto far = ReadTop(farthest, state_.layout.m, state_.layout.entry_width());
    std::size_t next_far = 0;
    int done = 0;
    for (std::size_t j : empty) {
      while (next_far < far.size()) {
        const TopEntry& e = far[next_far++];
        const auto old = static_cast<std::size_t>(e.payload[d]);
        const double n_old = (*counts)[old];
        if (n_old <= 1) continue;
        double* c_old = next->data() + old * d;
        for (std::size_t f = 0; f < d; ++f) {
          c_old[f] = (c_old[f] * n_old - e.payload[f]) / (n_old - 1);
        }
        (*counts)[old] = n_old - 1;
        std::copy_n(e.payload, d, next->data() + j * d);
        (*counts)[j] = 1;
        ++done;
        break;
      }
    }
    return done;
  }

  WorkerState& state_;
  std::vector<double> sums_;          // this worker's cluster sums, k x stats_width
  std::vector<std::int64_t> q_sums_;  // and its sums of ||x - o||^2 per cluster
  tbb::enumerable_thread_specific<LloydAcc> lloyd_acc_;
  ScreenPanel screen_panel_;
  ps::Stopwatch since_checkpoint_;  // --checkpoint-every as a time
  bool warned_no_stop_ = false;
};

}  // namespace

Status RunLloyd(WorkerState& state) { return Lloyd(state).Run(); }

}  // namespace ecps::models::kmeans
