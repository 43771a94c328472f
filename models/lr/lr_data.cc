#include "models/lr/lr_data.h"

#include <chrono>

#include <fmt/format.h>

#include "models/lr/lr_kernels.h"
#include "util/output_folder.h"
#include "worker/line_reader.h"

namespace ecps::models::lr {

Result<worker::ExampleParser> MakeTrainingParser(const worker::ParserOptions& options,
                                                 const std::string& first_train_file) {
  if (options.format != worker::DataFormat::kCsv) return worker::ExampleParser::Make(options);
  ECPS_ASSIGN_OR_RETURN(worker::CsvColumns cols, worker::ResolveCsvColumns(options, first_train_file));
  ECPS_ASSIGN_OR_RETURN(std::string header, worker::ReadFirstRecord(first_train_file, worker::CsvRecords(options.delimiter)));
  return worker::ExampleParser::MakeCsv(options, cols, header, first_train_file);
}

void WarnAboutIdentifiers(const worker::ExampleParser& parser, spdlog::logger& log) {
  for (const auto& note : parser.csv_columns().notes) log.info("csv column {}", note);
  for (const auto& warning : parser.csv_columns().warnings) log.warn("{}", warning);
  for (const auto& name : parser.csv_columns().identifiers) {
    log.warn("column \"{}\" is not used: its sampled values are all distinct (an id?); list the "
             "columns with --numeric-columns/--categorical-columns to use it anyway",
             name);
  }
}

Result<sched::ShardPlan> PlanTrainTest(const std::string& out_dir, std::vector<std::string> train,
                                       const std::string& test, int num_workers) {
  ECPS_RETURN_IF_ERROR(util::PrepareOutputDir(out_dir));
  if (!test.empty()) train.push_back(test);
  return sched::PlanFiles(train, num_workers);
}

std::string EvaluatedOn(const std::string& test, double holdout, std::uint64_t seed) {
  if (!test.empty()) return "test " + test;
  if (holdout > 0) return fmt::format("holdout {} of the training rows (seed {})", holdout, seed);
  return "none";
}

Result<WorkerShard> LoadWorkerShard(const std::vector<sched::FileRange>& ranges, std::size_t num_train_files,
                                    const worker::ExampleParser& parser, const worker::LoadOptions& options,
                                    double holdout, std::uint64_t seed) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<worker::FileShard> train_shards, test_shards;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    (i < num_train_files ? train_shards : test_shards).push_back({ranges[i], static_cast<std::uint32_t>(i)});
  }
  WorkerShard s;
  ECPS_ASSIGN_OR_RETURN(s.train, worker::LoadRows(train_shards, parser, options, &s.stats));
  if (!test_shards.empty()) {
    worker::LoadOptions lo = options;
    lo.max_categories = 0;
    worker::LoadStats ts;
    ECPS_ASSIGN_OR_RETURN(s.eval, worker::LoadRows(test_shards, parser, lo, &ts));
    s.stats.bad_rows += ts.bad_rows;
    for (auto& m : ts.bad_messages) {
      if (s.stats.bad_messages.size() < options.max_bad_messages) s.stats.bad_messages.push_back(std::move(m));
    }
  } else if (holdout > 0) {
    const worker::SparseData all = std::move(s.train);
    s.eval = all.Select([&](std::size_t r) { return HeldOut(all.id(r), seed, holdout); });
    s.train = all.Select([&](std::size_t r) { return !HeldOut(all.id(r), seed, holdout); });
  }
  s.load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

}  // namespace ecps::models::lr
