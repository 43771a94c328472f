// Unit tests of the lr pieces: the gradient against finite differences, FTRL sparsity and
// the per-clock update, AUC and the other metrics on a hand-computed case with ties, the
// model file round trip and its refusals.
#include <cmath>
#include <filesystem>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "models/common/model_file.h"
#include "models/lr/lr_eval.h"
#include "models/lr/lr_kernels.h"
#include "models/lr/lr_model.h"
#include "models/lr/lr_update.h"
#include "tests/lr/lr_test_util.h"

namespace ecps {
namespace {

using namespace models::lr;
using testing::TempDir;
using testing::WriteText;

worker::SparseData Load(const std::string& path, const worker::ExampleParser& p) {
  auto d = worker::LoadRows({{sched::FileRange{path, 0, UINT64_MAX}, 0}}, p, {}, nullptr);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return std::move(d).value();
}

// sum_i logloss(sigmoid(w . x_i), y_i) in double, w indexed by key.
double TotalLoss(const worker::SparseData& d, const std::vector<double>& w) {
  double l = 0;
  for (std::size_t r = 0; r < d.rows(); ++r) {
    double m = 0;
    const auto ks = d.keys(r);
    for (std::size_t i = 0; i < ks.size(); ++i) m += w[ks[i]] * (d.values(r) ? d.values(r)[i] : 1.0);
    const double p = 1 / (1 + std::exp(-m));
    l += LogLoss(p, d.label(r));
  }
  return l;
}

TEST(LrKernels, GradientMatchesFiniteDifferences) {
  TempDir dir("grad");
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> idx(0, 40), len(1, 6), lab(0, 1);
  std::uniform_real_distribution<double> val(-2, 2);
  std::string text;
  for (int r = 0; r < 3000; ++r) {  // > 1024 rows: the parallel path with several chunks
    text += std::to_string(lab(rng));
    for (int j = len(rng); j > 0; --j) text += " " + std::to_string(idx(rng)) + ":" + std::to_string(val(rng));
    text += "\n";
  }
  WriteText(dir / "g.svm", text);
  worker::ParserOptions o;
  o.hash_bits = 8;
  auto parser = *worker::ExampleParser::Make(o);
  auto data = Load(dir / "g.svm", parser);
  const BatchedRows batches = GroupByBatch(data, parser.num_keys(), 1, 1);  // one batch of every row
  const auto keys = batches.Keys(0);
  std::vector<float> w(keys.size());
  std::vector<double> wd(parser.num_keys(), 0.0);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    w[i] = static_cast<float>(val(rng) * 0.3);
    wd[keys[i]] = w[i];
  }
  GradientKernel kernel(3);
  std::vector<float> grads;
  const double loss = kernel.Gradient(batches, 0, w.data(), 1.0f, &grads);
  EXPECT_NEAR(loss, TotalLoss(data, wd), 1e-3 * loss);
  ASSERT_EQ(grads.size(), keys.size());
  const double h = 1e-4;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::vector<double> plus = wd, minus = wd;
    plus[keys[i]] += h;
    minus[keys[i]] -= h;
    const double numeric = (TotalLoss(data, plus) - TotalLoss(data, minus)) / (2 * h);
    EXPECT_NEAR(grads[i], numeric, 2e-3 * std::max(1.0, std::fabs(numeric))) << "key " << keys[i];
  }
  // scale multiplies, and the result does not depend on the number of chunks.
  GradientKernel one(1);
  std::vector<float> half;
  one.Gradient(batches, 0, w.data(), 0.5f, &half);
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_NEAR(half[i], 0.5f * grads[i], 1e-3f * std::fabs(grads[i]) + 1e-4f);
}

TEST(LrKernels, GroupByBatchKeepsEveryRowOnceWithItsKeys) {
  TempDir dir("group");
  std::string text;
  for (int r = 0; r < 500; ++r) {
    text += std::to_string(r % 2);
    for (int j = 0; j < 1 + r % 5; ++j) text += " " + std::to_string((r * 31 + j * 7) % 97) + ":" + std::to_string(j + 1);
    text += "\n";
  }
  WriteText(dir / "g.svm", text);
  worker::ParserOptions o;
  o.hash_bits = 12;
  auto parser = *worker::ExampleParser::Make(o);
  auto data = Load(dir / "g.svm", parser);
  const BatchedRows b = GroupByBatch(data, parser.num_keys(), 7, 6);
  ASSERT_EQ(b.labels.size(), data.rows());
  EXPECT_EQ(b.nnz(), data.nnz());
  // Rebuild each row (sorted keys, values) from its batch and match it to the original rows.
  std::multiset<std::vector<std::pair<std::uint32_t, float>>> original, rebuilt;
  std::vector<int> per_batch(6, 0);
  for (std::size_t r = 0; r < data.rows(); ++r) {
    std::vector<std::pair<std::uint32_t, float>> row;
    for (std::size_t j = 0; j < data.keys(r).size(); ++j) row.emplace_back(data.keys(r)[j], data.values(r)[j]);
    std::sort(row.begin(), row.end());
    row.emplace_back(0xffffffffu, data.label(r));
    original.insert(row);
    ++per_batch[BatchOf(data.id(r), 7, 0, 6)];
  }
  for (std::uint32_t batch = 0; batch < 6; ++batch) {
    EXPECT_EQ(b.Rows(batch), static_cast<std::uint64_t>(per_batch[batch]));
    const auto keys = b.Keys(batch);
    EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
    for (std::uint64_t r = b.batch_rows[batch]; r < b.batch_rows[batch + 1]; ++r) {
      std::vector<std::pair<std::uint32_t, float>> row;
      for (std::uint64_t i = b.row_ptr[r]; i < b.row_ptr[r + 1]; ++i) {
        ASSERT_LT(b.pos[i], keys.size());
        row.emplace_back(keys[b.pos[i]], b.values[i]);
      }
      std::sort(row.begin(), row.end());
      row.emplace_back(0xffffffffu, b.labels[r]);
      rebuilt.insert(row);
    }
  }
  EXPECT_EQ(rebuilt, original);
  // Epoch orders are permutations, different per epoch, the same for every caller.
  auto e0 = EpochBatchOrder(50, 3, 0), e1 = EpochBatchOrder(50, 3, 1);
  EXPECT_NE(e0, e1);
  EXPECT_EQ(e0, EpochBatchOrder(50, 3, 0));
  std::sort(e0.begin(), e0.end());
  for (std::uint32_t i = 0; i < 50; ++i) EXPECT_EQ(e0[i], i);
}

TEST(LrKernels, BatchesDependOnlyOnExampleIdsAndCoverEveryRow) {
  std::vector<int> count(10, 0);
  for (std::uint64_t id = 0; id < 100000; id += 37) ++count[BatchOf(id, 1, 0, 10)];
  for (int c : count) EXPECT_NEAR(c, 100000 / 37 / 10, 100);
  EXPECT_EQ(BatchOf(12345, 1, 2, 10), BatchOf(12345, 1, 2, 10));
  int moved = 0;
  for (std::uint64_t id = 0; id < 1000; ++id) moved += BatchOf(id, 1, 0, 10) != BatchOf(id, 1, 1, 10);
  EXPECT_GT(moved, 800) << "each epoch reshuffles the batches";
  int held = 0;
  for (std::uint64_t id = 0; id < 100000; ++id) held += HeldOut(id, 3, 0.2);
  EXPECT_NEAR(held, 20000, 600);
}

// Applies one clock: pushes (each a sorted key list with gradients) summed, then finalized.
void RunClock(MiniBatchFinalizer& f, std::vector<float>& values, std::vector<float>& agg,
              const std::vector<std::pair<std::vector<ps::Key>, std::vector<float>>>& pushes, ps::Clock clock) {
  std::fill(agg.begin(), agg.end(), 0.0f);
  for (const auto& [keys, g] : pushes) {
    ps::RowSpan<float> rows{agg.data(), nullptr, 1, 0, 0, keys.data(), 0, keys.size()};
    f.Accumulate(rows, g.data());
  }
  ps::FinalizeContext ctx;
  ctx.clock = clock;
  ctx.range = {0, values.size()};
  ctx.width = 1;
  f.Finalize(ctx, agg, values);
}

TEST(LrUpdate, FtrlWithL1GivesExactZerosAndMatchesTheClosedForm) {
  UpdateOptions o;
  o.alpha = 0.5;
  o.beta = 1;
  o.l1 = 1.0;
  MiniBatchFinalizer f(o);
  std::vector<float> values(8, 0.0f), agg(8, 0.0f);
  // Keys 0..3 get small gradients (|sum| below l1), 4..7 large ones, for 5 clocks.
  double z[8] = {0}, n[8] = {0};
  for (int c = 0; c < 5; ++c) {
    std::vector<float> g = {0.1f, -0.1f, 0.15f, -0.05f, 2.0f, -3.0f, 1.5f, -2.5f};
    RunClock(f, values, agg, {{{0, 1, 2, 3, 4, 5, 6, 7}, g}}, c);
    for (int k = 0; k < 8; ++k) {  // the textbook FTRL-Proximal recursion, in double
      const double w = FtrlRule<double>::Weight(z[k], n[k], {o.alpha, o.beta, o.l1, o.l2});
      const double sigma = (std::sqrt(n[k] + g[k] * g[k]) - std::sqrt(n[k])) / o.alpha;
      z[k] += g[k] - sigma * w;
      n[k] += g[k] * g[k];
    }
  }
  for (int k = 0; k < 4; ++k) EXPECT_EQ(values[k], 0.0f) << "key " << k << " must be exactly zero";
  for (int k = 4; k < 8; ++k) {
    EXPECT_NE(values[k], 0.0f);
    EXPECT_NEAR(values[k], FtrlRule<double>::Weight(z[k], n[k], {o.alpha, o.beta, o.l1, o.l2}), 1e-5);
  }
  // Without L1 the same gradients give no zeros.
  UpdateOptions dense = o;
  dense.l1 = 0;
  MiniBatchFinalizer g(dense);
  std::vector<float> v2(8, 0.0f);
  RunClock(g, v2, agg, {{{0, 1, 2, 3, 4, 5, 6, 7}, {0.1f, -0.1f, 0.15f, -0.05f, 2.0f, -3.0f, 1.5f, -2.5f}}}, 0);
  for (float v : v2) EXPECT_NE(v, 0.0f);
}

TEST(LrUpdate, OneStepOnTheSumWhateverTheNumberOfPushes) {
  for (Algorithm a : {Algorithm::kSgd, Algorithm::kAdaGrad, Algorithm::kFtrl}) {
    UpdateOptions o;
    o.algorithm = a;
    o.l1 = 0;
    o.l2 = 0.1;
    MiniBatchFinalizer one(o), two(o);
    std::vector<float> v1(6, 0.0f), v2(6, 0.0f), agg(6);
    for (int c = 0; c < 4; ++c) {
      // One worker pushes the whole batch; or two workers push overlapping parts of it.
      RunClock(one, v1, agg, {{{0, 2, 3, 5}, {1.0f, -0.5f, 0.75f, 0.25f}}}, c);
      RunClock(two, v2, agg, {{{0, 2, 5}, {0.5f, -0.5f, 0.25f}}, {{0, 3}, {0.5f, 0.75f}}}, c);
    }
    for (int k = 0; k < 6; ++k) EXPECT_FLOAT_EQ(v1[k], v2[k]) << AlgorithmName(a) << " key " << k;
    EXPECT_EQ(v1[1], 0.0f) << "untouched keys stay put";
    EXPECT_NE(v1[0], 0.0f);
  }
}

TEST(LrEval, AucWithTiesAndThresholdMetricsByHand) {
  // Scores 0.1 (neg), 0.4 (neg), 0.4 (pos), 0.8 (pos). Positive-negative pairs:
  // 0.4p>0.1n: 1, 0.4p=0.4n: 1/2, 0.8p beats both: 2  => AUC = 3.5 / 4.
  const std::vector<float> p = {0.1f, 0.4f, 0.4f, 0.8f}, y = {0, 0, 1, 1};
  BinaryEval e = BinaryEval::From(p, y, 0.4);
  auto j = e.ToJson(0.4);
  EXPECT_DOUBLE_EQ(j["auc"].get<double>(), 0.875);
  const double ll = -(std::log(0.9) + std::log(0.6) + std::log(0.4) + std::log(0.8)) / 4;
  EXPECT_NEAR(j["logloss"].get<double>(), ll, 1e-6);
  // At threshold 0.4: predicted positive = 0.4, 0.4, 0.8 -> tp 2, fp 1, tn 1, fn 0.
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(j["precision"].get<double>(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(j["recall"].get<double>(), 1.0);
  EXPECT_NEAR(j["f1"].get<double>(), 0.8, 1e-12);
  EXPECT_NEAR(j["predicted_positive_rate"].get<double>(), (0.1 + 0.4 + 0.4 + 0.8) / 4, 1e-6);
  EXPECT_DOUBLE_EQ(j["observed_positive_rate"].get<double>(), 0.5);
  // Merged from parts held by different workers (the tie split across them): the same.
  BinaryEval a = BinaryEval::From(std::vector<float>{0.1f, 0.4f}, std::vector<float>{0, 1}, 0.4);
  BinaryEval b = BinaryEval::From(std::vector<float>{0.4f, 0.8f}, std::vector<float>{0, 1}, 0.4);
  a.Merge(b);
  EXPECT_EQ(a.ToJson(0.4), j);
  // Undefined ratios are null, not NaN.
  auto none = BinaryEval::From(std::vector<float>{0.2f}, std::vector<float>{0}, 0.5).ToJson(0.5);
  EXPECT_TRUE(none["auc"].is_null());
  EXPECT_TRUE(none["precision"].is_null());
}

LrModel SampleModel() {
  LrModel m;
  m.algorithm = "ftrl";
  m.hash_bits = 10;
  m.num_keys = 1025;
  m.keys = {3, 17, 1024};
  m.weights = {0.5f, -1.25f, 0.125f};
  return m;
}

TEST(LrModelFile, RoundTrip) {
  TempDir dir("model");
  const LrModel m = SampleModel();
  ASSERT_TRUE(SaveLrModel(dir / "model.bin", m).ok());
  auto back = LoadLrModel(dir / "model.bin");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->keys, m.keys);
  EXPECT_EQ(back->weights, m.weights);
  EXPECT_EQ(back->hash_bits, 10);
  EXPECT_EQ(back->DenseWeights()[17], -1.25f);
}

TEST(LrModelFile, RefusesCorruptTruncatedAndForeignFiles) {
  TempDir dir("corrupt");
  const std::string f = dir / "model.bin";
  ASSERT_TRUE(SaveLrModel(f, SampleModel()).ok());
  std::string bytes = testing::ReadText(f);
  std::string flipped = bytes;
  flipped[flipped.size() - 5] ^= 0x40;
  WriteText(f, flipped);
  EXPECT_NE(LoadLrModel(f).status().message().find("checksum mismatch"), std::string::npos)
      << LoadLrModel(f).status().message();
  WriteText(f, bytes.substr(0, bytes.size() - 7));
  EXPECT_NE(LoadLrModel(f).status().message().find("truncated"), std::string::npos) << LoadLrModel(f).status().message();
  WriteText(f, bytes.substr(0, 5));
  EXPECT_NE(LoadLrModel(f).status().message().find("not an ecps model file"), std::string::npos);
  ASSERT_TRUE(models::SaveModel(f, "lr", LrModel::kVersion + 1, SampleModel()).ok());
  EXPECT_NE(LoadLrModel(f).status().message().find("model format version 3, but this ecps reads version 2"),
            std::string::npos)
      << LoadLrModel(f).status().message();
  ASSERT_TRUE(models::SaveModel(f, "kmeans", 1, SampleModel()).ok());
  EXPECT_NE(LoadLrModel(f).status().message().find("this is a kmeans model; expected a lr model"), std::string::npos);
  WriteText(f, "label 1:1\n");
  EXPECT_NE(LoadLrModel(f).status().message().find("not an ecps model file"), std::string::npos)
      << LoadLrModel(f).status().message();
  // A well-formed file whose contents do not fit together.
  LrModel bad = SampleModel();
  bad.keys.push_back(5000);
  bad.weights.push_back(1);
  ASSERT_TRUE(SaveLrModel(f, bad).ok());
  EXPECT_NE(LoadLrModel(f).status().message().find("inconsistent"), std::string::npos);
}

TEST(LrModelFile, FeatureNamesFromFeatindexAndExport) {
  TempDir dir("names");
  WriteText(dir / "featindex.txt", "weekday:3\t2\nhour:11\t17\n");
  worker::ParserOptions o;
  o.hash_bits = 10;
  auto parser = *worker::ExampleParser::Make(o);
  FeatureNames names;
  ASSERT_TRUE(AddFeatindexNames(dir / "featindex.txt", parser, &names).ok());
  EXPECT_EQ(names.Get(parser.IndexKey(17)), "hour:11");
  WriteText(dir / "bad.txt", "weekday:3\t2\nno-tab-here\n");
  EXPECT_EQ(AddFeatindexNames(dir / "bad.txt", parser, &names).message(),
            dir / "bad.txt" + ":2: expected \"name<TAB>index\"");
  LrModel m = SampleModel();
  m.keys = {parser.IndexKey(2), 1024};
  std::sort(m.keys.begin(), m.keys.end());
  m.weights = {0.25f, -2.0f};
  names.Add(1024, "(bias)");
  ASSERT_TRUE(ExportWeights(m, names, dir.path().string(), true, true).ok());
  const std::string csv = testing::ReadText(dir / "weights.csv");
  EXPECT_NE(csv.find("(bias),1024,-2\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("weekday:3,"), std::string::npos) << csv;
  EXPECT_LT(csv.find("(bias)"), csv.find("weekday:3")) << "sorted by |weight|";
  const auto json = nlohmann::json::parse(testing::ReadText(dir / "weights.json"));
  EXPECT_EQ(json["weights"][1]["feature"], "weekday:3") << json.dump();
  EXPECT_EQ(json["nonzero_weights"], 2);
}

}  // namespace
}  // namespace ecps
