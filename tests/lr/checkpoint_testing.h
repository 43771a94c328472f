// What the lr checkpoint tests share: synthetic CTR data on which a run takes ~200 clocks
// (2 epochs of 100 mini-batches), the train command, and the comparison of two runs' outputs.
// A killed run checkpoints every 2 clocks: the scheduler writes them one after another and
// workers wait at the next checkpoint until it has the previous one, so a kill at checkpoint
// 20 lands well before the end.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "models/lr/synthetic.h"
#include "tests/kmeans/checkpoint_testing.h"  // KillAtCheckpoint
#include "tests/lr/lr_test_util.h"

namespace ecps::lrtest {

/// train.svm (`rows` rows, default 50000) and test.svm (rows / 5) in `dir`: `fields` fields of
/// up to `max_cardinality` values.
inline void WriteCtr(const testing::TempDir& dir, std::uint64_t rows = 50000, int fields = 12,
                     std::uint64_t max_cardinality = 5000) {
  models::lr::SyntheticCtrOptions g;
  g.rows = rows;
  g.fields = fields;
  g.max_cardinality = max_cardinality;
  ASSERT_TRUE(models::lr::WriteSyntheticCtr(g, dir / "train.svm").ok());
  g.skip = g.rows;
  g.rows = rows / 5;
  ASSERT_TRUE(models::lr::WriteSyntheticCtr(g, dir / "test.svm").ok());
}

/// The train command (without --out, cluster or checkpoint options); `extra` adds options.
inline std::string Train(const testing::TempDir& dir, const std::string& extra = "") {
  return fmt::format(
      "train lr --train {} --test {} --hash-bits 16 --epochs 2 --batch-size 500 --quiet {}",
      dir / "train.svm", dir / "test.svm", extra);
}

/// metrics.jsonl without its timings, one object per line.
inline std::string JsonlWithoutTimes(const std::string& path) {
  std::string out, line;
  std::istringstream in(testing::ReadText(path));
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    for (const char* k : {"seconds", "examples_per_s", "nnz_per_s_per_worker", "worker_seconds"}) {
      j.erase(k);
    }
    out += j.dump() + "\n";
  }
  return out;
}

/// The outputs that must be the same bytes: model.bin, weights.csv, weights.json,
/// metrics.jsonl without timings, and metrics.json's model figures.
inline void ExpectSameModel(const std::string& expected, const std::string& actual) {
  for (const char* f : {"model.bin", "weights.csv", "weights.json"}) {
    const std::string e = testing::ReadText(expected + "/" + f);
    EXPECT_FALSE(e.empty()) << f;
    EXPECT_TRUE(e == testing::ReadText(actual + "/" + f)) << f << " differs";
  }
  EXPECT_EQ(JsonlWithoutTimes(expected + "/metrics.jsonl"),
            JsonlWithoutTimes(actual + "/metrics.jsonl"));
  const auto e = nlohmann::json::parse(testing::ReadText(expected + "/metrics.json"));
  const auto a = nlohmann::json::parse(testing::ReadText(actual + "/metrics.json"));
  for (const char* key : {"auc", "logloss", "accuracy", "train_logloss", "train_rows", "eval_rows",
                          "nonzero_weights", "batches_per_epoch", "best_f1"}) {
    EXPECT_EQ(e[key], a[key]) << key;
  }
}

}  // namespace ecps::lrtest
