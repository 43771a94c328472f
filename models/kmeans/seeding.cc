#include "models/kmeans/seeding.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <tbb/enumerable_thread_specific.h>

#include "models/kmeans/local_kmeans.h"
#include "models/kmeans/model.h"
#include "models/kmeans/random.h"
#include "ps/collective.h"
#include "worker/csv.h"
#include "worker/line_reader.h"

namespace ecps::models::kmeans {
namespace {

constexpr std::uint64_t kParallelRound = 1ull << 20;  // k-means|| selection rounds
constexpr std::uint64_t kSampleRound = 1ull << 30;    // the seeding sample

// Seeding reads at most about this many users, or 32 per cluster if more: beyond it, a
// uniform sample of the users (every user of a smaller job).
constexpr std::uint64_t kSeedSampleUsers = 1 << 13;
constexpr std::uint64_t kSeedSamplePerCluster = 32;

class Seeding {
 public:
  explicit Seeding(WorkerState& state) : state_(state) {}

  Status Run() {
    state_.centroids.clear();
    if (state_.options.init == InitMethod::kFile) return FromFile();
    ECPS_RETURN_IF_ERROR(TakeSample());
    min_d2_.assign(m_, kInf);
    return state_.options.init == InitMethod::kPlusPlus ? PlusPlus(state_.k) : Parallel();
  }

 private:
  // The users seeding reads: all of them when the job has at most the sample size, else those
  // with U(seed, sample round, user) < sample size / users (split-independent). Every worker
  // gathers the whole sample in input order and seeds from it alone, without a clock: its
  // sums are exact and its random choices per user, so each worker, and any split of the
  // users, picks the same centroids.
  Status TakeSample() {
    const std::size_t d = state_.d;
    const std::uint64_t want = std::max(kSeedSampleUsers, kSeedSamplePerCluster * state_.k);
    std::vector<std::size_t> index;
    if (state_.total <= want) {
      index.resize(state_.n);
      std::iota(index.begin(), index.end(), std::size_t{0});
    } else {
      const double p = static_cast<double>(want) / static_cast<double>(state_.total);
      const std::uint64_t key = RoundKey(state_.options.seed, kSampleRound);
      const std::uint64_t* hashes = state_.hashes.data();
      tbb::enumerable_thread_specific<std::vector<std::size_t>> part;
      state_.ForChunks([&](std::size_t b, std::size_t e) {
        auto& mine = part.local();
        std::uint8_t flags[kChunk];
        FlagBelow(hashes + b, e - b, key, p, flags);
        for (std::size_t i = b; i < e; ++i) {
          if (flags[i - b]) mine.push_back(i);
        }
      });
      for (const auto& v : part) index.insert(index.end(), v.begin(), v.end());
      std::sort(index.begin(), index.end());  // input order
    }
    SeedSample mine;
    for (std::size_t i : index) {
      mine.ties.push_back(state_.Tie(i));
      mine.hashes.push_back(state_.hashes[i]);
      mine.norms.push_back(state_.norms[i]);
      mine.x.insert(mine.x.end(), state_.X(i), state_.X(i) + d);
    }
    const auto workers = ps::WorkerRanks(state_.ctx.node.roles());
    ECPS_ASSIGN_OR_RETURN(auto parts, ps::AllGather(state_.ctx.node, kSeedSampleTopic, workers,
                                                    mine, state_.Deadline()));
    std::vector<std::pair<double, std::pair<std::size_t, std::size_t>>> order;  // tie, (part, row)
    for (std::size_t w = 0; w < parts.size(); ++w) {
      for (std::size_t j = 0; j < parts[w].ties.size(); ++j) order.push_back({parts[w].ties[j], {w, j}});
    }
    if (parts.size() > 1) std::sort(order.begin(), order.end());  // one part: in order
    m_ = order.size();
    ties_.reserve(m_);
    hashes_.reserve(m_);
    norms_.reserve(m_);
    x_.reserve(m_ * d);
    for (const auto& [tie, at] : order) {
      const SeedSample& p = parts[at.first];
      ties_.push_back(tie);
      hashes_.push_back(p.hashes[at.second]);
      norms_.push_back(p.norms[at.second]);
      x_.insert(x_.end(), p.x.begin() + static_cast<std::ptrdiff_t>(at.second * d),
                p.x.begin() + static_cast<std::ptrdiff_t>((at.second + 1) * d));
    }
    state_.summary.init_sample = m_;
    if (m_ < state_.k) {
      return Internal(fmt::format("seeding sample of {} users for --k {}", m_, state_.k));
    }
    return Status::Ok();
  }

  const double* X(std::size_t j) const { return x_.data() + j * state_.d; }
  std::uint64_t Hash(std::size_t j) const { return hashes_[j]; }
  double Tie(std::size_t j) const { return ties_[j]; }
  template <class F>
  void ForSample(F&& body) { state_.ForChunksOf(m_, body); }

  // Greedy D^2 sampling (as scikit-learn's k-means++) until there are `target` centroids.
  // Round r draws L = 2 + ln k candidates with probability proportional to w (w = squared
  // distance to the nearest centroid so far; w = 1 for the first pick, which takes a single
  // candidate): the users with the smallest exponential keys E / w, E = -ln U(seed, r, user),
  // which is weighted sampling without replacement whatever the split of users. Each worker
  // offers its best L, kmeans.top keeps the global best L; a second clock sums, for every
  // candidate, the potential sum_i min(w_i, |x_i - c|^2), and the smallest potential wins.
  Status PlusPlus(std::size_t target) {
    const std::size_t d = state_.d;
    const auto trials = std::min<std::size_t>(
        state_.layout.m, 2 + static_cast<std::size_t>(std::log(static_cast<double>(state_.k))));
    while (state_.centroids.size() / d < target) {
      const std::size_t r = state_.centroids.size() / d;
      const bool first = r == 0;
      const std::size_t want = first ? 1 : trials;
      tbb::enumerable_thread_specific<TopList> part(
          [&] { return TopList(want, state_.layout.payload()); });
      ForSample([&](std::size_t b, std::size_t e) {
        auto& list = part.local();
        std::vector<double> payload(d + 1, 0.0);
        for (std::size_t j = b; j < e; ++j) {
          const double w = first ? 1.0 : min_d2_[j];
          const double u = UniformFor(state_.options.seed, r, Hash(j));
          // ln u <= u - 1 (loosened by 2^-50 for the logarithm's rounding): most users are
          // out without the logarithm.
          if (!list.WouldKeep((u - 1) * (1 - 0x1p-50) / w, Tie(j))) continue;
          const double score = std::log(u) / w;  // -key; -inf when w = 0
          if (!list.WouldKeep(score, Tie(j))) continue;
          std::copy(X(j), X(j) + d, payload.begin());
          list.Offer(score, Tie(j), payload.data());
        }
      });
      TopList list(state_.layout.m, state_.layout.payload());
      for (const auto& p : part) list.Merge(p);
      const auto row = list.Row();
      auto picked = ReadTop(row, state_.layout.m, state_.layout.entry_width());
      if (picked.size() > want) picked.resize(want);
      if (picked.empty()) return Internal("k-means++: no user was offered as a centroid");
      std::size_t choice = 0;
      if (picked.size() > 1) {
        // The potential of each candidate, summed exactly; its distances are kept for the
        // update of min_d2_ below.
        const std::vector<TopEntry> cands = picked;
        cand_d2_.resize(cands.size() * m_);
        tbb::enumerable_thread_specific<std::vector<std::int64_t>> pot(
            [&] { return std::vector<std::int64_t>(cands.size(), 0); });
        ForSample([&](std::size_t b, std::size_t e) {
          auto& p = pot.local();
          for (std::size_t c = 0; c < cands.size(); ++c) {
            double* d2 = cand_d2_.data() + c * m_;
            SquaredDistances(X(b), e - b, cands[c].payload, d, d2 + b);
            for (std::size_t j = b; j < e; ++j) {
              p[c] += ToFixed(std::min(min_d2_[j], d2[j]), state_.d2_scale);
            }
          }
        });
        std::vector<std::int64_t> potentials(cands.size(), 0);
        for (const auto& p : pot) {
          for (std::size_t c = 0; c < cands.size(); ++c) potentials[c] += p[c];
        }
        for (std::size_t c = 1; c < cands.size(); ++c) {
          if (potentials[c] < potentials[choice]) choice = c;
        }
      }
      const std::size_t at = state_.centroids.size();
      state_.centroids.insert(state_.centroids.end(), picked[choice].payload,
                              picked[choice].payload + d);
      const double* c = state_.centroids.data() + at;
      const double* known = picked.size() > 1 ? cand_d2_.data() + choice * m_ : nullptr;
      ForSample([&](std::size_t b, std::size_t e) {
        std::vector<double> d2;
        if (!known) {
          d2.resize(e - b);
          SquaredDistances(X(b), e - b, c, d, d2.data());
        }
        const double* from = known ? known + b : d2.data();
        for (std::size_t j = b; j < e; ++j) min_d2_[j] = std::min(min_d2_[j], from[j - b]);
      });
    }
    return Status::Ok();
  }

  // k-means|| (Bahmani et al., "Scalable K-Means++", VLDB 2012): one uniform pick, then
  // `init_steps` rounds that keep each user independently with probability l * w / phi
  // (phi = the total of w), then a weighted k-means++ and Lloyd on the candidates.
  Status Parallel() {
    const std::size_t d = state_.d;
    ECPS_RETURN_IF_ERROR(PlusPlus(1));
    const double l = state_.options.oversampling > 0 ? state_.options.oversampling
                                                     : 2.0 * static_cast<double>(state_.k);
    for (int step = 1; step <= state_.options.init_steps; ++step) {
      tbb::enumerable_thread_specific<std::int64_t> part(0);
      ForSample([&](std::size_t b, std::size_t e) {
        auto& p = part.local();
        for (std::size_t j = b; j < e; ++j) p += ToFixed(min_d2_[j], state_.d2_scale);
      });
      const auto total = std::accumulate(part.begin(), part.end(), std::int64_t{0});
      const double phi = static_cast<double>(total) / state_.d2_scale;
      if (!(phi > 0)) break;  // every user sits on a candidate
      std::vector<double> fresh;  // in input order
      for (std::size_t j = 0; j < m_; ++j) {
        if (UniformFor(state_.options.seed, kParallelRound + static_cast<std::uint64_t>(step),
                       Hash(j)) < l * min_d2_[j] / phi) {
          fresh.insert(fresh.end(), X(j), X(j) + d);
        }
      }
      if (fresh.empty()) continue;
      state_.centroids.insert(state_.centroids.end(), fresh.begin(), fresh.end());
      CentroidPanel panel;
      panel.Set(fresh, fresh.size() / d, d);
      ForSample([&](std::size_t b, std::size_t e) {
        std::vector<std::int32_t> lab(e - b);
        std::vector<double> dd(e - b);
        Assign(X(b), norms_.data() + b, e - b, panel, lab.data(), dd.data(),
             state_.options.kernel);
        for (std::size_t j = b; j < e; ++j) min_d2_[j] = std::min(min_d2_[j], dd[j - b]);
      });
    }
    const std::size_t candidates = state_.centroids.size() / d;
    state_.summary.init_candidates = candidates;
    if (candidates <= state_.k) return PlusPlus(state_.k);  // too few: continue with D^2 sampling
    // Weight of a candidate = the users nearest to it.
    CentroidPanel panel;
    panel.Set(state_.centroids, candidates, d);
    tbb::enumerable_thread_specific<std::vector<double>> part(
        [&] { return std::vector<double>(candidates, 0.0); });
    ForSample([&](std::size_t b, std::size_t e) {
      std::vector<std::int32_t> lab(e - b);
      std::vector<double> dd(e - b);
      Assign(X(b), norms_.data() + b, e - b, panel, lab.data(), dd.data(),
             state_.options.kernel);
      auto& p = part.local();
      for (auto c : lab) p[static_cast<std::size_t>(c)] += 1.0;
    });
    std::vector<double> weights(candidates, 0.0);
    for (const auto& p : part) {
      for (std::size_t j = 0; j < candidates; ++j) weights[j] += p[j];
    }
    state_.centroids =
        LocalWeightedKMeans(state_.centroids, weights, d, state_.k, state_.options.seed);
    return Status::Ok();
  }

  // The centroids of a trained model (a folder with model.bin: another run's, to continue
  // from it on new data), mapped through its normaliser to original units and through this
  // run's into the fitted space; or k rows of a CSV file whose header names the features
  // (original units).
  Status FromFile() {
    const std::string& path = state_.options.init_file;
    if (std::filesystem::is_directory(path)) return FromModel(path);
    ECPS_ASSIGN_OR_RETURN(auto reader, worker::LineReader::OpenFile(path));
    std::string_view line;
    ECPS_ASSIGN_OR_RETURN(bool more, reader->Next(&line));
    if (!more) {
      return DataError(
          fmt::format("{}: empty file (expected a header and {} centroids)", path, state_.k));
    }
    ECPS_ASSIGN_OR_RETURN(auto header, worker::CsvHeader::Parse(line, ',', path));
    std::vector<std::size_t> cols;
    for (const auto& name : state_.schema.output_names()) {
      ECPS_ASSIGN_OR_RETURN(std::size_t c, header.Find(name));
      cols.push_back(c);
    }
    std::vector<std::string_view> fields;
    std::deque<std::string> scratch;
    std::vector<double> row(state_.d);
    while (true) {
      ECPS_ASSIGN_OR_RETURN(more, reader->Next(&line));
      if (!more) break;
      if (worker::Trim(line).empty()) continue;
      Status s = worker::SplitCsv(line, ',', &fields, &scratch);
      if (!s.ok()) return s.WithContext(reader->Where());
      if (fields.size() != header.names().size()) {
        return DataError(fmt::format("{}: expected {} fields (as in the header), found {}",
                                     reader->Where(), header.names().size(), fields.size()));
      }
      for (std::size_t f = 0; f < state_.d; ++f) {
        auto v = worker::ParseDouble(fields[cols[f]]);
        if (!v) {
          return DataError(fmt::format("{}: column \"{}\": \"{}\" is not a finite number",
                                       reader->Where(), state_.schema.output_names()[f],
                                       worker::Trim(fields[cols[f]])));
        }
        if (!worker::WithinDataLimit(*v)) {
          return DataError(fmt::format("{}: column \"{}\": {}", reader->Where(),
                                       state_.schema.output_names()[f],
                                       worker::DataLimitMessage(fields[cols[f]])));
        }
        row[f] = *v;
      }
      state_.normalizer.Apply(row.data(), 1);
      state_.centroids.insert(state_.centroids.end(), row.begin(), row.end());
    }
    if (state_.centroids.size() != state_.k * state_.d) {
      return DataError(fmt::format("{}: {} centroids for --k {}", path,
                                   state_.centroids.size() / state_.d, state_.k));
    }
    return Status::Ok();
  }

  Status FromModel(const std::string& dir) {
    const std::string file = (std::filesystem::path(dir) / "model.bin").string();
    ECPS_ASSIGN_OR_RETURN(KMeansModel model,
                          LoadKMeansModel(file, state_.options.encrypt.get()));
    const auto& mine = state_.schema.output_names();
    if (model.schema.output_names() != mine) {
      return InvalidArgument(fmt::format(
          "--init {}: the model's features are {}; this run's are {} (the same columns and "
          "encodings, in the same order, are needed)",
          dir, fmt::join(model.schema.output_names(), ","), fmt::join(mine, ",")));
    }
    if (model.k != state_.k) {
      return InvalidArgument(fmt::format("--init {}: the model has {} clusters; this run has "
                                         "--k {}",
                                         dir, model.k, state_.k));
    }
    std::vector<double> row(state_.d);
    for (std::size_t c = 0; c < state_.k; ++c) {
      for (std::size_t f = 0; f < state_.d; ++f) {
        row[f] = model.normalizer.Original(f, model.centroids[c * state_.d + f]);
      }
      state_.normalizer.Apply(row.data(), 1);
      state_.centroids.insert(state_.centroids.end(), row.begin(), row.end());
    }
    return Status::Ok();
  }

  WorkerState& state_;
  // The sample, every worker's, in input order: m_ users, their ties (byte offsets), id
  // hashes, squared norms and rows.
  std::size_t m_ = 0;
  std::vector<double> ties_;
  std::vector<std::uint64_t> hashes_;
  std::vector<double> norms_;
  std::vector<double> x_;
  std::vector<double> min_d2_;  // per sampled user: squared distance to the nearest centroid
  std::vector<double> cand_d2_;  // per k-means++ candidate, per sampled user: squared distance
};

}  // namespace

Status InitializeCentroids(WorkerState& state) { return Seeding(state).Run(); }

}  // namespace ecps::models::kmeans
