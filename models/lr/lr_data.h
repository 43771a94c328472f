// Data set-up shared by the logistic and linear regression jobs: the parser for the
// training files, and a worker's shard of training and evaluation rows.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "privacy/sealed.h"
#include "ps/status.h"
#include "scheduler/shard_plan.h"
#include "worker/example_parser.h"
#include "worker/sparse_data.h"

namespace ecps::models::lr {

/// Options shared by lr and linreg: the data and how rows become features.
struct DataOptions {
  /// Training files (each worker reads its byte range of each).
  std::vector<std::string> train;
  /// Test file; when empty, a seeded `holdout` fraction of the training rows is held out.
  std::string test;
  double holdout = 0.2;
  worker::ParserOptions parser;
  bool skip_bad_rows = false;
  /// Output folder.
  std::string out;
  /// --encrypt-key: model.bin is sealed (privacy/sealed.h); null = plain.
  std::shared_ptr<const privacy::EncryptionKey> encrypt;
};

/// The parser for `options` (for csv: columns resolved from the first training file).
Result<worker::ExampleParser> MakeTrainingParser(const worker::ParserOptions& options,
                                                 const std::string& first_train_file);
/// Logs how each CSV column's type was decided and warns about doubtful ones (identifiers left
/// out, numeric columns of a few integer codes).
void WarnAboutIdentifiers(const worker::ExampleParser& parser, spdlog::logger& log);

/// Prepares the output folder and splits the training files and the test file (if any, last)
/// into byte ranges for `num_workers` workers.
Result<sched::ShardPlan> PlanTrainTest(const std::string& out_dir, std::vector<std::string> train,
                                       const std::string& test, int num_workers);

/// "test FILE", "holdout F of the training rows (seed S)" or "none", for metrics.json.
std::string EvaluatedOn(const std::string& test, double holdout, std::uint64_t seed);

struct WorkerShard {
  worker::SparseData train;
  worker::SparseData eval;  ///< test rows, or the held-out training rows
  worker::LoadStats stats;  ///< bad rows of both; categories of the training rows
  double load_s = 0;
};

/// Loads a worker's ranges: ranges[0 .. num_train_files) are training files, a further one
/// (if present) is the test file. Without a test file, rows with HeldOut(id, seed, holdout)
/// become the evaluation rows.
Result<WorkerShard> LoadWorkerShard(const std::vector<sched::FileRange>& ranges, std::size_t num_train_files,
                                    const worker::ExampleParser& parser, const worker::LoadOptions& options,
                                    double holdout, std::uint64_t seed);

}  // namespace ecps::models::lr
