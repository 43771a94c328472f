// DP-SGD for `ecps train lr` (models/lr/lr_dp.h), its pieces: the keyed Poisson sampler against
// OpenSSL's ChaCha20 and its batch-size distribution, exact per-example clipping, the servers'
// noise on every key, the plan (σ from the accountant, refusals with suggestions). Whole runs:
// dp_run_test.cc.
#include <cmath>
#include <cstring>
#include <algorithm>
#include <atomic>
#include <map>
#include <numeric>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include "models/lr/lr_dp.h"
#include "models/lr/lr_update.h"

namespace ecps {
namespace {

using namespace models::lr;

// ---- Sampling ------------------------------------------------------------------------------

TEST(DpSampling, ChaCha20BlockMatchesOpenSsl) {
  const privacy::SamplingKey key = privacy::TestSamplingKey(5);
  const std::array<std::uint32_t, 3> nonce{0x12345678, 0x9abcdef0, 77};
  const auto block = privacy::ChaCha20Block(key, 0, nonce);
  // OpenSSL's IV: the 32-bit block counter, then the 96-bit nonce, little-endian.
  unsigned char iv[16] = {};
  std::memcpy(iv + 4, nonce.data(), 12);
  unsigned char k[32];
  std::memcpy(k, key.data(), 32);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ASSERT_EQ(EVP_EncryptInit_ex(ctx, EVP_chacha20(), nullptr, k, iv), 1);
  unsigned char zeros[64] = {}, out[64];
  int len = 0;
  ASSERT_EQ(EVP_EncryptUpdate(ctx, out, &len, zeros, 64), 1);
  EVP_CIPHER_CTX_free(ctx);
  std::array<std::uint32_t, 16> want;
  std::memcpy(want.data(), out, 64);
  EXPECT_EQ(block, want);
}

TEST(DpSampling, PoissonBatchSizesHaveBinomialMeanAndVariance) {
  // n = 20000 records, q = 0.05: a batch size is Binomial(n, q): mean 1000, variance
  // q(1-q)n = 950 (sd 30.8). Over m = 200 steps: the mean's sd is 30.8/sqrt(200) = 2.18
  // (5 sd: 10.9); the sample variance's sd is about 950*sqrt(2/199) = 95.2 (5 sd: 476).
  const privacy::PoissonSampler sampler(privacy::TestSamplingKey(1), 0.05);
  constexpr int kN = 20000, kSteps = 200;
  std::vector<double> sizes(kSteps, 0.0);
  std::vector<std::uint32_t> st;
  for (std::uint64_t id = 0; id < kN; ++id) {
    st.clear();
    sampler.Steps((id << 7) | 3, 0, kSteps, &st);
    ASSERT_TRUE(std::is_sorted(st.begin(), st.end()));
    ASSERT_EQ(std::adjacent_find(st.begin(), st.end()), st.end());
    for (std::uint32_t s : st) sizes[s] += 1;
  }
  const double mean = std::accumulate(sizes.begin(), sizes.end(), 0.0) / kSteps;
  double var = 0;
  for (double s : sizes) var += (s - mean) * (s - mean);
  var /= kSteps - 1;
  EXPECT_NEAR(mean, 1000.0, 5 * 2.18);
  EXPECT_NEAR(var, 950.0, 5 * 95.2);
  // Step 0 of another window, or of another key, is another sample: two independent samples
  // share Binomial(20000, 0.0025) ids (mean 50, sd 7.1); the same key and window share all.
  auto step0 = [&](const privacy::PoissonSampler& s, std::uint32_t window) {
    std::vector<bool> in(kN);
    for (std::uint64_t id = 0; id < kN; ++id) {
      st.clear();
      s.Steps((id << 7) | 3, window, 1, &st);
      in[id] = !st.empty();
    }
    return in;
  };
  const privacy::PoissonSampler other(privacy::TestSamplingKey(2), 0.05);
  const auto a = step0(sampler, 0), b = step0(other, 0), c = step0(sampler, 1), a2 = step0(sampler, 0);
  int ab = 0, ac = 0;
  for (int id = 0; id < kN; ++id) {
    ab += a[id] && b[id];
    ac += a[id] && c[id];
  }
  EXPECT_LT(ab, 50 + 5 * 7.1);
  EXPECT_LT(ac, 50 + 5 * 7.1);
  EXPECT_EQ(a, a2);
  st.clear();
  privacy::PoissonSampler(privacy::TestSamplingKey(1), 1.0).Steps(9, 0, 5, &st);
  EXPECT_EQ(st, (std::vector<std::uint32_t>{0, 1, 2, 3, 4}));
}

TEST(DpSampling, ManyRecordsAtOnceGiveEachRecordsSteps) {
  // 4-lane blocks for 4k + 3 ids (a partial group), with q = 0.5 over 40 steps so that
  // records use blocks past the first (8 or more joins), and q = 1.
  std::vector<std::uint64_t> ids;
  for (std::uint64_t i = 0; i < 403; ++i) ids.push_back((i << 40) | (i * 7919));
  for (double q : {0.02, 0.5, 1.0}) {
    const privacy::PoissonSampler sampler(privacy::TestSamplingKey(4), q);
    std::vector<privacy::PoissonSampler::Join> many;
    sampler.StepsOfMany(ids, 3, 40, &many);
    std::vector<privacy::PoissonSampler::Join> one;
    std::size_t most = 0;
    for (std::uint32_t i = 0; i < ids.size(); ++i) {
      std::vector<std::uint32_t> st;
      sampler.Steps(ids[i], 3, 40, &st);
      most = std::max(most, st.size());
      for (std::uint32_t s : st) one.push_back({i, s});
    }
    ASSERT_EQ(many.size(), one.size()) << q;
    for (std::size_t j = 0; j < one.size(); ++j) {
      ASSERT_EQ(many[j].index, one[j].index) << q;
      ASSERT_EQ(many[j].step, one[j].step) << q;
    }
    if (q == 0.5) {
      EXPECT_GT(most, 8u);
    }
  }
}

TEST(DpSampling, EachRecordJoinsWithProbabilityQIndependently) {
  // q = 0.05, 20 steps a window.
  constexpr double kQ = 0.05;
  constexpr std::uint32_t kSteps = 20;
  const privacy::PoissonSampler sampler(privacy::TestSamplingKey(7), kQ);
  // Each of 16 records over 500 windows: 10,000 trials, joins ~ Binomial(10000, 0.05): mean
  // 500, sd sqrt(10000 * 0.05 * 0.95) = 21.8 (5 sd: 109).
  {
    std::vector<std::uint64_t> ids;
    for (std::uint64_t i = 0; i < 16; ++i) ids.push_back((i << 33) | (i * 31 + 5));
    std::vector<int> joins(ids.size(), 0);
    std::vector<privacy::PoissonSampler::Join> out;
    for (std::uint32_t w = 0; w < 500; ++w) {
      out.clear();
      sampler.StepsOfMany(ids, w, kSteps, &out);
      for (const auto& j : out) ++joins[j.index];
    }
    for (std::size_t i = 0; i < ids.size(); ++i) {
      EXPECT_NEAR(joins[i], 500, 5 * 21.8) << "record " << i;
    }
  }
  // 20,000 records in one window; B(i, s): record i joins step s.
  constexpr std::uint32_t kN = 20000;
  std::vector<std::uint64_t> ids(kN);
  for (std::uint32_t i = 0; i < kN; ++i) ids[i] = (std::uint64_t{i} << 7) | 3;
  std::vector<privacy::PoissonSampler::Join> out;
  sampler.StepsOfMany(ids, 0, kSteps, &out);
  std::vector<std::vector<bool>> in(kN, std::vector<bool>(kSteps));
  for (const auto& j : out) in[j.index][j.step] = true;
  // Two steps of one record: X = sum_i sum_{s<19} B(i,s) B(i,s+1), mean 20000 * 19 * q^2 =
  // 950. Per record Var = 19 q^2 (1 - q^2) + 2 * 18 (q^3 - q^4) = 0.0517 (neighbouring terms
  // share a step), over 20000 records 1033: sd 32.1 (5 sd: 161).
  int same_record = 0;
  for (std::uint32_t i = 0; i < kN; ++i) {
    for (std::uint32_t s = 0; s + 1 < kSteps; ++s) same_record += in[i][s] && in[i][s + 1];
  }
  EXPECT_NEAR(same_record, 950, 5 * 32.1);
  // Two records at one step (neighbours, in one SIMD group): Y = sum_{i even} sum_s
  // B(i,s) B(i+1,s), 10000 * 20 independent terms of mean q^2: mean 500, Var 200000 q^2
  // (1 - q^2) = 498.8, sd 22.3 (5 sd: 112).
  int two_records = 0;
  for (std::uint32_t i = 0; i < kN; i += 2) {
    for (std::uint32_t s = 0; s < kSteps; ++s) two_records += in[i][s] && in[i + 1][s];
  }
  EXPECT_NEAR(two_records, 500, 5 * 22.3);
}

// ---- Clipping ------------------------------------------------------------------------------

worker::SparseData OneRow(std::vector<std::uint32_t> keys, std::vector<float> values, float label) {
  auto b = std::make_shared<worker::RowBlock>();
  b->keys = std::move(keys);
  b->values = std::move(values);
  b->row_ptr.push_back(b->keys.size());
  b->labels.push_back(label);
  b->ids.push_back(0);
  b->all_ones = false;
  return worker::SparseData::FromBlocks({b}, true);
}

double Norm(const std::vector<float>& g) {
  double s = 0;
  for (float v : g) s += static_cast<double>(v) * v;
  return std::sqrt(s);
}

TEST(DpClipping, AboveTheBoundIsScaledToItExactlyBelowIsUnchanged) {
  // w = 0: p = 0.5, label 1: the gradient is -0.5 * x.
  for (const double clip : {0.1, 1.0, 100.0}) {
    const auto data = OneRow({1, 4, 9}, {3.0f, -4.0f, 12.0f}, 1.0f);  // ||x|| = 13, ||g|| = 6.5
    KeyIndex index(16);
    index.Build(data, nullptr, false);
    const std::vector<float> w(3, 0.0f);
    std::vector<float> g;
    const std::vector<std::uint32_t> rows{0};
    ClippedGradient(data, rows, index, w.data(), clip, &g);
    ASSERT_EQ(g.size(), 3u);
    const double want = std::min(clip, 6.5);
    EXPECT_NEAR(Norm(g), want, want * 1e-6) << clip;
    const double f = std::min(1.0, clip / 6.5);
    EXPECT_NEAR(g[0], -0.5 * 3 * f, 1e-6 * 1.5 * f);
    EXPECT_NEAR(g[1], 0.5 * 4 * f, 1e-6 * 2 * f);
    EXPECT_NEAR(g[2], -0.5 * 12 * f, 1e-6 * 6 * f);
  }
}

TEST(DpClipping, RepeatedKeysOfARowAreMergedBeforeTheNorm) {
  // Two features hashed to key 3: the gradient coordinate is 2 * 0.5 = 1 (norm 1, not sqrt(0.5)).
  const auto data = OneRow({3, 3}, {1.0f, 1.0f}, 0.0f);
  KeyIndex index(8);
  index.Build(data, nullptr, false);
  const std::vector<float> w(1, 0.0f);
  std::vector<float> g;
  const std::vector<std::uint32_t> rows{0};
  ClippedGradient(data, rows, index, w.data(), 0.5, &g);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_NEAR(g[0], 0.5, 0.5e-6);
}

// `n` rows of 1 to 80 keys below `keys` with values in [-1, 1), every third labelled 1.
worker::SparseData RandomRows(int n, std::uint32_t keys, std::uint64_t seed) {
  auto b = std::make_shared<worker::RowBlock>();
  std::uint64_t x = seed;
  auto next = [&x] { return (x = x * 6364136223846793005ULL + 1442695040888963407ULL) >> 33; };
  for (int r = 0; r < n; ++r) {
    const std::size_t len = 1 + next() % 80;
    for (std::size_t j = 0; j < len; ++j) {
      b->keys.push_back(static_cast<std::uint32_t>(next() % keys));
      b->values.push_back(static_cast<float>(next() % 2000) / 1000.0f - 1.0f);
    }
    b->row_ptr.push_back(b->keys.size());
    b->labels.push_back(static_cast<float>(r % 3 == 0));
    b->ids.push_back(static_cast<std::uint64_t>(r));
  }
  b->all_ones = false;
  return worker::SparseData::FromBlocks({b}, true);
}

// Each row's gradient merged with a map, clipped in double, summed in double: want[k], and
// magnitude[k] the sum of the terms' absolute values.
template <class Weight>
void ClippedReference(const worker::SparseData& data, const std::vector<std::uint32_t>& rows, Weight weight,
                      double clip, std::vector<double>* want, std::vector<double>* magnitude) {
  for (std::uint32_t r : rows) {
    std::map<std::uint32_t, double> merged;
    float m = 0;
    const auto ks = data.keys(r);
    for (std::size_t j = 0; j < ks.size(); ++j) {
      merged[ks[j]] += data.values(r)[j];
      m += weight(ks[j]) * data.values(r)[j];
    }
    double norm2 = 0;
    for (const auto& [k, v] : merged) norm2 += v * v;
    const double d = static_cast<double>(Sigmoid(m)) - data.label(r);
    const double f = d * ClipFactor(std::abs(d) * std::sqrt(norm2), clip);
    for (const auto& [k, v] : merged) {
      (*want)[k] += f * v;
      (*magnitude)[k] += std::abs(f * v);
    }
  }
}

TEST(DpClipping, ManyRowsMatchARowByRowReferenceWithEitherKeyListAndGatheredRows) {
  // 3000 rows (the chunked path) of 1 to 80 keys < 512, about one row in three with a
  // repeated key; every other row is in the step. Reference: each row's gradient merged
  // with a map, clipped in double, summed in double.
  const auto data = RandomRows(3000, 512, 12345);
  std::vector<std::uint32_t> rows;
  for (std::uint32_t r = 0; r < 3000; r += 2) rows.push_back(r);
  const double clip = 0.7;
  std::vector<double> want(512, 0.0), magnitude(512, 0.0);  // the sum, and of |terms|
  auto weight = [](std::uint32_t k) { return 0.01f * static_cast<float>(k % 17) - 0.08f; };
  ClippedReference(data, rows, weight, clip, &want, &magnitude);
  const std::span<const std::uint32_t> step(rows);
  KeyIndex step_index(512), all_index(512), whole(512);
  step_index.Build(data, &step);
  all_index.Build(data, nullptr);
  whole.BuildAll();  // the whole key space: positions are the keys, not looked up
  ASSERT_TRUE(DpFixedKeys(all_index.keys().size(), data.nnz(), 0.5));
  for (const KeyIndex* index : {&step_index, &all_index, &whole}) {
    std::vector<float> w;
    for (ps::Key k : index->keys()) w.push_back(weight(static_cast<std::uint32_t>(k)));
    std::vector<float> g;
    ClippedGradient(data, rows, *index, w.data(), clip, &g);
    ASSERT_EQ(g.size(), index->keys().size());
    std::vector<double> got(512, 0.0);
    for (std::size_t i = 0; i < g.size(); ++i) got[index->keys()[i]] = g[i];
    // A key is in at most ~250 of the rows: float sums of them are within 250 * 2^-24 (1.5e-5)
    // of the sum of magnitudes; a clipping error would be of the order of the terms.
    for (std::uint32_t k = 0; k < 512; ++k) EXPECT_NEAR(got[k], want[k], 2e-5 * magnitude[k] + 1e-7) << k;
  }
  // The rows as SampleEpoch gathers them give the same sums, bit for bit.
  EpochSamples samples;
  samples.offsets = {0, rows.size()};
  samples.rows = rows;
  for (std::uint32_t r : rows) {
    samples.meta.push_back({data.keys(r).data(), data.values(r), static_cast<std::uint32_t>(data.keys(r).size()),
                            data.label(r)});
  }
  std::vector<float> w, g1, g2;
  for (ps::Key k : all_index.keys()) w.push_back(weight(static_cast<std::uint32_t>(k)));
  ClippedGradient(data, rows, all_index, w.data(), clip, &g1);
  ClippedGradient(samples.StepRows(0), all_index, w.data(), clip, &g2);
  EXPECT_EQ(g1, g2);
}

TEST(DpClipping, RowsGatheredAsPositionsGiveTheSameSumsAsRowsOfKeys) {
  // 300 rows of 1 to 80 keys < 65536: the index holds a few thousand keys, so most positions
  // differ from their keys. SampleEpoch with the index (positions, no lookup in the step)
  // gives the sums of SampleEpoch without it (keys looked up), bit for bit.
  const auto data = RandomRows(300, 65536, 99);
  KeyIndex index(65536);
  index.Build(data, nullptr);
  ASSERT_LT(index.keys().size(), 20000u);
  const privacy::PoissonSampler sampler(privacy::TestSamplingKey(5), 0.5);
  EpochSamples keys, positions;
  SampleEpoch(data, sampler, 0, 2, &keys);
  SampleEpoch(data, sampler, 0, 2, &positions, &index);
  ASSERT_TRUE(positions.positions);
  std::vector<float> w;
  for (ps::Key k : index.keys()) w.push_back(0.001f * static_cast<float>(k % 97) - 0.05f);
  for (std::uint32_t step = 0; step < 2; ++step) {
    ASSERT_GT(keys.Step(step).size(), 100u);
    std::vector<float> a, b;
    ClippedGradient(keys.StepRows(step), index, w.data(), 0.8, &a, nullptr, keys.positions);
    ClippedGradient(positions.StepRows(step), index, w.data(), 0.8, &b, nullptr, positions.positions);
    EXPECT_EQ(a, b) << step;
    EXPECT_NE(std::count(a.begin(), a.end(), 0.0f), static_cast<std::ptrdiff_t>(a.size()));
  }
}

TEST(DpClipping, SumsAreTheSameBitsWithOneThreadAndWithSeveral) {
  // 8000 rows of 1 to 80 keys < 4096 (about 320,000 terms): summed in key slices by several
  // threads and by one, each key's terms are added in row order either way.
  const auto data = RandomRows(8000, 4096, 777);
  ASSERT_GT(data.nnz(), 4u << 16) << "enough terms for several slices";
  std::vector<std::uint32_t> rows(8000);
  std::iota(rows.begin(), rows.end(), 0u);
  KeyIndex index(4096);
  index.Build(data, nullptr);
  auto weight = [](std::uint32_t k) { return 0.001f * static_cast<float>(k % 37) - 0.018f; };
  std::vector<float> w;
  for (ps::Key k : index.keys()) w.push_back(weight(static_cast<std::uint32_t>(k)));
  std::vector<float> one, several;
  tbb::task_arena(1).execute([&] { ClippedGradient(data, rows, index, w.data(), 0.5, &one); });
  tbb::task_arena(4).execute([&] { ClippedGradient(data, rows, index, w.data(), 0.5, &several); });
  ASSERT_EQ(one.size(), index.keys().size());
  EXPECT_EQ(one, several);
  // And right: a key is in at most ~250 rows (tolerance as above).
  std::vector<double> want(4096, 0.0), magnitude(4096, 0.0);
  ClippedReference(data, rows, weight, 0.5, &want, &magnitude);
  for (std::size_t i = 0; i < several.size(); ++i) {
    const auto k = static_cast<std::uint32_t>(index.keys()[i]);
    EXPECT_NEAR(several[i], want[k], 2e-5 * magnitude[k] + 1e-7) << k;
  }
}

TEST(DpSampling, EpochSamplesGatherEachMembersKeysValuesAndLabel) {
  auto b = std::make_shared<worker::RowBlock>();
  for (std::uint32_t r = 0; r < 500; ++r) {
    for (std::uint32_t j = 0; j <= r % 5; ++j) {
      b->keys.push_back(r + j);
      b->values.push_back(static_cast<float>(j) + 0.5f);
    }
    b->row_ptr.push_back(b->keys.size());
    b->labels.push_back(static_cast<float>(r % 2));
    b->ids.push_back(1000 + r);
  }
  b->all_ones = false;
  const auto data = worker::SparseData::FromBlocks({b}, true);
  const privacy::PoissonSampler sampler(privacy::TestSamplingKey(3), 0.1);
  const EpochSamples s = SampleEpoch(data, sampler, 0, 10);
  ASSERT_EQ(s.meta.size(), s.rows.size());
  ASSERT_GT(s.rows.size(), 0u);
  for (std::uint32_t step = 0; step < 10; ++step) {
    const auto rows = s.Step(step);
    const auto meta = s.StepRows(step);
    ASSERT_EQ(rows.size(), meta.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto ks = data.keys(rows[i]);
      ASSERT_EQ(meta[i].size, ks.size());
      EXPECT_TRUE(std::equal(ks.begin(), ks.end(), meta[i].keys));
      EXPECT_TRUE(std::equal(data.values(rows[i]), data.values(rows[i]) + ks.size(), meta[i].values));
      EXPECT_EQ(meta[i].label, data.label(rows[i]));
      // Copies laid out step by step in row order: each row's keys follow the last one's.
      if (i > 0) {
        EXPECT_EQ(meta[i].keys, meta[i - 1].keys + meta[i - 1].size);
      }
    }
  }
  EXPECT_FALSE(s.positions);
  // With an index, the copies hold positions in it.
  KeyIndex index(600);
  index.Build(data, nullptr);
  EpochSamples p;
  SampleEpoch(data, sampler, 0, 10, &p, &index);
  EXPECT_TRUE(p.positions);
  ASSERT_EQ(p.rows, s.rows);
  for (std::size_t i = 0; i < p.rows.size(); ++i) {
    const auto ks = data.keys(p.rows[i]);
    for (std::size_t k = 0; k < ks.size(); ++k) EXPECT_EQ(p.meta[i].keys[k], index.Position(ks[k]));
  }
  // Sampled into the buffers of earlier epochs (a worker keeps one EpochSamples), later epochs
  // give what fresh ones give: no row of an earlier epoch is left over or lost.
  EpochSamples kept;
  for (std::uint32_t epoch = 0; epoch < 4; ++epoch) {
    SampleEpoch(data, sampler, epoch, 10, &kept);
    const EpochSamples fresh = SampleEpoch(data, sampler, epoch, 10);
    EXPECT_EQ(kept.offsets, fresh.offsets) << epoch;
    EXPECT_EQ(kept.rows, fresh.rows) << epoch;
    ASSERT_EQ(kept.meta.size(), fresh.meta.size());
    for (std::size_t i = 0; i < kept.meta.size(); ++i) {
      ASSERT_EQ(kept.meta[i].size, fresh.meta[i].size);
      EXPECT_TRUE(std::equal(kept.meta[i].keys, kept.meta[i].keys + kept.meta[i].size, fresh.meta[i].keys));
      EXPECT_EQ(kept.meta[i].label, fresh.meta[i].label);
    }
  }
  EXPECT_NE(SampleEpoch(data, sampler, 1, 10).rows, s.rows);  // epochs draw different samples
}

// ---- Server noise --------------------------------------------------------------------------

TEST(DpNoise, EveryKeyGetsNoiseOfSdSigmaTimesClipAndNothingPastTheSteps) {
  // SGD with learning rate 1 and no pushes: each weight becomes -noise, N(0, (σC)²) with
  // σC = 2. Over n = 8192 keys the sample sd has sd 2/sqrt(2n) = 0.0156 (5 sd: 0.078) and
  // the mean has sd 2/sqrt(n) = 0.0221 (5 sd: 0.11).
  UpdateOptions u;
  u.algorithm = Algorithm::kSgd;
  u.learning_rate = 1;
  MiniBatchFinalizer fin(u);
  DpServerParams p;
  p.stddev = 2;
  p.steps = 1;
  p.has_seed = true;
  p.seed = 9;
  ASSERT_TRUE(fin.EnableDp(p, 0).ok());
  constexpr std::size_t kN = 8192;
  std::vector<float> values(kN, 0.0f);
  const std::vector<float> aggregate(kN, 0.0f);
  ps::FinalizeContext ctx;
  ctx.range = {0, kN};
  ctx.width = 1;
  fin.Finalize(ctx, aggregate, values);
  double mean = 0, var = 0;
  std::size_t zero = 0;
  for (float v : values) {
    mean += v;
    zero += v == 0.0f;
  }
  mean /= kN;
  for (float v : values) var += (v - mean) * (v - mean);
  const double sd = std::sqrt(var / (kN - 1));
  EXPECT_NEAR(sd, 2.0, 5 * 0.0156);
  EXPECT_NEAR(mean, 0.0, 5 * 0.0221);
  // Keys nobody pushed are noised too: a weight is exactly 0 only when the noise rounds to 0
  // on the grid 2^-12 (P ~ 2^-12 / (2 sqrt(2 pi)) = 4.9e-5; expected 0.40 of 8192, Poisson
  // sd 0.63: 5 sd above is 3.6).
  EXPECT_LE(zero, 3u);
  const std::vector<float> before = values;
  ctx.clock = 1;  // past the plan's steps: not applied
  fin.Finalize(ctx, aggregate, values);
  EXPECT_EQ(values, before);
}

TEST(DpNoise, ChunksCoverEveryKeyOnceAndTheNoiseIgnoresTheThreadCount) {
  // 64 slices of 4096-value chunks over 300,001 keys: `then` sees each key exactly once,
  // after its noise, and one thread gives the same values as all of them.
  DpServerParams p;
  p.has_seed = true;
  p.seed = 4;
  constexpr std::size_t kN = 300001;
  auto run = [&](int threads, std::vector<int>* seen) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
    auto noise = DpNoise::Make(p, 1);
    EXPECT_TRUE(noise.ok());
    std::vector<float> v(kN, 1.0f);
    std::atomic<std::size_t> unchanged{0};
    noise->AddTo(v, 0.5, [&](std::size_t lo, std::size_t hi) {
      EXPECT_LE(hi - lo, DpNoise::kChunk);
      for (std::size_t i = lo; i < hi; ++i) {
        if (seen) ++(*seen)[i];
        if (v[i] == 1.0f) ++unchanged;
      }
    });
    // Noised before `then`: a value stays 1 only when its noise rounds to 0 on the grid 2^-13,
    // P = 2^-13 / (0.5 sqrt(2 pi)) = 9.7e-5, expected 29 of 300,001 (Poisson sd 5.4; 5 sd: 56).
    EXPECT_LE(unchanged.load(), 56u);
    return v;
  };
  std::vector<int> seen(kN, 0);
  const std::vector<float> all = run(16, &seen);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), static_cast<std::ptrdiff_t>(kN));
  EXPECT_EQ(run(1, nullptr), all);
}

TEST(DpNoise, ChunksCopiedFromASourceGetTheSameNoiseAsValuesCopiedFirst) {
  // AddTo(values, ..., from) copies each chunk from `from` before its noise: the same values
  // as copying all of `from` first and noising it (the same seed), and `from` is not changed.
  DpServerParams p;
  p.has_seed = true;
  p.seed = 9;
  constexpr std::size_t kN = 70001;
  std::vector<float> from(kN);
  for (std::size_t i = 0; i < kN; ++i) from[i] = static_cast<float>(i % 101) - 50.0f;
  const std::vector<float> kept = from;
  auto a = DpNoise::Make(p, 2), b = DpNoise::Make(p, 2);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<float> copied = from, fused(kN, -7.0f);
  a->AddTo(copied, 2.0);
  b->AddTo(fused, 2.0, {}, from.data());
  EXPECT_EQ(fused, copied);
  EXPECT_EQ(from, kept);
  EXPECT_NE(copied, from);  // noised
}

TEST(DpNoise, NormalsDrawnAheadGiveTheSameValuesAndSd) {
  // DrawAhead draws the same normals (each slice's stream in the same chunks) as AddTo draws at
  // the clock: two streams from one seed, one drawing ahead for each of three clocks, one not,
  // give the same values bit for bit. Over n = 100,000 keys the noise's sample sd (σC = 3) has
  // sd 3/sqrt(2n) = 0.0067 (5 sd: 0.034), its mean 3/sqrt(n) = 0.0095 (5 sd: 0.047).
  DpServerParams p;
  p.has_seed = true;
  p.seed = 11;
  constexpr std::size_t kN = 100000;
  auto ahead = DpNoise::Make(p, 0), now = DpNoise::Make(p, 0);
  ASSERT_TRUE(ahead.ok() && now.ok());
  for (int clock = 0; clock < 3; ++clock) {
    std::vector<float> a(kN, 0.0f), b(kN, 0.0f);
    ahead->DrawAhead(kN);
    ahead->WaitAhead();
    ahead->AddTo(a, 3.0);
    now->AddTo(b, 3.0);
    ASSERT_EQ(a, b) << "clock " << clock;
    double mean = 0, var = 0;
    for (float v : a) mean += v;
    mean /= kN;
    for (float v : a) var += (v - mean) * (v - mean);
    EXPECT_NEAR(std::sqrt(var / (kN - 1)), 3.0, 5 * 0.0067);
    EXPECT_NEAR(mean, 0.0, 5 * 0.0095);
  }
  // Normals drawn for another size are not used: the clock draws its own, after them (as a
  // stream that noised that size first).
  p.seed = 12;
  auto other = DpNoise::Make(p, 0), ref = DpNoise::Make(p, 0);
  ASSERT_TRUE(other.ok() && ref.ok());
  std::vector<float> a(kN, 0.0f), b(kN, 0.0f), half(kN / 2, 0.0f);
  other->DrawAhead(kN / 2);
  other->AddTo(a, 3.0);
  ref->AddTo(half, 3.0);
  ref->AddTo(b, 3.0);
  EXPECT_EQ(a, b);
}

// ---- Plan ------------------------------------------------------------------------------------

TEST(DpPlan, DefaultSampleRateIsTheDpDefaultUnlessABatchOrRateIsGiven) {
  DpOptions o;
  o.epsilon = 1;
  EXPECT_DOUBLE_EQ(DpDefaultSampleRate(o, 2000000, 0), kDpSampleRate);
  EXPECT_DOUBLE_EQ(DpDefaultSampleRate(o, 3000, 0), kDpSampleRate);  // does not depend on n
  EXPECT_DOUBLE_EQ(DpDefaultSampleRate(o, 3000, 100), 100.0 / 3000);  // --batch-size given
  EXPECT_DOUBLE_EQ(DpDefaultSampleRate(o, 50, 100), 1.0);
  o.sample_rate = 0.1;
  EXPECT_DOUBLE_EQ(DpDefaultSampleRate(o, 3000, 100), 0.1);  // --dp-sample-rate wins
  o.sample_rate = 0;
  auto plan = ResolveDp(o, 2000000, 0, 3);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->steps_per_epoch, 50u);
  EXPECT_EQ(plan->steps, 150u);
  EXPECT_DOUBLE_EQ(plan->expected_batch, 40000.0);
}

TEST(DpPlan, EpsilonGivesTheAccountantsNoiseAndRefusalsSuggest) {
  DpOptions o;
  o.epsilon = 1;
  o.delta = 1e-5;
  auto plan = ResolveDp(o, 20000, 100, 3);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->steps_per_epoch, 200u);
  EXPECT_EQ(plan->steps, 600u);
  EXPECT_DOUBLE_EQ(plan->sample_rate, 0.005);
  auto sigma = privacy::FindNoiseMultiplier({1, 1e-5, 0.005, 600});
  ASSERT_TRUE(sigma.ok());
  EXPECT_DOUBLE_EQ(plan->noise_multiplier, *sigma);
  EXPECT_LE(plan->epsilon, 1.0);
  EXPECT_DOUBLE_EQ(plan->expected_batch, 100.0);

  o.epsilon = 0.05;  // below what the conversion alone costs at δ = 1e-5
  auto refused = ResolveDp(o, 20000, 100, 3);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("smallest epsilon these settings reach"), std::string::npos)
      << refused.status().message();

  // q = 1 for 2^20 epochs needs σ above the cap for ε = 0.3 (at σ = 1e4 the RDP is
  // α·2^20/(2·10^8), ε about 0.5); fewer epochs meet it.
  o.epsilon = 0.3;
  o.sample_rate = 1;
  refused = ResolveDp(o, 1000, 100, 1 << 20);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--epochs "), std::string::npos) << refused.status().message();

  DpOptions both;
  both.epsilon = 1;
  both.noise_multiplier = 1;
  EXPECT_FALSE(both.Validate().ok());
  DpOptions none;
  EXPECT_FALSE(none.Validate(true).ok());
  EXPECT_TRUE(none.Validate(false).ok());
}

}  // namespace
}  // namespace ecps

namespace ecps {
namespace {

TEST(KeyIndexAll, EveryKeyIsItsOwnPosition) {
  for (std::uint64_t n : {1u, 63u, 64u, 65u, 1000u}) {
    models::lr::KeyIndex index(n);
    index.BuildAll();
    ASSERT_EQ(index.keys().size(), n);
    for (std::uint64_t k = 0; k < n; ++k) {
      EXPECT_EQ(index.keys()[k], k);
      EXPECT_EQ(index.Position(static_cast<std::uint32_t>(k)), k) << n;
    }
    EXPECT_TRUE(index.all());
  }
  // Built over rows afterwards, the index is no longer the identity.
  auto b = std::make_shared<worker::RowBlock>();
  b->keys = {5, 9};
  b->row_ptr = {0, 2};
  b->labels = {1};
  b->ids = {0};
  const auto data = worker::SparseData::FromBlocks({b}, false);
  models::lr::KeyIndex index(16);
  index.BuildAll();
  index.Build(data, nullptr);
  EXPECT_FALSE(index.all());
  EXPECT_EQ(index.keys(), (std::vector<ps::Key>{5, 9}));
  EXPECT_EQ(index.Position(9), 1u);
}

}  // namespace
}  // namespace ecps
