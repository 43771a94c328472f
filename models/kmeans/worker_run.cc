#include "models/kmeans/worker_run.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include <fmt/format.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "models/kmeans/kernel.h"
#include "models/kmeans/messages.h"
#include "models/kmeans/screen.h"
#include "ps/collective.h"
#include "ps/table.h"
#include "worker/csv.h"
#include "worker/line_reader.h"

namespace ecps::models::kmeans {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::size_t kChunk = 2048;                   // users per task
constexpr std::uint64_t kParallelRound = 1ull << 20;  // k-means|| selection rounds
constexpr std::uint64_t kSampleRound = 1ull << 40;    // the silhouette sample
constexpr std::size_t kAssignChunkRows = 1 << 16;

double Since(SteadyTime t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::uint64_t Mix64(std::uint64_t z) {  // SplitMix64's finaliser
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class WorkerRun {
 public:
  WorkerRun(const KMeansOptions& o, const worker::FeatureSchema& schema, const TableLayout& layout,
            int threads, sched::JobContext& ctx)
      : o_(o), schema_(schema), layout_(layout), ctx_(ctx), kv_(*ctx.client), arena_(threads),
        threads_(threads), w_(ctx.node.index()), k_(layout.k), d_(layout.d) {}

  Status Run() {
    auto t = std::chrono::steady_clock::now();
    ECPS_RETURN_IF_ERROR(Load());
    summary_.load_seconds = Since(t);
    t = std::chrono::steady_clock::now();
    ECPS_RETURN_IF_ERROR(NormalizeUsers());
    summary_.normalize_seconds = Since(t);
    ECPS_RETURN_IF_ERROR(Report({PhaseReport::kNormalized, 0, 0, 0, 0, 0, summary_.normalize_seconds}));
    t = std::chrono::steady_clock::now();
    ECPS_RETURN_IF_ERROR(Initialize());
    summary_.init_seconds = Since(t);
    summary_.initial_centroids = centroids_;
    ECPS_RETURN_IF_ERROR(Report({PhaseReport::kInitialized, 0, 0, 0, 0, 0, summary_.init_seconds}));
    t = std::chrono::steady_clock::now();
    ECPS_RETURN_IF_ERROR(Train());
    summary_.train_seconds = Since(t);
    ECPS_RETURN_IF_ERROR(Finish());
    return SendResults();
  }

 private:
  // ---- Plumbing --------------------------------------------------------------------------

  ps::Deadline Deadline() const { return ctx_.node.DefaultDeadline(); }

  // One clock: pushes the given rows (null = nothing), ends the clock, pulls what is asked.
  Status Round(const std::vector<double>* stats, const std::vector<double>* reduce,
               const std::vector<double>* top, bool pull_stats, bool pull_reduce, bool pull_top) {
    std::vector<ps::Handle> pushes;
    if (stats) pushes.push_back(kv_.PushRange<double>(kStatsTable, 0, k_, *stats));
    if (reduce) pushes.push_back(kv_.PushRange<double>(kReduceTable, 0, 1, *reduce));
    if (top) pushes.push_back(kv_.PushRange<double>(kTopTable, 0, 1, *top));
    // Pushes reach a server before this worker's clock and pulls (messages from one sender
    // arrive in order): their acks are awaited with the pulls, one round trip in all.
    ECPS_RETURN_IF_ERROR_CTX(kv_.Clock(), "clock");
    std::vector<ps::Handle> pulls;
    if (pull_stats) {
      stats_.resize(k_ * layout_.stats_width());
      pulls.push_back(kv_.PullRange<double>(kStatsTable, 0, k_, std::span<double>(stats_)));
    }
    if (pull_reduce) {
      reduce_.resize(layout_.reduce_width());
      pulls.push_back(kv_.PullRange<double>(kReduceTable, 0, 1, std::span<double>(reduce_)));
    }
    if (pull_top) {
      top_.resize(layout_.top_width());
      pulls.push_back(kv_.PullRange<double>(kTopTable, 0, 1, std::span<double>(top_)));
    }
    for (auto h : pushes) ECPS_RETURN_IF_ERROR_CTX(kv_.Wait(h, Deadline()), "push");
    for (auto h : pulls) ECPS_RETURN_IF_ERROR_CTX(kv_.Wait(h, Deadline()), "pull");
    return Status::Ok();
  }

  // A kmeans.reduce row with its push counter set; sums at 1 + i, maxima at 1 + sums + i.
  std::vector<double> ReduceRow() const {
    std::vector<double> r(layout_.reduce_width(), 0.0);
    r[0] = 1.0;
    for (std::size_t i = 0; i < layout_.maxes; ++i) r[1 + layout_.sums + i] = -kInf;
    return r;
  }
  double& SumCol(std::vector<double>& r, std::size_t i) const { return r[1 + i]; }
  double& MaxCol(std::vector<double>& r, std::size_t i) const { return r[1 + layout_.sums + i]; }

  // Runs body(begin, end) over chunks of the local users on this worker's threads.
  template <class F>
  void ForChunks(F&& body) {
    if (n_ == 0) return;
    arena_.execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n_, kChunk),
                        [&](const tbb::blocked_range<std::size_t>& r) { body(r.begin(), r.end()); },
                        tbb::simple_partitioner());
    });
  }

  // Runs body(b0, b1) over ranges of whole screen blocks (16 users each; the last block may
  // be partial) on this worker's threads.
  template <class F>
  void ForBlocks(F&& body) {
    const std::size_t blocks = (n_ + kScreenBlock - 1) / kScreenBlock;
    if (blocks == 0) return;
    arena_.execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, blocks, 4 * kChunk / kScreenBlock),
                        [&](const tbb::blocked_range<std::size_t>& r) { body(r.begin(), r.end()); },
                        tbb::simple_partitioner());
    });
  }

  Status Report(const PhaseReport& r) {
    if (w_ != 0) return Status::Ok();
    return ctx_.node.SendControl(ps::RoleTable::kSchedulerRank, kProgressTopic, ps::EncodeControl(r));
  }

  template <class T>
  Status ToScheduler(std::uint32_t topic, const T& value) {
    return ctx_.node.SendControl(ps::RoleTable::kSchedulerRank, topic, ps::EncodeControl(value));
  }

  // Every worker sends `mine` to every other; returns all parts in worker order.
  template <class T>
  Result<std::vector<T>> AllGather(std::uint32_t topic, const T& mine) {
    const int W = ctx_.node.roles().num_workers();
    const auto& roles = ctx_.node.roles();
    for (int v = 0; v < W; ++v) {
      if (v != w_) ECPS_RETURN_IF_ERROR(ctx_.node.SendControl(roles.WorkerRank(v), topic, ps::EncodeControl(mine)));
    }
    std::vector<T> all(static_cast<std::size_t>(W));
    for (int v = 0; v < W; ++v) {
      if (v == w_) {
        all[static_cast<std::size_t>(v)] = mine;
        continue;
      }
      ECPS_ASSIGN_OR_RETURN(ps::Message m, ctx_.node.RecvControl(topic, roles.WorkerRank(v), Deadline()));
      ECPS_RETURN_IF_ERROR(ps::DecodeControl(m.control, &all[static_cast<std::size_t>(v)]));
    }
    return all;
  }

  const double* X(std::size_t i) const { return x_data_ + i * d_; }
  double Tie(std::size_t i) const { return static_cast<double>(users_.offsets[i]); }
  // ||x_i - o||^2 on its grid (q_[i]; the same bits whichever worker holds the user).
  std::int64_t NormFromOrigin(std::size_t i) const {
    return ToFixed(SquaredDistance(X(i), origin_.data(), d_), q_scale_);
  }

  // ---- Phases ----------------------------------------------------------------------------

  Status Load() {
    worker::ShardLoadOptions lo;
    lo.skip_bad_rows = o_.skip_bad_rows;
    lo.topic = kRowsTopic;
    worker::LoadReport report;
    auto loaded = worker::LoadUserShard(ctx_.node, ctx_.plan, w_, schema_, lo, &report);
    if (!loaded.ok()) return loaded.status();
    users_ = std::move(loaded).value();
    n_ = users_.size();
    x_data_ = users_.features.data();
    hashes_.resize(n_);
    for (std::size_t i = 0; i < n_; ++i) hashes_[i] = ps::HashFeature(users_.id(i), o_.seed);
    return ToScheduler(kLoadTopic, report);
  }

  Status NormalizeUsers() {
    const std::size_t d = d_;
    // Pass 1: count, max and -min of every column.
    {
      tbb::enumerable_thread_specific<std::vector<double>> part([&] { return std::vector<double>(2 * d, -kInf); });
      ForChunks([&](std::size_t b, std::size_t e) {
        auto& p = part.local();
        for (std::size_t i = b; i < e; ++i) {
          for (std::size_t f = 0; f < d; ++f) {
            p[f] = std::max(p[f], X(i)[f]);
            p[d + f] = std::max(p[d + f], -X(i)[f]);
          }
        }
      });
      auto row = ReduceRow();
      SumCol(row, 0) = static_cast<double>(n_);
      for (const auto& p : part) {
        for (std::size_t j = 0; j < 2 * d; ++j) MaxCol(row, j) = std::max(MaxCol(row, j), p[j]);
      }
      ECPS_RETURN_IF_ERROR(Round(nullptr, &row, nullptr, false, true, false));
    }
    total_ = static_cast<std::uint64_t>(SumCol(reduce_, 0));
    if (total_ == 0) return DataError(fmt::format("{}: no users to cluster (no valid data rows)", o_.data));
    if (total_ < k_) {
      return InvalidArgument(fmt::format("--k {} exceeds the number of users ({})", k_, total_));
    }
    std::vector<double> mn(d), mx(d), mean(d), var(d);
    for (std::size_t f = 0; f < d; ++f) {
      mx[f] = MaxCol(reduce_, f);
      mn[f] = -MaxCol(reduce_, d + f);
    }
    // Pass 2: the mean, from exact fixed-point sums.
    std::vector<double> sc(d);
    for (std::size_t f = 0; f < d; ++f) {
      sc[f] = std::ldexp(1.0, FixedExponent(std::max(std::fabs(mn[f]), std::fabs(mx[f])), total_));
    }
    ECPS_RETURN_IF_ERROR(FixedColumnSums([](std::size_t, std::size_t, double v) { return v; }, sc));
    for (std::size_t f = 0; f < d; ++f) mean[f] = SumCol(reduce_, f) / sc[f] / static_cast<double>(total_);
    // Pass 3: the variance, as the mean squared deviation from that mean.
    for (std::size_t f = 0; f < d; ++f) {
      const double r = mx[f] - mn[f];
      sc[f] = std::ldexp(1.0, FixedExponent(r * r, total_));
    }
    ECPS_RETURN_IF_ERROR(FixedColumnSums(
        [&](std::size_t, std::size_t f, double v) { return (v - mean[f]) * (v - mean[f]); }, sc));
    for (std::size_t f = 0; f < d; ++f) var[f] = SumCol(reduce_, f) / sc[f] / static_cast<double>(total_);

    ECPS_ASSIGN_OR_RETURN(kmeans::Normalize kind, ParseNormalize(o_.normalize));
    normalizer_ = Normalizer::Fit(kind, mn, mx, mean, var);
    ForChunks([&](std::size_t b, std::size_t e) { normalizer_.Apply(users_.features.data() + b * d, e - b); });
    summary_.min = mn;
    summary_.max = mx;
    summary_.mean = mean;
    summary_.variance = var;
    summary_.users = total_;

    // Bounds of the fitted space fix the fixed-point exponents of every later sum.
    std::vector<double> lo = mn, hi = mx;
    normalizer_.Apply(lo.data(), 1);
    normalizer_.Apply(hi.data(), 1);
    std::vector<double> grid(d);
    double diameter2 = 0, mean_var = 0;
    for (std::size_t f = 0; f < d; ++f) {
      grid[f] = std::ldexp(1.0, FixedExponent(std::max(std::fabs(lo[f]), std::fabs(hi[f])), total_));
      diameter2 += (hi[f] - lo[f]) * (hi[f] - lo[f]);
      mean_var += var[f] / (normalizer_.scale[f] * normalizer_.scale[f]);
    }
    // Snap every coordinate to its grid (a change of at most 2^-50 of the column's range), so
    // that cluster sums are exact whatever the order of addition (kernel.h). The snapped rows
    // go to 64-byte aligned memory in 2 MiB pages: the Lloyd loop reads the rows of the users
    // whose label changes at random, one cache line per row where d = 8.
    x_.resize(n_ * d);
    ForChunks([&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) {
        for (std::size_t f = 0; f < d; ++f) x_[i * d + f] = SnapToGrid(X(i)[f], grid[f]);
      }
    });
    std::vector<double>().swap(users_.features);
    x_data_ = x_.data();
    d2_scale_ = std::ldexp(1.0, FixedExponent(diameter2, total_));
    dist_scale_ = std::ldexp(1.0, FixedExponent(std::sqrt(diameter2), total_));
    tol_ = o_.tol * mean_var / static_cast<double>(d);
    norms_.resize(n_);
    ForChunks([&](std::size_t b, std::size_t e) { SquaredNorms(X(b), e - b, d, norms_.data() + b); });
    labels_.assign(n_, -1);
    d2_.assign(n_, 0.0);

    // The Lloyd loop's origin (the mean) and the grid of its sums of ||x - o||^2; the screen's
    // points, scaled by a power of two to |y| <= 1.
    origin_ = mean;
    normalizer_.Apply(origin_.data(), 1);
    double r2 = 0;
    for (std::size_t f = 0; f < d; ++f) r2 += std::max((lo[f] - origin_[f]) * (lo[f] - origin_[f]),
                                                       (hi[f] - origin_[f]) * (hi[f] - origin_[f]));
    q_scale_ = std::ldexp(1.0, FixedExponent(r2 * 1.01, total_));
    q_.resize(n_);
    ForChunks([&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) q_[i] = NormFromOrigin(i);
    });
    if (ScreenAvailable()) {
      int e = 0;
      (void)std::frexp(std::sqrt(r2), &e);  // sqrt(r2) < 2^e
      screen_.Reset(n_, d, origin_, r2 > 0 ? std::ldexp(1.0, -e) : 1.0);
      ForBlocks([&](std::size_t b0, std::size_t b1) { screen_.Fill(x_data_, b0, b1); });
    }
    return Status::Ok();
  }

  // Pushes sum_i ToFixed(value(i, f, x_if), scale_f) per column f and pulls the totals.
  template <class F>
  Status FixedColumnSums(F&& value, const std::vector<double>& sc) {
    const std::size_t d = d_;
    tbb::enumerable_thread_specific<std::vector<std::int64_t>> part([&] { return std::vector<std::int64_t>(d, 0); });
    ForChunks([&](std::size_t b, std::size_t e) {
      auto& p = part.local();
      for (std::size_t i = b; i < e; ++i) {
        for (std::size_t f = 0; f < d; ++f) p[f] += ToFixed(value(i, f, X(i)[f]), sc[f]);
      }
    });
    std::vector<std::int64_t> total(d, 0);
    for (const auto& p : part) {
      for (std::size_t f = 0; f < d; ++f) total[f] += p[f];
    }
    auto row = ReduceRow();
    for (std::size_t f = 0; f < d; ++f) SumCol(row, f) = static_cast<double>(total[f]);
    return Round(nullptr, &row, nullptr, false, true, false);
  }

  // ---- Initialisation ----------------------------------------------------------------------

  Status Initialize() {
    const std::string kind = o_.InitKind();
    min_d2_.assign(n_, kInf);
    centroids_.clear();
    if (kind == "kmeans++") return PlusPlus(k_);
    if (kind == "kmeans-parallel") return Parallel();
    return FromFile();
  }

  // Greedy D^2 sampling (as scikit-learn's k-means++) until there are `target` centroids.
  // Round r draws L = 2 + ln k candidates with probability proportional to w (w = squared
  // distance to the nearest centroid so far; w = 1 for the first pick, which takes a single
  // candidate): the users with the smallest exponential keys E / w, E = -ln U(seed, r, user),
  // which is weighted sampling without replacement whatever the split of users. Each worker
  // offers its best L, kmeans.top keeps the global best L; a second clock sums, for every
  // candidate, the potential sum_i min(w_i, |x_i - c|^2), and the smallest potential wins.
  Status PlusPlus(std::size_t target) {
    const std::size_t d = d_;
    const auto trials = std::min<std::size_t>(
        layout_.m, 2 + static_cast<std::size_t>(std::log(static_cast<double>(k_))));
    while (centroids_.size() / d < target) {
      const std::size_t r = centroids_.size() / d;
      const bool first = r == 0;
      const std::size_t want = first ? 1 : trials;
      tbb::enumerable_thread_specific<TopList> part([&] { return TopList(want, layout_.payload()); });
      ForChunks([&](std::size_t b, std::size_t e) {
        auto& list = part.local();
        std::vector<double> payload(d + 1, 0.0);
        for (std::size_t i = b; i < e; ++i) {
          const double w = first ? 1.0 : min_d2_[i];
          const double score = std::log(UniformFor(o_.seed, r, hashes_[i])) / w;  // -key; -inf when w = 0
          if (!list.WouldKeep(score, Tie(i))) continue;
          std::copy(X(i), X(i) + d, payload.begin());
          list.Offer(score, Tie(i), payload.data());
        }
      });
      TopList list(layout_.m, layout_.payload());
      for (const auto& p : part) list.Merge(p);
      const auto row = list.Row();
      ECPS_RETURN_IF_ERROR(Round(nullptr, nullptr, &row, false, false, true));
      auto picked = ReadTop(top_, layout_.m, layout_.entry_width());
      if (picked.size() > want) picked.resize(want);
      if (picked.empty()) return Internal("k-means++: no user was offered as a centroid");
      std::size_t choice = 0;
      if (picked.size() > 1) {
        // The potential of each candidate, summed exactly across workers.
        const std::vector<TopEntry> cands = picked;
        tbb::enumerable_thread_specific<std::vector<std::int64_t>> pot(
            [&] { return std::vector<std::int64_t>(cands.size(), 0); });
        ForChunks([&](std::size_t b, std::size_t e) {
          auto& p = pot.local();
          for (std::size_t i = b; i < e; ++i) {
            for (std::size_t c = 0; c < cands.size(); ++c) {
              p[c] += ToFixed(std::min(min_d2_[i], SquaredDistance(X(i), cands[c].payload, d)), d2_scale_);
            }
          }
        });
        auto prow = ReduceRow();
        for (const auto& p : pot) {
          for (std::size_t c = 0; c < cands.size(); ++c) SumCol(prow, c) += static_cast<double>(p[c]);
        }
        ECPS_RETURN_IF_ERROR(Round(nullptr, &prow, nullptr, false, true, false));
        for (std::size_t c = 1; c < cands.size(); ++c) {
          if (SumCol(reduce_, c) < SumCol(reduce_, choice)) choice = c;
        }
      }
      const std::size_t at = centroids_.size();
      centroids_.insert(centroids_.end(), picked[choice].payload, picked[choice].payload + d);
      const double* c = centroids_.data() + at;
      ForChunks([&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) min_d2_[i] = std::min(min_d2_[i], SquaredDistance(X(i), c, d));
      });
    }
    return Status::Ok();
  }

  // k-means|| (Bahmani et al., "Scalable K-Means++", VLDB 2012): one uniform pick, then
  // `init_steps` rounds that keep each user independently with probability l * w / phi
  // (phi = the total of w), then a weighted k-means++ and Lloyd on the candidates.
  Status Parallel() {
    const std::size_t d = d_;
    ECPS_RETURN_IF_ERROR(PlusPlus(1));
    const double l = o_.oversampling > 0 ? o_.oversampling : 2.0 * static_cast<double>(k_);
    for (int step = 1; step <= o_.init_steps; ++step) {
      tbb::enumerable_thread_specific<std::int64_t> part(0);
      ForChunks([&](std::size_t b, std::size_t e) {
        auto& p = part.local();
        for (std::size_t i = b; i < e; ++i) p += ToFixed(min_d2_[i], d2_scale_);
      });
      auto row = ReduceRow();
      SumCol(row, 0) = static_cast<double>(std::accumulate(part.begin(), part.end(), std::int64_t{0}));
      ECPS_RETURN_IF_ERROR(Round(nullptr, &row, nullptr, false, true, false));
      const double phi = SumCol(reduce_, 0) / d2_scale_;
      if (!(phi > 0)) break;  // every user sits on a candidate
      CandidatePart mine;
      for (std::size_t i = 0; i < n_; ++i) {
        if (UniformFor(o_.seed, kParallelRound + static_cast<std::uint64_t>(step), hashes_[i]) < l * min_d2_[i] / phi) {
          mine.ties.push_back(Tie(i));
          mine.x.insert(mine.x.end(), X(i), X(i) + d);
        }
      }
      ECPS_ASSIGN_OR_RETURN(auto parts, AllGather(kCandidatesTopic, mine));
      // In input order, so that every worker appends the same list.
      std::vector<std::pair<double, const double*>> picks;
      for (const auto& p : parts) {
        for (std::size_t j = 0; j < p.ties.size(); ++j) picks.emplace_back(p.ties[j], p.x.data() + j * d);
      }
      std::sort(picks.begin(), picks.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      std::vector<double> fresh;
      for (const auto& p : picks) fresh.insert(fresh.end(), p.second, p.second + d);
      if (fresh.empty()) continue;
      centroids_.insert(centroids_.end(), fresh.begin(), fresh.end());
      CentroidPanel panel;
      panel.Set(fresh, fresh.size() / d, d);
      ForChunks([&](std::size_t b, std::size_t e) {
        std::vector<std::int32_t> lab(e - b);
        std::vector<double> dd(e - b);
        Assign(X(b), norms_.data() + b, e - b, panel, lab.data(), dd.data());
        for (std::size_t i = b; i < e; ++i) min_d2_[i] = std::min(min_d2_[i], dd[i - b]);
      });
    }
    const std::size_t candidates = centroids_.size() / d;
    summary_.init_candidates = candidates;
    if (candidates <= k_) return PlusPlus(k_);  // too few: continue with D^2 sampling
    // Weight of a candidate = the users nearest to it.
    CentroidPanel panel;
    panel.Set(centroids_, candidates, d);
    tbb::enumerable_thread_specific<std::vector<double>> part([&] { return std::vector<double>(candidates, 0.0); });
    ForChunks([&](std::size_t b, std::size_t e) {
      std::vector<std::int32_t> lab(e - b);
      std::vector<double> dd(e - b);
      Assign(X(b), norms_.data() + b, e - b, panel, lab.data(), dd.data());
      auto& p = part.local();
      for (auto c : lab) p[static_cast<std::size_t>(c)] += 1.0;
    });
    std::vector<double> counts(candidates, 0.0);
    for (const auto& p : part) {
      for (std::size_t j = 0; j < candidates; ++j) counts[j] += p[j];
    }
    ECPS_ASSIGN_OR_RETURN(auto all, AllGather(kWeightsTopic, counts));
    std::vector<double> weights(candidates, 0.0);
    for (const auto& c : all) {
      for (std::size_t j = 0; j < candidates; ++j) weights[j] += c[j];
    }
    centroids_ = LocalWeightedKMeans(centroids_, weights, d, k_, o_.seed);
    return Status::Ok();
  }

  // k rows of a CSV file whose header names the features (original units).
  Status FromFile() {
    const std::string& path = o_.init;
    ECPS_ASSIGN_OR_RETURN(auto reader, worker::LineReader::OpenFile(path));
    std::string_view line;
    ECPS_ASSIGN_OR_RETURN(bool more, reader->Next(&line));
    if (!more) return DataError(fmt::format("{}: empty file (expected a header and {} centroids)", path, k_));
    ECPS_ASSIGN_OR_RETURN(auto header, worker::CsvHeader::Parse(line, ',', path));
    std::vector<std::size_t> cols;
    for (const auto& name : schema_.output_names()) {
      ECPS_ASSIGN_OR_RETURN(std::size_t c, header.Find(name));
      cols.push_back(c);
    }
    std::vector<std::string_view> fields;
    std::deque<std::string> scratch;
    std::vector<double> row(d_);
    while (true) {
      ECPS_ASSIGN_OR_RETURN(more, reader->Next(&line));
      if (!more) break;
      if (worker::Trim(line).empty()) continue;
      Status s = worker::SplitCsv(line, ',', &fields, &scratch);
      if (!s.ok()) return s.WithContext(reader->Where());
      if (fields.size() != header.names().size()) {
        return DataError(fmt::format("{}: expected {} fields (as in the header), found {}", reader->Where(),
                                     header.names().size(), fields.size()));
      }
      for (std::size_t f = 0; f < d_; ++f) {
        auto v = worker::ParseDouble(fields[cols[f]]);
        if (!v) {
          return DataError(fmt::format("{}: column \"{}\": \"{}\" is not a finite number", reader->Where(),
                                       schema_.output_names()[f], worker::Trim(fields[cols[f]])));
        }
        if (!worker::WithinDataLimit(*v)) {
          return DataError(fmt::format("{}: column \"{}\": {}", reader->Where(), schema_.output_names()[f],
                                       worker::DataLimitMessage(fields[cols[f]])));
        }
        row[f] = *v;
      }
      normalizer_.Apply(row.data(), 1);
      centroids_.insert(centroids_.end(), row.begin(), row.end());
    }
    if (centroids_.size() != k_ * d_) {
      return DataError(fmt::format("{}: {} centroids for --k {}", path, centroids_.size() / d_, k_));
    }
    return Status::Ok();
  }

  // ---- Lloyd -----------------------------------------------------------------------------
  //
  // Each worker keeps its users' cluster sums (coordinates, count and ||x - o||^2 on their
  // grids, so exact in any order) from one iteration to the next and updates them only for
  // the users whose label changes: once the clusters settle, an iteration costs little more
  // than the nearest-centroid search. The search is the float32 screen (screen.h) with the
  // float64 kernel for unsure users where the CPU has AVX-512, else the float64 kernel
  // alone; both give the float64 kernel's labels bit for bit.

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

  // Users per stage of a task: labelling a stage overlaps the memory fetches that moving the
  // previous stage's changed users waits for.
  static constexpr std::size_t kStageUsers = 128 * kScreenBlock;

  // New labels for users [s0, s1) of the task that starts at user i0 (into acc.next from
  // s0 - i0; s0 - i0 a multiple of kScreenBlock). With `moved`, lists there the users whose
  // label changes and prefetches what MoveUsers reads of them; else the screen brings all the
  // range's rows into the cache for a pass over them (Assign reads them anyway).
  void Label(LloydAcc& acc, const CentroidPanel& panel, bool screen, std::size_t i0, std::size_t s0, std::size_t s1,
             std::vector<std::size_t>* moved) {
    std::int32_t* next = acc.next.data() + (s0 - i0);
    auto note = [&](std::size_t i) {
      if (next[i - s0] == labels_[i]) return;
      moved->push_back(i);
      __builtin_prefetch(X(i));
      if (d_ * sizeof(double) > 64) __builtin_prefetch(X(i) + d_ - 1);
    };
    if (!screen) {
      Assign(X(s0), norms_.data() + s0, s1 - s0, panel, next, acc.d2.data());
      if (moved) {
        for (std::size_t i = s0; i < s1; ++i) note(i);
      }
      return;
    }
    const std::size_t b0 = s0 / kScreenBlock, b1 = (s1 + kScreenBlock - 1) / kScreenBlock;
    std::uint16_t* todo = acc.todo.data() + (s0 - i0) / kScreenBlock;
    std::uint16_t* unsure = acc.unsure.data() + (s0 - i0) / kScreenBlock;
    Screen(screen_, screen_panel_, b0, b1, labels_.data() + s0, next, todo, unsure, moved ? nullptr : X(s0));
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
        next[at] = NearestCentroid(X(s0 + at), panel);
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
  void MoveUsers(LloydAcc& acc, std::size_t i0, std::size_t s0, std::size_t s1, const std::vector<std::size_t>& moved) {
    const std::size_t d = d_, m = s1 - s0;
    const std::int32_t* next = acc.next.data() + (s0 - i0);
    if (moved.empty()) return;
    if (moved.size() * 8 > m) {
      if (labels_[s0] >= 0) AccumulateSums(X(s0), m, d, labels_.data() + s0, k_, acc.sub.data());
      AccumulateSums(X(s0), m, d, next, k_, acc.add.data());  // unmoved users cancel
    } else {
      for (std::size_t i : moved) {
        const double* x = X(i);
        double* t = acc.add.data() + static_cast<std::size_t>(next[i - s0]) * (d + 1);
        for (std::size_t f = 0; f < d; ++f) t[f] += x[f];
        t[d] += 1;
        if (labels_[i] >= 0) {
          double* u = acc.sub.data() + static_cast<std::size_t>(labels_[i]) * (d + 1);
          for (std::size_t f = 0; f < d; ++f) u[f] += x[f];
          u[d] += 1;
        }
      }
    }
    for (std::size_t i : moved) {
      const std::int32_t to = next[i - s0], from = labels_[i];
      const std::int64_t q = NormFromOrigin(i);  // its row is in cache; q_[i] would not be
      acc.q[static_cast<std::size_t>(to)] += q;
      if (from >= 0) acc.q[static_cast<std::size_t>(from)] -= q;
      labels_[i] = to;
    }
    acc.changed += moved.size();
  }

  // One assignment step over this worker's users: new labels_, and in the accumulators the
  // changes to the sums; `full`: the whole sums instead, in one pass over all users (cheaper
  // when many labels change).
  void AssignStep(const CentroidPanel& panel, bool screen, bool full) {
    for (auto& a : lloyd_acc_) a.Reset(k_, d_);
    ForBlocks([&](std::size_t b0, std::size_t b1) {
      auto& acc = lloyd_acc_.local();
      if (acc.add.empty()) acc.Reset(k_, d_);  // a thread's first task
      const std::size_t blocks = b1 - b0, i0 = b0 * kScreenBlock, i1 = std::min(n_, b1 * kScreenBlock);
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
          for (std::size_t i = s0; i < s1; ++i) changed += next[i - s0] != labels_[i];
          AccumulateSumsAndNorms(X(s0), q_.data() + s0, s1 - s0, d_, next, k_, acc.add.data(), acc.q.data());
          std::copy(next, next + (s1 - s0), labels_.begin() + static_cast<std::ptrdiff_t>(s0));
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
    const std::size_t d = d_;
    double total = 0;
    for (std::size_t j = 0; j < k_; ++j) {
      if (counts[j] == 0) continue;
      double spread = 0, shift = 0;
      for (std::size_t f = 0; f < d; ++f) {
        const double m = mean[j * d + f];
        spread += (m - origin_[f]) * (m - origin_[f]);
        shift += (m - old[j * d + f]) * (m - old[j * d + f]);
      }
      total += std::max(0.0, q[j] - counts[j] * spread) + counts[j] * shift;
    }
    return total;
  }

  // Offers the users farthest from their centroid (by Assign's distance to `panel`) to
  // kmeans.top, for re-seeding empty clusters; top_ holds the global list afterwards.
  Status PushFarthest(const CentroidPanel& panel) {
    const std::size_t d = d_;
    tbb::enumerable_thread_specific<TopList> part([&] { return TopList(layout_.m, layout_.payload()); });
    ForChunks([&](std::size_t b, std::size_t e) {
      auto& far = part.local();
      // A cheap test against the list's worst first.
      double worst = far.Worst();
      std::vector<double> payload(d + 1);
      for (std::size_t i = b; i < e; ++i) {
        const auto label = static_cast<std::size_t>(labels_[i]);
        const double d2 = AssignedDistance(X(i), norms_[i], label, panel);
        if (d2 < worst || !far.WouldKeep(d2, Tie(i))) continue;
        std::copy(X(i), X(i) + d, payload.begin());
        payload[d] = static_cast<double>(label);
        far.Offer(d2, Tie(i), payload.data());
        worst = far.Worst();
      }
    });
    TopList far(layout_.m, layout_.payload());
    for (const auto& p : part) far.Merge(p);
    const auto top = far.Row();
    return Round(nullptr, nullptr, &top, false, false, true);
  }

  Status Train() {
    const std::size_t d = d_, k = k_;
    const std::size_t sw = layout_.stats_width();
    std::string stop = "max-iter";
    sums_.assign(k * sw, 0.0);
    q_sums_.assign(k, 0);
    std::uint64_t moved_last = 0;
    int it = 0;
    for (; it < o_.max_iter; ++it) {
      const auto t0 = std::chrono::steady_clock::now();
      CentroidPanel panel;
      panel.Set(centroids_, k, d);
      const bool screen = screen_.size() == n_ && n_ > 0 && screen_panel_.Set(centroids_, k, screen_);
      // Recompute the sums in one pass rather than update them when many labels may change
      // (the first iteration, or when the last one moved more than a tenth of the users).
      const bool full = it == 0 || moved_last * 10 > n_;
      AssignStep(panel, screen, full);
      std::uint64_t changed = 0;
      if (full) {
        std::fill(sums_.begin(), sums_.end(), 0.0);
        std::fill(q_sums_.begin(), q_sums_.end(), 0);
      }
      for (const auto& a : lloyd_acc_) {
        if (a.add.empty()) continue;
        for (std::size_t j = 0; j < sums_.size(); ++j) sums_[j] += a.add[j] - a.sub[j];  // exact (grid)
        for (std::size_t j = 0; j < k; ++j) q_sums_[j] += a.q[j];
        changed += a.changed;
      }
      moved_last = changed;
      auto row = ReduceRow();
      SumCol(row, 0) = static_cast<double>(changed);
      for (std::size_t j = 0; j < k; ++j) SumCol(row, 1 + j) = static_cast<double>(q_sums_[j]);
      ECPS_RETURN_IF_ERROR(Round(&sums_, &row, nullptr, true, true, false));

      // The servers' new centroids; then re-seed empty clusters with the farthest users.
      std::vector<double> next(k * d);
      std::vector<double> counts(k), q(k);
      for (std::size_t j = 0; j < k; ++j) {
        std::copy_n(stats_.data() + j * sw, d, next.data() + j * d);
        counts[j] = stats_[j * sw + d];
        q[j] = SumCol(reduce_, 1 + j) / q_scale_;
      }
      const double global_inertia = LloydInertia(centroids_, next, counts, q);
      const auto global_changed = static_cast<std::uint64_t>(SumCol(reduce_, 0));
      if (std::find(counts.begin(), counts.end(), 0.0) != counts.end()) {
        ECPS_RETURN_IF_ERROR(PushFarthest(panel));
      }
      const int relocated = Relocate(&next, &counts);
      double shift = 0;
      for (std::size_t j = 0; j < k * d; ++j) shift += (next[j] - centroids_[j]) * (next[j] - centroids_[j]);
      centroids_ = std::move(next);
      const double secs = Since(t0);
      summary_.iteration_seconds.push_back(secs);
      ECPS_RETURN_IF_ERROR(Report({PhaseReport::kIteration, it + 1, global_inertia, shift, global_changed,
                                   relocated, secs}));
      // scikit-learn's rules: labels unchanged (the update did not move anything), or the
      // centroids moved less than tol.
      if (global_changed == 0) {
        stop = "assignments unchanged";
        ++it;
        break;
      }
      if (shift <= tol_) {
        stop = "centroid movement <= tol";
        ++it;
        break;
      }
    }
    summary_.iterations = it;
    summary_.converged = stop != "max-iter";
    summary_.stop_reason = stop;
    return Status::Ok();
  }

  // Empty clusters (count 0), lowest id first, take the farthest users in order (skipping
  // users whose own cluster would become empty); that user's old cluster loses it. Every
  // worker does the same with the same pulled data.
  int Relocate(std::vector<double>* next, std::vector<double>* counts) const {
    const std::size_t d = d_;
    std::vector<std::size_t> empty;
    for (std::size_t j = 0; j < k_; ++j) {
      if ((*counts)[j] == 0) empty.push_back(j);
    }
    if (empty.empty()) return 0;
    const auto far = ReadTop(top_, layout_.m, layout_.entry_width());
    std::size_t next_far = 0;
    int done = 0;
    for (std::size_t j : empty) {
      while (next_far < far.size()) {
        const TopEntry& e = far[next_far++];
        const auto old = static_cast<std::size_t>(e.payload[d]);
        const double n_old = (*counts)[old];
        if (n_old <= 1) continue;
        double* c_old = next->data() + old * d;
        for (std::size_t f = 0; f < d; ++f) c_old[f] = (c_old[f] * n_old - e.payload[f]) / (n_old - 1);
        (*counts)[old] = n_old - 1;
        std::copy_n(e.payload, d, next->data() + j * d);
        (*counts)[j] = 1;
        ++done;
        break;
      }
    }
    return done;
  }

  // ---- Final assignment, statistics and results -------------------------------------------

  Status Finish() {
    const std::size_t d = d_, k = k_;
    const std::size_t sw = layout_.stats_width();
    CentroidPanel panel;
    panel.Set(centroids_, k, d);
    struct FinalAcc {
      std::vector<double> stats;
      std::vector<std::int64_t> dist;
      std::int64_t inertia = 0;
    };
    tbb::enumerable_thread_specific<FinalAcc> part(
        [&] { return FinalAcc{std::vector<double>(k * (d + 1), 0.0), std::vector<std::int64_t>(k, 0), 0}; });
    ForChunks([&](std::size_t b, std::size_t e) {
      auto& acc = part.local();
      AssignAndAccumulate(X(b), norms_.data() + b, e - b, panel, labels_.data() + b, d2_.data() + b,
                          acc.stats.data());
      for (std::size_t i = b; i < e; ++i) {
        const auto c = static_cast<std::size_t>(labels_[i]);
        const double sq = SquaredDistance(X(i), centroids_.data() + c * d, d);  // exact form
        d2_[i] = std::sqrt(sq);  // from here on: the distance, not its square
        acc.inertia += ToFixed(sq, d2_scale_);
        acc.dist[c] += ToFixed(d2_[i], dist_scale_);
      }
    });
    std::vector<double> stats(k * sw, 0.0);
    std::vector<std::int64_t> dist(k, 0);
    std::int64_t inertia = 0;
    for (const auto& p : part) {
      for (std::size_t j = 0; j < stats.size(); ++j) stats[j] += p.stats[j];  // exact (grid)
      for (std::size_t j = 0; j < k; ++j) dist[j] += p.dist[j];
      inertia += p.inertia;
    }
    auto row = ReduceRow();
    SumCol(row, 0) = static_cast<double>(inertia);
    for (std::size_t j = 0; j < k; ++j) SumCol(row, 1 + j) = static_cast<double>(dist[j]);
    ECPS_RETURN_IF_ERROR(Round(&stats, &row, nullptr, true, true, false));

    summary_.centroids = centroids_;
    summary_.label_means.assign(k * d, 0.0);
    summary_.sizes.assign(k, 0);
    mean_distance_.assign(k, 0.0);
    for (std::size_t j = 0; j < k; ++j) {
      const double count = stats_[j * sw + d];
      summary_.sizes[j] = static_cast<std::uint64_t>(count);
      const double* src = count > 0 ? stats_.data() + j * sw : centroids_.data() + j * d;
      std::copy_n(src, d, summary_.label_means.data() + j * d);
      if (count > 0) mean_distance_[j] = SumCol(reduce_, 1 + j) / dist_scale_ / count;
    }
    summary_.mean_distance = mean_distance_;
    summary_.inertia = SumCol(reduce_, 0) / d2_scale_;
    summary_.normalizer = normalizer_;
    summary_.threads = threads_;
    summary_.kernel = KernelName();
    relative_.resize(n_);
    for (std::size_t i = 0; i < n_; ++i) {
      const double m = mean_distance_[static_cast<std::size_t>(labels_[i])];
      relative_[i] = m > 0 ? d2_[i] / m : 0.0;
    }
    scores_ = o_.score == "relative" ? relative_ : d2_;
    return Report({PhaseReport::kTrained, summary_.iterations, summary_.inertia, 0, 0, 0, summary_.train_seconds});
  }

  Status SendResults() {
    const std::size_t d = d_;
    if (w_ == 0) ECPS_RETURN_IF_ERROR(ToScheduler(kSummaryTopic, summary_));

    // The silhouette sample: the users with the smallest keys U(seed, sample round, user).
    if (o_.silhouette_sample > 0) {
      std::vector<std::pair<double, std::size_t>> keys(n_);
      for (std::size_t i = 0; i < n_; ++i) keys[i] = {UniformFor(o_.seed, kSampleRound, hashes_[i]), i};
      const std::size_t s = std::min<std::size_t>(n_, o_.silhouette_sample);
      auto by_key = [&](const auto& a, const auto& b) {
        return a.first < b.first || (a.first == b.first && Tie(a.second) < Tie(b.second));
      };
      std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(s), keys.end(), by_key);
      SamplePart part;
      for (std::size_t j = 0; j < s; ++j) {
        const std::size_t i = keys[j].second;
        part.keys.push_back(keys[j].first);
        part.ties.push_back(Tie(i));
        part.labels.push_back(labels_[i]);
        part.x.insert(part.x.end(), X(i), X(i) + d);
      }
      ECPS_RETURN_IF_ERROR(ToScheduler(kSampleTopic, part));
    }
    // This worker's highest risk scores: enough to find the global top anomaly_rate share.
    if (o_.anomaly_scores) {
      const auto r = static_cast<std::size_t>(std::ceil(o_.anomaly_rate * static_cast<double>(total_)));
      std::vector<std::size_t> idx(n_);
      std::iota(idx.begin(), idx.end(), std::size_t{0});
      const std::size_t s = std::min(n_, r);
      std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(s), idx.end(),
                        [&](std::size_t a, std::size_t b) { return Better(scores_[a], Tie(a), scores_[b], Tie(b)); });
      TopScores top;
      for (std::size_t j = 0; j < s; ++j) {
        top.scores.push_back(scores_[idx[j]]);
        top.ties.push_back(Tie(idx[j]));
      }
      ECPS_RETURN_IF_ERROR(ToScheduler(kTopScoresTopic, top));
    }
    if (schema_.has_label()) {
      std::vector<int> labels(users_.labels.begin(), users_.labels.end());
      AucParts auc{ScoreCounts::From(relative_, labels), ScoreCounts::From(d2_, labels)};
      ECPS_RETURN_IF_ERROR(ToScheduler(kAucTopic, auc));
    }
    // assignments.csv rows, in input order, in chunks.
    std::size_t i = 0;
    do {
      AssignChunk c;
      const std::size_t end = std::min(n_, i + kAssignChunkRows);
      for (; i < end; ++i) {
        c.offsets.push_back(users_.offsets[i]);
        c.id_bytes.append(users_.id(i));
        c.id_end.push_back(c.id_bytes.size());
        c.labels.push_back(labels_[i]);
        c.distances.push_back(d2_[i]);
        c.scores.push_back(scores_[i]);
      }
      c.last = i >= n_;
      ECPS_RETURN_IF_ERROR(ToScheduler(kAssignTopic, c));
    } while (i < n_);
    return Status::Ok();
  }

  const KMeansOptions& o_;
  const worker::FeatureSchema& schema_;
  const TableLayout& layout_;
  sched::JobContext& ctx_;
  ps::KVClient& kv_;
  tbb::task_arena arena_;
  int threads_;
  int w_;
  std::size_t k_, d_;

  worker::UserTable users_;  // its features move to x_ once normalised and snapped
  std::vector<double, CacheAligned<double>> x_;
  const double* x_data_ = nullptr;  // the features: users_'s, then x_
  std::size_t n_ = 0;
  std::uint64_t total_ = 0;
  std::vector<std::uint64_t> hashes_;
  std::vector<double> norms_, d2_, min_d2_, relative_, scores_, mean_distance_;
  std::vector<std::int32_t> labels_;
  Normalizer normalizer_;
  double d2_scale_ = 1, dist_scale_ = 1, tol_ = 0;
  std::vector<double> centroids_;
  std::vector<double> stats_, reduce_, top_;
  // The Lloyd loop: origin, grid of the norm sums, this worker's cluster sums, the screen.
  std::vector<double> origin_;
  double q_scale_ = 1;
  std::vector<double> sums_;
  std::vector<std::int64_t> q_sums_;
  std::vector<std::int64_t> q_;  // per user: ToFixed(||x - o||^2, q_scale_)
  tbb::enumerable_thread_specific<LloydAcc> lloyd_acc_;
  ScreenPoints screen_;
  ScreenPanel screen_panel_;
  Summary summary_;
};

}  // namespace

double UniformFor(std::uint64_t seed, std::uint64_t round, std::uint64_t user_hash) {
  const std::uint64_t h = Mix64(Mix64(seed) ^ Mix64(round * 0x9e3779b97f4a7c15ull + 1) ^ user_hash);
  return (static_cast<double>(h >> 11) + 0.5) * 0x1.0p-53;
}

namespace {

double WeightedCost(const std::vector<double>& points, const std::vector<double>& weights, std::size_t d,
                    const std::vector<double>& c) {
  const std::size_t n = points.size() / d, k = c.size() / d;
  double cost = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double best = kInf;
    for (std::size_t j = 0; j < k; ++j) best = std::min(best, SquaredDistance(&points[i * d], &c[j * d], d));
    cost += weights[i] * best;
  }
  return cost;
}

std::vector<double> LocalTrial(const std::vector<double>& points, const std::vector<double>& weights, std::size_t d,
                               std::size_t k, std::uint64_t seed, int iterations) {
  const std::size_t n = points.size() / d;
  std::uint64_t state = Mix64(seed ^ 0x6c6f63616cull);
  auto uniform = [&] {
    state += 0x9e3779b97f4a7c15ull;
    return (static_cast<double>(Mix64(state) >> 11) + 0.5) * 0x1.0p-53;
  };
  // Draws an index with probability proportional to p.
  auto draw = [&](const std::vector<double>& p) {
    const double total = std::accumulate(p.begin(), p.end(), 0.0);
    double u = uniform() * total;
    for (std::size_t i = 0; i < n; ++i) {
      if (p[i] > 0 && u < p[i]) return i;
      u -= p[i];
    }
    for (std::size_t i = n; i-- > 0;) {
      if (p[i] > 0) return i;
    }
    return std::size_t{0};
  };
  auto at = [&](std::size_t i) { return points.data() + i * d; };
  std::vector<double> c;
  std::vector<double> best(n, kInf), p(n);
  std::size_t pick = draw(weights);
  for (std::size_t j = 0; j < k; ++j) {
    c.insert(c.end(), at(pick), at(pick) + d);
    for (std::size_t i = 0; i < n; ++i) {
      best[i] = std::min(best[i], SquaredDistance(at(i), c.data() + j * d, d));
      p[i] = weights[i] * best[i];
    }
    if (j + 1 < k) {
      const bool any = std::any_of(p.begin(), p.end(), [](double v) { return v > 0; });
      pick = any ? draw(p) : (j + 1) % n;  // all candidates covered: any distinct index will do
    }
  }
  std::vector<std::size_t> label(n, 0);
  for (int it = 0; it < iterations; ++it) {
    bool moved = false;
    for (std::size_t i = 0; i < n; ++i) {
      double bd = kInf;
      std::size_t bj = 0;
      for (std::size_t j = 0; j < k; ++j) {
        const double dd = SquaredDistance(at(i), c.data() + j * d, d);
        if (dd < bd) {
          bd = dd;
          bj = j;
        }
      }
      if (it == 0 || bj != label[i]) moved = true;
      label[i] = bj;
    }
    if (!moved) break;
    std::vector<double> sum(k * d, 0.0), wsum(k, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t f = 0; f < d; ++f) sum[label[i] * d + f] += weights[i] * at(i)[f];
      wsum[label[i]] += weights[i];
    }
    for (std::size_t j = 0; j < k; ++j) {
      if (wsum[j] > 0) {
        for (std::size_t f = 0; f < d; ++f) c[j * d + f] = sum[j * d + f] / wsum[j];
      }
    }
  }
  return c;
}

}  // namespace

std::vector<double> LocalWeightedKMeans(const std::vector<double>& points, const std::vector<double>& weights,
                                        std::size_t d, std::size_t k, std::uint64_t seed, int iterations,
                                        int trials) {
  std::vector<double> best;
  double best_cost = kInf;
  for (int t = 0; t < trials; ++t) {
    auto c = LocalTrial(points, weights, d, k, seed + static_cast<std::uint64_t>(t), iterations);
    const double cost = WeightedCost(points, weights, d, c);
    if (best.empty() || cost < best_cost) {
      best = std::move(c);
      best_cost = cost;
    }
  }
  return best;
}

Status RunKMeansWorker(const KMeansOptions& options, const worker::FeatureSchema& schema,
                       const TableLayout& layout, int threads, sched::JobContext& ctx) {
  WorkerRun run(options, schema, layout, threads, ctx);
  return run.Run();
}

}  // namespace ecps::models::kmeans
