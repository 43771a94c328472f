// `ecps train lr`, `ecps train linreg` and `ecps predict`: logistic regression (CTR/CVR) and
// linear regression on the parameter server, and prediction with a trained model.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <memory>
#include <type_traits>

#include <fmt/format.h>

#include "launch/cluster.h"
#include "launch/command.h"
#include "launch/memory.h"
#include "launch/privacy_options.h"
#include "launch/training_summary.h"
#include "models/common/csv_field.h"
#include "models/common/model_file.h"
#include "launch/checkpoint_options.h"
#include "models/lr/linreg_job.h"
#include "models/lr/lr_job.h"
#include "models/lr/lr_model.h"
#include "models/lr/row_ids.h"
#include "privacy/rdp_accountant.h"
#include "util/files.h"
#include "util/input_file.h"
#include "worker/feature_csv.h"

namespace ecps::launch {
namespace {

// Adds an option taking one of `names` (CLI11 refuses any other spelling) into `*value`, which
// holds its default; `parse` turns a name into the enum, `name` the enum into its name.
template <class Enum, class Parse, class Name>
CLI::Option* AddChoiceOption(CLI::App& group, const std::string& flag, Enum* value,
                             Parse parse, Name name, const std::string& help,
                             std::vector<std::string> names) {
  return group
      .add_option_function<std::string>(
          flag, [value, parse](const std::string& s) { *value = parse(s).value(); }, help)
      ->default_str(std::string(name(*value)))
      ->check(CLI::IsMember(std::move(names)));
}

// --impute of `train lr` and `train linreg`; `none_means` says what a left-out feature counts as.
void AddImputeOption(CLI::App& group, models::lr::ImputeMode* mode, const std::string& none_means) {
  AddChoiceOption(group, "--impute", mode, models::lr::ParseImputeMode, models::lr::ImputeModeName,
                  "csv: missing (empty) numeric values: none (the feature is left out: " +
                      none_means +
                      "), drop (rows with one, training and evaluation), zero, mean or median "
                      "(lower) of the column's training values over all workers; saved in the "
                      "model, predict fills alike (drop: NaN)",
                  {"none", "drop", "zero", "mean", "median"});
}

void AddDataOptions(CLI::App& sub, models::lr::DataOptions& data) {
  worker::ParserOptions& p = data.parser;
  auto* g = sub.add_option_group("Data", "Input files and how rows become features");
  g->add_option("--train", data.train,
                "Training file(s): `--train a.txt b.txt` or one --train each (a comma is part of "
                "a path); each worker reads its byte range of each. Gzip files are read as they are; - is "
                "standard input (--local only)")
      ->required();
  g->add_option("--test", data.test,
                "Test file (same format); without it a seeded --holdout fraction is used");
  g->add_option("--holdout", data.holdout,
                "Fraction of the training rows held out for evaluation (seeded by --seed) when no --test "
                "is given; 0 = no evaluation")
      ->capture_default_str()->check(Interval(0, 1, false, true));
  AddChoiceOption(*g, "--format", &p.format, worker::ParseDataFormat, worker::DataFormatName,
                  "libsvm (label idx:val ...), libffm (label field:idx:val ...) or csv",
                  {"libsvm", "libffm", "csv"});
  g->add_option("--hash-bits", p.hash_bits, "Hashed features go to 2^B buckets (1..30)")
      ->capture_default_str()->check(Interval(1, 30));
  g->add_flag("--no-bias", [&p](std::int64_t) { p.bias = false; }, "Do not add a bias (intercept) feature");
  g->add_option("--label-column", p.label_column, "csv: the column holding the label");
  g->add_option("--numeric-columns", p.numeric_columns,
                "csv: columns used as numbers (comma-separated). Without this and --categorical-columns, "
                "every other column is used, numeric when its first 1000 values all parse as numbers")
      ->delimiter(',');
  g->add_option("--categorical-columns", p.categorical_columns,
                "csv: columns turned into hashed one-hot features (comma-separated)")
      ->delimiter(',');
  g->add_option("--categorical", p.declared_categorical,
                "csv: integer-coded categorical columns (e.g. Browser,Region): hashed one-hot as "
                "categories, not used as numbers; the other columns' types are still inferred")
      ->delimiter(',');
  g->add_option("--ignore-columns", p.ignore_columns, "csv: columns not used when columns are inferred")
      ->delimiter(',');
  AddDelimiterOption(*g, &p.delimiter,
                     "csv: field separator, one character (tab: \"tab\") or :: (default ,); kept in "
                     "the model for predict");
  g->add_flag("--skip-bad-rows", data.skip_bad_rows,
              "Skip malformed rows (counted in metrics.json) instead of stopping at the first one");
  g->add_option("--out", data.out, "Output folder")->required();
}

// The memory lr's key space takes: in single-node mode every server and worker of this
// process; under MPI the largest rank's share, judged against rank 0's available memory (nodes
// are usually alike) by every rank, so that all refuse alike. Logged when large (by rank 0),
// refused when more than is available.
Status CheckLrMemory(const ClusterOptions& cluster, const models::lr::LrJob& job, int hash_bits) {
  ECPS_RETURN_IF_ERROR(cluster.Validate());
  const bool mpi = !cluster.RunsLocally();
  const models::lr::LrMemoryEstimate e = job.EstimateMemory(cluster.Consistency().Bound());
  const auto servers = static_cast<std::uint64_t>(cluster.servers);
  const std::uint64_t per_server = (e.servers_bytes + servers - 1) / servers;
  const std::string made_of = fmt::format("{} keys x {} bytes on {} server(s), {} per worker", e.num_keys,
                                          e.server_bytes_per_key, servers, FormatBytes(e.worker_bytes));
  MemoryNeed need;
  need.remedy = fmt::format("lower --hash-bits (now {})", hash_bits);
  if (!mpi) {
    need.bytes = e.servers_bytes + static_cast<std::uint64_t>(cluster.workers) * e.worker_bytes;
    need.detail = fmt::format("{}, {} worker(s)", made_of, cluster.workers);
    return CheckMemoryNeed(need, AvailableMemoryBytes());
  }
  need.bytes = std::max(per_server, e.worker_bytes);
  need.detail = fmt::format("the largest rank; {}", made_of);
  ECPS_RETURN_IF_ERROR(JoinMpiIfLaunched());
  return CheckMemoryNeed(need, FromRank0(AvailableMemoryBytes()), IsPrintingProcess());
}

// Runs a regression job (LrJob or LinRegJob) on the cluster and prints its metrics.json's
// summary unless quiet (launch/training_summary.h); a job whose options or header are invalid
// (or, for lr, whose key space does not fit in memory) fails before any rank starts.
template <class JobT, class Options>
Status TrainAndPrint(const ClusterOptions& cluster, const Options& options) {
  {
    std::vector<std::pair<std::string, std::string>> inputs;
    for (const auto& t : options.train) inputs.emplace_back("--train", t);
    inputs.emplace_back("--test", options.test);
    ECPS_RETURN_IF_ERROR(util::CheckStdinInputs(inputs, cluster.RunsLocally()));
    const JobT job(options);
    ECPS_RETURN_IF_ERROR(job.init_status());
    if constexpr (std::is_same_v<JobT, models::lr::LrJob>) {
      ECPS_RETURN_IF_ERROR(CheckLrMemory(cluster, job, options.parser.hash_bits));
    }
  }
  ECPS_RETURN_IF_ERROR(RunWritingOutput(&cluster, options.out, [&] {
    return RunCluster(cluster, [&](ps::Rank) { return std::make_shared<JobT>(options); });
  }));
  const char* model = std::is_same_v<JobT, models::lr::LrJob> ? "lr" : "linreg";
  return PrintTrainingSummary(cluster.quiet, model, options.out);
}

// The --dp-* options of `train lr` (models/lr/lr_dp.h), in their own group.
void AddDpOptions(CLI::App& sub, models::lr::DpOptions& dp) {
  auto* g = sub.add_option_group("Differential privacy (DP-SGD)",
                                 "Train with (epsilon, delta)-differential privacy for each training example "
                                 "(README: Privacy). Every key is noised each step, so under DP --hash-bits "
                                 "defaults to 20; numeric CSV columns are not scaled");
  auto* eps = g->add_option("--dp-epsilon", dp.epsilon,
                            "DP-SGD with this privacy budget epsilon (> 0): the smallest noise multiplier that "
                            "meets it at --dp-delta for the run's epochs and sample rate")
                  ->check(Positive());
  auto* sigma = g->add_option("--dp-noise-multiplier", dp.noise_multiplier,
                              "DP-SGD with this noise multiplier sigma (noise stddev = sigma * --dp-clip), in "
                              "[0.001, 10000]; the epsilon it gives at --dp-delta is reported")
                    ->check(Interval(privacy::kMinNoiseMultiplier, privacy::kMaxNoiseMultiplier));
  eps->excludes(sigma);
  g->add_option("--dp-delta", dp.delta,
                "delta in (0, 1) of the guarantee; default 1 / (training rows) (choose it well below that)")
      ->check(Fraction());
  g->add_option("--dp-clip", dp.clip, "C: each example's gradient is scaled to L2 norm at most C (> 0)")
      ->capture_default_str()->check(Positive());
  g->add_option("--dp-sample-rate", dp.sample_rate,
                "q in (0, 1]: each step every training example joins independently with probability q; "
                "steps per epoch = round(1/q); default: --batch-size / training rows when --batch-size is "
                "given, else 0.02 (50 steps an epoch, the DP default: at a fixed epsilon the signal over the "
                "noise grows with q up to about there)")
      ->check(Interval(1e-9, 1, false, false));
  g->add_option_function<std::string>(
       "--dp-conversion",
       [&dp](const std::string& name) { dp.conversion = privacy::ParseConversion(name).value(); },
       "How the RDP accountant converts to (epsilon, delta): balle (Balle et al. 2020) or classic (Mironov 2017)")
      ->default_str(std::string(privacy::ConversionName(dp.conversion)))
      ->check(CLI::IsMember({"balle", "classic"}));
  g->add_option_function<std::uint64_t>(
      "--dp-seed",
      [&dp](std::uint64_t seed) {
        dp.has_seed = true;
        dp.seed = seed;
      },
      "TESTS ONLY: replays the noise and the batches from this seed, so the run is NOT private");
}

// Whether any option of the DP group was given.
bool AnyDpOption(const CLI::App& group) {
  for (const CLI::Option* opt : group.get_options()) {
    if (opt->count() > 0) return true;
  }
  return false;
}

void AddLrTrain(CommandTree& tree) {
  struct Opts {
    ClusterOptions cluster;
    models::lr::LrOptions lr;
    bool no_standardize = false;
    bool no_log = false;
    CLI::App* dp_group = nullptr;
    std::string encrypt_key;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = tree.train->add_subcommand(
      "lr",
      "Logistic regression for click-through / conversion prediction: workers compute mini-batch "
      "gradients of the log-loss on their shard, servers apply FTRL-Proximal, AdaGrad or SGD");
  auto& lr = o->lr;
  AddDataOptions(*sub, lr);
  sub->add_option("--featindex", lr.featindex,
                  "libsvm: file of name<TAB>index lines naming the features in the weight export");
  auto* t = sub->add_option_group("Training");
  AddChoiceOption(*t, "--algorithm", &lr.update.algorithm, models::lr::ParseAlgorithm,
                  models::lr::AlgorithmName, "ftrl (FTRL-Proximal), adagrad or sgd",
                  {"ftrl", "adagrad", "sgd"});
  t->add_option("--epochs", lr.epochs, "Passes over the training data")
      ->capture_default_str()->check(AtLeast(1));
  t->add_option("--batch-size", lr.batch_size,
                 "Examples per global mini-batch (one clock each); 0 = training rows / 200, within [100, 20000]")
      ->capture_default_str()->check(NonNegative());
  t->add_option("--alpha", lr.update.alpha, "ftrl: per-coordinate learning rate alpha")
      ->capture_default_str()->check(Positive());
  t->add_option("--beta", lr.update.beta, "ftrl: per-coordinate learning rate beta")
      ->capture_default_str()->check(NonNegative());
  t->add_option("--l1", lr.update.l1, "ftrl: L1 strength lambda1 (> 0 gives exactly-zero weights)")
      ->capture_default_str()->check(NonNegative());
  t->add_option("--l2", lr.update.l2, "L2 strength (ftrl: lambda2; sgd/adagrad: l2*w added to touched gradients)")
      ->capture_default_str()->check(NonNegative());
  t->add_option("--learning-rate", lr.update.learning_rate, "sgd and adagrad step size")
      ->capture_default_str()->check(Positive());
  t->add_option("--lr-decay", lr.update.lr_decay, "sgd: step at clock t is learning-rate / sqrt(1 + decay * t)")
      ->capture_default_str()->check(NonNegative());
  t->add_flag("--no-standardize", o->no_standardize, "csv: use numeric columns as they are (no z-scores)");
  t->add_flag("--no-log-transform", o->no_log,
              "csv: z-score non-negative numeric columns as they are (default: log1p first)");
  t->add_option("--seed", lr.seed, "Seed of the mini-batches (membership and order) and of the holdout split")->capture_default_str();
  t->add_option("--threshold", lr.threshold, "Probability from which a prediction counts as positive")
      ->capture_default_str()->check(Fraction());
  AddChoiceOption(*t, "--export-weights", &lr.export_weights, models::lr::ParseWeightExport,
                  models::lr::WeightExportName,
                  "Write the non-zero weights as csv, json, both or none",
                  {"csv", "json", "both", "none"});
  t->add_option("--progress-interval", lr.progress_interval_s, "Seconds between progress reports of a worker; after the tenth epoch also the least "
                "time between two epoch lines of the log (metrics.jsonl has every epoch)")
      ->capture_default_str()->check(NonNegative());
  t->add_option("--init-model", lr.init_model,
                "Warm start: continue training from this earlier `train lr` model (its folder or "
                "model.bin) instead of zeros: its weights, its optimizer state (FTRL z/n, AdaGrad "
                "sums; model files of ecps before format 2 hold none, and their accumulators start "
                "at zero), its numeric scaling and its epoch/clock count. Refused when its feature "
                "space (format, --hash-bits, columns, bias) or --algorithm differs");
  AddImputeOption(*t, &lr.impute, "the mean once standardised, else 0");
  t->add_flag("--no-optimizer-state", [&lr](std::int64_t) { lr.save_state = false; },
              "model.bin without the optimizer state (FTRL z/n, AdaGrad sums of every key trained, "
              "16 or 12 bytes each): smaller, but an --init-model from it starts the accumulators at zero");
  AddDpOptions(*sub, lr.dp);
  lr.checkpoint.every = 200;  // about one epoch with the automatic batch size
  lr.checkpoint.every_text = "200";
  AddCheckpointOptions(*sub, lr.checkpoint, "mini-batch");
  AddEncryptKeyOption(*sub, o->encrypt_key,
                      "model.bin and the weight exports weights.csv/.json are written sealed "
                      "(metrics.json and logs stay plain); predict --encrypt-key opens the model");
  AddClusterOptions(*sub, o->cluster);
  AddConfigOption(*sub);
  o->dp_group = sub->get_option_group("Differential privacy (DP-SGD)");
  sub->callback([o, sub, sel = tree.selected] {
    // Read while the command tree exists: the pipeline runs the command after its tree is gone.
    const bool any_dp_option = AnyDpOption(*o->dp_group);
    const bool hash_bits_given = sub->get_option("--hash-bits")->count() > 0;
    const Status checkpoint = ResolveCheckpointOptions(*sub, o->lr.checkpoint);
    *sel = [o, any_dp_option, hash_bits_given, checkpoint]() -> Status {
      ECPS_RETURN_IF_ERROR(checkpoint);
      if (o->lr.dp.enabled() && !hash_bits_given) o->lr.parser.hash_bits = models::lr::kDpHashBits;
      o->lr.standardize = !o->no_standardize;
      o->lr.log_transform = !o->no_log;
      ECPS_RETURN_IF_ERROR(o->lr.dp.Validate(any_dp_option));
      ECPS_ASSIGN_OR_RETURN(o->lr.encrypt, LoadEncryptKey(o->encrypt_key));
      return TrainAndPrint<models::lr::LrJob>(o->cluster, o->lr);
    };
  });
}

void AddLinRegTrain(CommandTree& tree) {
  struct Opts {
    ClusterOptions cluster;
    models::lr::LinRegOptions lin;
    std::string encrypt_key;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = tree.train->add_subcommand(
      "linreg",
      "Linear regression for continuous targets through the normal equations: workers compute X'X "
      "and X'y on their shards, servers sum them, the scheduler solves (X'X + l2 I) b = X'y with Eigen");
  auto& lin = o->lin;
  lin.parser.label_kind = worker::LabelKind::kReal;
  lin.parser.hash_bits = 8;
  AddDataOptions(*sub, lin);
  sub->add_option("--num-features", lin.parser.num_features,
                  "libsvm/libffm: indices are columns 0..N-1 as they are (no hashing); 0 = hash into 2^hash-bits")
      ->capture_default_str()->check(Interval(0, 2147483647));
  sub->add_option("--l2", lin.l2, "Ridge strength lambda (not applied to the intercept)")
      ->capture_default_str()->check(NonNegative());
  sub->add_option("--seed", lin.seed, "Seed of the holdout split")->capture_default_str();
  AddImputeOption(*sub, &lin.impute, "0");
  AddEncryptKeyOption(*sub, o->encrypt_key,
                      "model.bin and coefficients.csv are written sealed (metrics.json and logs "
                      "stay plain); predict --encrypt-key opens the model");
  AddClusterOptions(*sub, o->cluster);
  AddConfigOption(*sub);
  sub->callback([o, sel = tree.selected] {
    *sel = [o]() -> Status {
      ECPS_ASSIGN_OR_RETURN(o->lin.encrypt, LoadEncryptKey(o->encrypt_key));
      return TrainAndPrint<models::lr::LinRegJob>(o->cluster, o->lin);
    };
  });
}

// `ecps predict`'s output: a header, then each row's id and score with `digits` significant
// digits (8 for probabilities, 17 for linreg values), in file order.
template <class T>
std::string PredictionCsv(const char* score_name, int digits, const std::vector<std::string>& ids,
                          const std::vector<T>& scores) {
  std::string text = fmt::format("id,{}\n", score_name);
  text.reserve(text.size() + scores.size() * 32);
  for (std::size_t r = 0; r < scores.size(); ++r) {
    models::AppendCsvField(&text, ids[r]);
    text += ',';
    fmt::format_to(std::back_inserter(text), "{:.{}g}", scores[r], digits);
    text += '\n';
  }
  return text;
}

// Scores the rows of `data` with `model` (lr or linreg) and returns predict's output.
template <class Model>
Result<std::string> PredictText(const Model& model, const std::string& data,
                                const std::string& id_column) {
  if (model.format != static_cast<std::uint8_t>(worker::DataFormat::kCsv) &&
      id_column != worker::kLineId) {
    return InvalidArgument(fmt::format(
        "--id-column {}: only CSV data has named columns; libsvm/libffm rows are identified by "
        "their line number (@line)",
        id_column));
  }
  std::vector<std::uint64_t> offsets;
  const bool csv = model.format == static_cast<std::uint8_t>(worker::DataFormat::kCsv);
  if constexpr (std::is_same_v<Model, models::lr::LinRegModel>) {
    ECPS_ASSIGN_OR_RETURN(std::vector<double> y,
                          models::lr::PredictLinRegFile(model, data, &offsets));
    ECPS_ASSIGN_OR_RETURN(auto ids, models::lr::RowIds(data, offsets, id_column, model.delimiter, csv));
    return PredictionCsv("prediction", 17, ids, y);
  } else {
    ECPS_ASSIGN_OR_RETURN(std::vector<float> p, models::lr::PredictFile(model, data, &offsets));
    ECPS_ASSIGN_OR_RETURN(auto ids, models::lr::RowIds(data, offsets, id_column, model.delimiter, csv));
    return PredictionCsv("probability", 8, ids, p);
  }
}

void AddPredict(CommandTree& tree) {
  struct Opts {
    std::string model, data, out, encrypt_key;
    std::string id_column = worker::kLineId;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = tree.root->add_subcommand(
      "predict",
      "Score a data file with a trained model: one probability per row (`ecps train lr`) or one "
      "predicted value per row (`ecps train linreg`), beside the row's id");
  sub->add_option("--model", o->model, "Model folder written by `ecps train lr|linreg` (or its model.bin)")
      ->required();
  sub->add_option("--data", o->data, "Rows to score, in the model's format (labels optional); gzip or plain, - for standard "
                  "input")->required();
  sub->add_option("--out", o->out,
                  "Output CSV file (- for standard output): the header id,probability (lr) or "
                  "id,prediction (linreg), then one line per input row, in order")
      ->required();
  sub->add_option("--id-column", o->id_column,
                  "CSV --data: the column whose value is each row's id (\"\" for an unnamed one); "
                  "@line: the row's 1-based line number in --data (the only choice for "
                  "libsvm/libffm)")
      ->capture_default_str();
  AddEncryptKeyOption(*sub, o->encrypt_key,
                      "the key the model was trained with (train lr|linreg --encrypt-key), to open "
                      "its sealed model.bin; the output here is written plain");
  AddConfigOption(*sub);
  sub->callback([o, sel = tree.selected] {
    *sel = [o]() -> Status {
      ECPS_ASSIGN_OR_RETURN(const auto key, LoadEncryptKey(o->encrypt_key));
      ECPS_ASSIGN_OR_RETURN(std::string path, models::ModelFileIn(o->model, "model.bin"));
      ECPS_ASSIGN_OR_RETURN(std::string kind, models::ModelFileKind(path, key.get()));
      std::string text;
      if (kind == models::lr::LinRegModel::kKind) {
        ECPS_ASSIGN_OR_RETURN(models::lr::LinRegModel model, models::lr::LoadLinRegModel(path, key.get()));
        ECPS_ASSIGN_OR_RETURN(text, PredictText(model, o->data, o->id_column));
      } else if (kind == models::lr::LrModel::kKind) {
        ECPS_ASSIGN_OR_RETURN(models::lr::LrModel model, models::lr::LoadLrModel(path, key.get()));
        ECPS_ASSIGN_OR_RETURN(text, PredictText(model, o->data, o->id_column));
      } else {
        return InvalidArgument(fmt::format(
            "{}: this is a {} model; `ecps predict` scores lr and linreg models (k-means: `ecps segment`, "
            "collaborative filtering: `ecps recommend`)",
            path, kind));
      }
      return WriteCommandOutput(o->out, text);
    };
  });
}

}  // namespace

void AddLrCommands(CommandTree& tree) {
  AddLrTrain(tree);
  AddLinRegTrain(tree);
  AddPredict(tree);
}

}  // namespace ecps::launch
