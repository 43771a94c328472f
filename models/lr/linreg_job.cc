#include "models/lr/linreg_job.h"

#include <chrono>
#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Dense>
#include <fmt/format.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>

#include "models/common/csv_field.h"
#include "models/common/model_file.h"
#include "models/common/sealed_output.h"
#include "models/lr/lr_data.h"
#include "models/lr/lr_messages.h"
#include "models/lr/index_names.h"
#include "models/lr/lr_model.h"
#include "models/lr/row_ids.h"
#include "ps/collective.h"
#include "util/files.h"

namespace ecps::models::lr {
namespace {

constexpr ps::TableId kSums = 1110;
constexpr std::uint32_t kSumsTopic = 1110;   // worker 0 -> scheduler: the summed equations
constexpr std::uint32_t kCoefTopic = 1111;   // scheduler -> workers: coefficients
constexpr std::uint32_t kEvalTopic = 1112;   // workers -> scheduler: error partials
// 1113, 1114: --impute median rounds (lr_messages.h)
constexpr std::uint32_t kImputeReportTopic = 1115;  // workers -> scheduler: --impute statistics
constexpr std::uint32_t kImputePlanTopic = 1116;    // scheduler -> workers: --impute fills

std::uint64_t Packed(std::uint64_t d) { return d * (d + 1) / 2; }
std::uint64_t PackedIndex(std::uint64_t d, std::uint64_t a, std::uint64_t b) {  // a <= b
  return a * (2 * d - a + 1) / 2 + (b - a);
}

struct SumsMsg {
  std::uint64_t d = 0;
  std::vector<double> values;  // the table: packed X'X, X'y, n, sum y, sum y^2
  template <class A>
  void serialize(A& ar) { ar(d, values); }
};

struct EvalMsg {
  RegressionEval train, eval;
  std::uint64_t bad_rows = 0;
  std::vector<std::string> bad_messages;
  double load_s = 0, sums_s = 0;
  std::vector<std::vector<std::string>> categories;  // csv: values seen per categorical column
  template <class A>
  void serialize(A& ar) { ar(train, eval, bad_rows, bad_messages, load_s, sums_s, categories); }
};

std::vector<double> ToTable(const NormalSums& s) {
  std::vector<double> v = s.xtx;
  v.insert(v.end(), s.xty.begin(), s.xty.end());
  v.push_back(s.n);
  v.push_back(s.sum_y);
  v.push_back(s.sum_y2);
  return v;
}

NormalSums FromTable(std::uint64_t d, const std::vector<double>& v) {
  NormalSums s;
  s.d = d;
  const std::size_t p = Packed(d);
  s.xtx.assign(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(p));
  s.xty.assign(v.begin() + static_cast<std::ptrdiff_t>(p), v.begin() + static_cast<std::ptrdiff_t>(p + d));
  s.n = v[p + d];
  s.sum_y = v[p + d + 1];
  s.sum_y2 = v[p + d + 2];
  return s;
}

// A version-1 file: the model without --impute's fills.
struct LinRegModelV1 {
  LinRegModel* m;
  template <class A>
  void serialize(A& ar) { m->SerializeV1(ar); }
};

double Predict(std::span<const std::uint32_t> keys, const float* values, const std::vector<double>& coef) {
  double y = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) y += coef[keys[i]] * (values ? values[i] : 1.0f);
  return y;
}

}  // namespace

Status LinRegOptions::Validate() const {
  if (train.empty()) return InvalidArgument("--train is required");
  ECPS_RETURN_IF_ERROR(parser.Validate());
  if (!(l2 >= 0)) return InvalidArgument(fmt::format("--l2 {} must be >= 0", l2));
  if (!(holdout >= 0 && holdout < 1)) return InvalidArgument(fmt::format("--holdout {} is outside [0, 1)", holdout));
  if (out.empty()) return InvalidArgument("--out is required");
  if (impute != ImputeMode::kNone && parser.format != worker::DataFormat::kCsv) {
    return InvalidArgument(
        "--impute applies to csv data (an empty numeric field is a missing value)");
  }
  return Status::Ok();
}

nlohmann::json LinRegOptions::ToJson() const {
  return {{"evaluated_on", EvaluatedOn(test, holdout, seed)}, {"l2", l2}};
}

NormalSums ComputeNormalSums(const worker::SparseData& data, std::uint64_t d) {
  const std::size_t C = static_cast<std::size_t>(std::max(1, tbb::info::default_concurrency()));
  const std::size_t n = data.rows();
  std::vector<Eigen::MatrixXd> a(C);
  std::vector<Eigen::VectorXd> b(C);
  std::vector<double> sy(C, 0), sy2(C, 0);
  // Fixed chunks of rows, one accumulator each: the sums do not depend on thread scheduling.
  tbb::parallel_for(std::size_t{0}, C, [&](std::size_t c) {
    a[c] = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(d));
    b[c] = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(d));
    for (std::size_t r = n * c / C; r < n * (c + 1) / C; ++r) {
      const auto ks = data.keys(r);
      const float* vs = data.values(r);
      const double y = data.label(r);
      for (std::size_t i = 0; i < ks.size(); ++i) {
        const double vi = vs ? vs[i] : 1.0;
        b[c](ks[i]) += vi * y;
        for (std::size_t j = 0; j < ks.size(); ++j) {
          if (ks[i] <= ks[j]) a[c](ks[i], ks[j]) += vi * (vs ? vs[j] : 1.0);
        }
      }
      sy[c] += y;
      sy2[c] += y * y;
    }
  });
  NormalSums s;
  s.d = d;
  s.xtx.assign(Packed(d), 0.0);
  s.xty.assign(d, 0.0);
  s.n = static_cast<double>(n);
  for (std::size_t c = 0; c < C; ++c) {
    for (std::uint64_t i = 0; i < d; ++i) {
      for (std::uint64_t j = i; j < d; ++j) s.xtx[PackedIndex(d, i, j)] += a[c](static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j));
      s.xty[i] += b[c](static_cast<Eigen::Index>(i));
    }
    s.sum_y += sy[c];
    s.sum_y2 += sy2[c];
  }
  return s;
}

Result<std::vector<double>> SolveNormal(const NormalSums& s, double l2, std::uint64_t intercept) {
  const auto d = static_cast<Eigen::Index>(s.d);
  Eigen::MatrixXd a(d, d);
  Eigen::VectorXd b(d);
  for (Eigen::Index i = 0; i < d; ++i) {
    for (Eigen::Index j = i; j < d; ++j) {
      a(i, j) = a(j, i) = s.xtx[PackedIndex(s.d, static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(j))];
    }
    if (static_cast<std::uint64_t>(i) != intercept) a(i, i) += l2;
    b(i) = s.xty[static_cast<std::size_t>(i)];
  }
  Eigen::VectorXd x;
  Eigen::LDLT<Eigen::MatrixXd> ldlt(a);
  if (ldlt.info() == Eigen::Success && ldlt.isPositive() && ldlt.rcond() > 1e-12) {
    x = ldlt.solve(b);
  } else {
    x = Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd>(a).solve(b);
  }
  if (!x.allFinite()) return DataError("the normal equations have no finite solution (try --l2 > 0)");
  return std::vector<double>(x.data(), x.data() + d);
}

RegressionEval RegressionEval::From(const worker::SparseData& data, const std::vector<double>& coef) {
  RegressionEval e;
  for (std::size_t r = 0; r < data.rows(); ++r) {
    const double y = data.label(r);
    const double err = y - Predict(data.keys(r), data.values(r), coef);
    e.n += 1;
    e.sse += err * err;
    e.sae += std::fabs(err);
    e.sum_y += y;
    e.sum_y2 += y * y;
  }
  return e;
}

void RegressionEval::Merge(const RegressionEval& o) {
  n += o.n;
  sse += o.sse;
  sae += o.sae;
  sum_y += o.sum_y;
  sum_y2 += o.sum_y2;
}

nlohmann::json RegressionEval::ToJson() const {
  nlohmann::json j;
  if (n == 0) {
    j["rmse"] = j["mae"] = j["r2"] = nullptr;
  } else {
    j["rmse"] = std::sqrt(sse / n);
    j["mae"] = sae / n;
    const double sst = sum_y2 - sum_y * sum_y / n;
    j["r2"] = sst > 0 ? nlohmann::json(1.0 - sse / sst) : nlohmann::json(nullptr);
  }
  j["examples"] = n;
  return j;
}

LinRegJob::LinRegJob(LinRegOptions options) : options_(std::move(options)) {
  options_.parser.label_kind = worker::LabelKind::kReal;
  init_ = [&]() -> Status {
    ECPS_RETURN_IF_ERROR(options_.Validate());
    ECPS_ASSIGN_OR_RETURN(auto p, MakeTrainingParser(options_.parser, options_.train[0]));
    parser_ = std::make_unique<worker::ExampleParser>(std::move(p));
    if (parser_->num_keys() > options_.max_columns) {
      return InvalidArgument(fmt::format(
          "linreg: {} columns is more than {} (use --num-features or a smaller --hash-bits)", parser_->num_keys(),
          options_.max_columns));
    }
    return Status::Ok();
  }();
}

Result<LinRegModel> LoadLinRegModel(const std::string& path, const privacy::EncryptionKey* key) {
  LinRegModel m;
  if (Status s = LoadModel(path, LinRegModel::kKind, LinRegModel::kVersion, &m, key); !s.ok()) {
    m = LinRegModel();
    LinRegModelV1 v1{&m};
    if (!LoadModel(path, LinRegModel::kKind, 1, &v1, key).ok()) return s;
  }
  auto keys = FeatureSpaceKeys(m.format, m.hash_bits, m.num_features, m.columns);
  if (!keys.ok()) {
    return DataError(fmt::format("{}: inconsistent model: {}", path, keys.status().message()));
  }
  if (m.coef.size() != *keys) {
    return DataError(
        fmt::format("{}: inconsistent model: {} coefficients, but the feature space has {} columns",
                    path, m.coef.size(), *keys));
  }
  if (!std::all_of(m.coef.begin(), m.coef.end(), [](double c) { return std::isfinite(c); })) {
    return DataError(path + ": inconsistent model: a coefficient is not finite");
  }
  if (Status s = CheckImputation(m.impute, m.columns.numeric.size()); !s.ok()) {
    return DataError(fmt::format("{}: inconsistent model: {}", path, s.message()));
  }
  return m;
}

Result<std::vector<double>> PredictLinRegFile(const LinRegModel& model,
                                              const std::string& data_path,
                                              std::vector<std::uint64_t>* offsets) {
  worker::ParserOptions o;
  o.format = static_cast<worker::DataFormat>(model.format);
  o.hash_bits = model.hash_bits;
  o.num_features = model.num_features;
  o.bias = model.bias;
  o.delimiter = model.delimiter;
  o.label_kind = worker::LabelKind::kReal;
  ECPS_ASSIGN_OR_RETURN(worker::ExampleParser parser, ScoringParser(o, model.columns, data_path));
  if (parser.num_keys() != model.coef.size()) {
    return DataError(fmt::format("model has {} coefficients, but its feature space has {} columns",
                                 model.coef.size(), parser.num_keys()));
  }
  worker::LoadOptions lo;
  lo.keep_values = model.impute.fills();
  worker::FileShard all{sched::FileRange{data_path, 0, UINT64_MAX}, 0};
  ECPS_ASSIGN_OR_RETURN(worker::SparseData data, worker::LoadRows({all}, parser, lo, nullptr));
  const std::vector<bool> incomplete = ImputeForScoring(model.impute, parser, &data);
  std::vector<double> y(data.rows());
  for (std::size_t r = 0; r < data.rows(); ++r) {
    y[r] = r < incomplete.size() && incomplete[r] ? std::numeric_limits<double>::quiet_NaN()
                         : Predict(data.keys(r), data.values(r), model.coef);
  }
  if (offsets != nullptr) *offsets = RowOffsets(data);
  return y;
}

std::uint64_t LinRegJob::columns() const { return parser_ ? parser_->num_keys() : 1; }

std::vector<ps::TableSpec> LinRegJob::Tables() const {
  const std::uint64_t d = columns();
  return {{kSums, "linreg.sums", ps::ValueType::kFloat64, 1, Packed(d) + d + 3, false}};
}

Status LinRegJob::SetupServer(ps::KVServer& server) {
  ECPS_RETURN_IF_ERROR(init_);
  return server.AddTable<double>(Tables()[0], std::make_unique<ps::SumRule<double>>());
}

Result<sched::ShardPlan> LinRegJob::MakePlan(const ps::RoleTable& roles) {
  ECPS_RETURN_IF_ERROR(init_);
  return PlanTrainTest(options_.out, options_.train, options_.test, roles.num_workers());
}

Status LinRegJob::RunWorker(sched::JobContext& ctx) {
  ECPS_RETURN_IF_ERROR(init_);
  ps::Node& node = ctx.node;
  ps::KVClient& kv = *ctx.client;
  auto deadline = [&] { return node.DefaultDeadline(); };
  worker::LoadOptions lo;
  lo.skip_bad_rows = options_.skip_bad_rows;
  lo.max_categories = 100000;
  const bool impute = options_.impute != ImputeMode::kNone;
  lo.keep_values = impute && !parser_->csv_columns().numeric.empty();
  ECPS_ASSIGN_OR_RETURN(WorkerShard shard,
                        LoadWorkerShard(ctx.plan.file_ranges[static_cast<std::size_t>(node.index())],
                                        options_.train.size(), *parser_, lo,
                                        options_.test.empty() ? options_.holdout : 0.0, options_.seed));
  const auto workers = ps::WorkerRanks(node.roles());
  if (impute) {  // the scheduler's fills from every worker's training rows, as in LrJob
    SetupReport report;
    report.train_rows = shard.train.rows();
    report.test_rows = shard.eval.rows();
    ReportNumeric(shard.train, shard.eval, *parser_, true, &report);
    ECPS_RETURN_IF_ERROR_CTX(ps::Gather(node, kImputeReportTopic, workers, report, deadline()).status(),
                             "--impute report");
    if (options_.impute == ImputeMode::kMedian) {
      ECPS_RETURN_IF_ERROR(MedianCounts(node, workers, SortedColumns(shard.train, *parser_)));
    }
    Imputation imp;
    ECPS_RETURN_IF_ERROR_CTX(ps::Broadcast(node, kImputePlanTopic, workers, &imp, deadline()),
                             "--impute fills");
    Impute(imp, *parser_, &shard.train);
    Impute(imp, *parser_, &shard.eval);
  }
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t d = columns();
  const std::vector<double> mine = ToTable(ComputeNormalSums(shard.train, d));
  ECPS_RETURN_IF_ERROR_CTX(kv.Wait(kv.PushRange<double>(kSums, 0, mine.size(), mine), deadline()), "push linreg.sums");
  EvalMsg msg;
  msg.sums_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Every worker's push is applied once all have passed the barrier.
  ECPS_RETURN_IF_ERROR(node.Barrier(ps::BarrierGroup::kWorkers, deadline()));
  if (node.index() == 0) {
    SumsMsg sums;
    sums.d = d;
    sums.values.resize(mine.size());
    ECPS_RETURN_IF_ERROR_CTX(kv.Wait(kv.PullRange<double>(kSums, 0, mine.size(), sums.values), deadline()),
                             "pull linreg.sums");
    ECPS_RETURN_IF_ERROR(node.SendControl(ps::RoleTable::kSchedulerRank, kSumsTopic, ps::EncodeControl(sums)));
  }
  ECPS_RETURN_IF_ERROR_CTX(ps::Broadcast(node, kCoefTopic, workers, &coef_, deadline()), "coefficients");
  msg.train = RegressionEval::From(shard.train, coef_);
  msg.eval = RegressionEval::From(shard.eval, coef_);
  msg.bad_rows = shard.stats.bad_rows;
  msg.bad_messages = shard.stats.bad_messages;
  msg.load_s = shard.load_s;
  msg.categories = std::move(shard.stats.categories);
  return ps::Gather(node, kEvalTopic, workers, msg, deadline()).status();
}

Status LinRegJob::RunScheduler(sched::JobContext& ctx) {
  ECPS_RETURN_IF_ERROR(init_);
  ps::Node& node = ctx.node;
  WarnAboutIdentifiers(*parser_, node.log());
  const auto workers = ps::WorkerRanks(node.roles());
  SetupReport impute_all;
  if (options_.impute != ImputeMode::kNone) {
    ECPS_ASSIGN_OR_RETURN(auto reports, ps::Gather(node, kImputeReportTopic, workers, SetupReport{},
                                                   node.DefaultDeadline()));
    for (const auto& r : reports) {
      impute_all.train_rows += r.train_rows;
      impute_all.test_rows += r.test_rows;
      impute_all.numeric.Merge(r.numeric);
    }
    ECPS_ASSIGN_OR_RETURN(impute_, PlanImputation(options_.impute, reports,
                                                  parser_->csv_columns().numeric, node, workers,
                                                  &impute_all));
    ECPS_RETURN_IF_ERROR(
        ps::Broadcast(node, kImputePlanTopic, workers, &impute_, node.DefaultDeadline()));
  }
  ECPS_ASSIGN_OR_RETURN(ps::Message m, node.RecvControl(kSumsTopic, workers.front(), node.DefaultDeadline()));
  SumsMsg sums;
  ECPS_RETURN_IF_ERROR(ps::DecodeControl(m.control, &sums));
  const NormalSums total = FromTable(sums.d, sums.values);
  if (total.n == 0) return DataError(fmt::format("no training examples in {}", options_.train.front()));
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t intercept = options_.parser.bias ? parser_->bias_key() : sums.d;
  ECPS_ASSIGN_OR_RETURN(coef_, SolveNormal(total, options_.l2, intercept));
  const double solve_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ECPS_RETURN_IF_ERROR(ps::Broadcast(node, kCoefTopic, workers, &coef_, node.DefaultDeadline()));
  ECPS_ASSIGN_OR_RETURN(auto evals, ps::Gather(node, kEvalTopic, workers, EvalMsg{}, node.DefaultDeadline()));
  EvalMsg all;
  double load_s = 0, sums_s = 0;
  for (const auto& e : evals) {
    all.train.Merge(e.train);
    all.eval.Merge(e.eval);
    all.bad_rows += e.bad_rows;
    for (const auto& s : e.bad_messages) {
      if (all.bad_messages.size() < 10) all.bad_messages.push_back(s);
    }
    load_s = std::max(load_s, e.load_s);
    sums_s = std::max(sums_s, e.sums_s);
    if (categories_.size() < e.categories.size()) categories_.resize(e.categories.size());
    for (std::size_t j = 0; j < e.categories.size(); ++j) {
      categories_[j].insert(categories_[j].end(), e.categories[j].begin(), e.categories[j].end());
    }
  }
  metrics_ = all.eval.ToJson();
  metrics_.update(options_.ToJson());
  metrics_["train"] = all.train.ToJson();
  metrics_["columns"] = sums.d;
  if (parser_->has_header()) metrics_["csv_column_types"] = parser_->csv_columns().notes;
  if (impute_.mode != ImputeMode::kNone) {
    const std::uint64_t dropped = impute_.mode == ImputeMode::kDrop ? impute_all.rows_missing : 0;
    metrics_["impute"] =
        ImputeJson(impute_, parser_->csv_columns().numeric, impute_all.missing, dropped);
  }
  metrics_["bad_rows"] = all.bad_rows;
  metrics_["bad_row_examples"] = all.bad_messages;
  metrics_["load_seconds"] = load_s;
  metrics_["sums_seconds"] = sums_s;
  metrics_["solve_seconds"] = solve_s;
  metrics_["roles"] = {{"servers", node.roles().num_servers()}, {"workers", static_cast<int>(workers.size())}};
  node.log().info("linreg: {} columns, {} training rows; eval rmse {}, r2 {}", sums.d, total.n,
                  util::DumpJson(metrics_["rmse"]), util::DumpJson(metrics_["r2"]));
  return Status::Ok();
}

Status LinRegJob::FinishScheduler(sched::JobContext&) {
  ECPS_RETURN_IF_ERROR(init_);
  LinRegModel model;
  const auto& o = parser_->options();
  model.format = static_cast<std::uint8_t>(o.format);
  model.hash_bits = o.hash_bits;
  model.num_features = o.num_features;
  model.bias = o.bias;
  model.delimiter = o.delimiter;
  model.columns = parser_->csv_columns();
  model.coef = coef_;
  model.impute = impute_;
  ECPS_RETURN_IF_ERROR(SaveModel(options_.out + "/model.bin", LinRegModel::kKind, LinRegModel::kVersion,
                                 model, options_.encrypt.get()));
  FeatureNames names;
  if (parser_->has_header()) {
    AddCsvNames(*parser_, categories_, &names);
  } else {
    ECPS_RETURN_IF_ERROR(AddIndexNames(options_.train, *parser_, std::size_t{1} << 20, &names));
  }
  if (o.bias) names.Add(static_cast<std::uint32_t>(parser_->bias_key()), "(intercept)");
  std::string csv = "feature,key,coefficient\n";
  for (std::uint64_t k = 0; k < coef_.size(); ++k) {
    std::string name = names.Get(static_cast<std::uint32_t>(k));
    if (name.empty() && o.num_features > 0) name = std::to_string(k);
    // Columns nobody used (empty hash buckets) have a zero (ridge) or minimum-norm tiny
    // coefficient: listed only when named.
    if (!name.empty()) csv += fmt::format("{},{},{:.17g}\n", CsvField(name), k, coef_[k]);
  }
  ECPS_RETURN_IF_ERROR(
      WriteOutputFile(options_.out + "/coefficients.csv", csv, options_.encrypt.get()));
  return util::WriteJsonFile(options_.out + "/metrics.json", metrics_);
}

}  // namespace ecps::models::lr
