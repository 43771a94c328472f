// lr_gen_ctr: writes a seeded synthetic click-through data set (libsvm) for the lr benchmark.
//   lr_gen_ctr --rows 2000000 --test-rows 500000 --out-train train.svm --out-test test.svm
// The test rows come from the same hidden model (rows after the training ones).
#include <cstdio>

#include <CLI/CLI.hpp>

#include "models/lr/synthetic.h"

int main(int argc, char** argv) {
  ecps::models::lr::SyntheticCtrOptions o;
  std::uint64_t test_rows = 0;
  std::string train_path, test_path;
  CLI::App app{"Seeded synthetic CTR data (libsvm) for the lr benchmark"};
  app.add_option("--rows", o.rows, "Training rows")->capture_default_str();
  app.add_option("--test-rows", test_rows, "Test rows (same hidden model)")->capture_default_str();
  app.add_option("--fields", o.fields, "Categorical fields per row")->capture_default_str();
  app.add_option("--max-cardinality", o.max_cardinality, "Largest field cardinality")->capture_default_str();
  app.add_option("--zipf", o.zipf, "Zipf exponent of field values")->capture_default_str();
  app.add_option("--weight-sd", o.weight_sd, "Scale of the hidden weights")->capture_default_str();
  app.add_option("--base-rate", o.base_rate, "Approximate positive rate")->capture_default_str();
  app.add_option("--seed", o.seed, "Seed")->capture_default_str();
  app.add_option("--out-train", train_path, "Training file")->required();
  app.add_option("--out-test", test_path, "Test file (with --test-rows)");
  CLI11_PARSE(app, argc, argv);
  ecps::Status s = ecps::models::lr::WriteSyntheticCtr(o, train_path);
  if (s.ok() && test_rows > 0 && !test_path.empty()) {
    o.skip = o.rows;
    o.rows = test_rows;
    s = ecps::models::lr::WriteSyntheticCtr(o, test_path);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "lr_gen_ctr: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
