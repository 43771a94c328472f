// `ecps train kmeans`: distributed k-means user segmentation with risk scores, and
// `ecps segment`: assigns new users with a saved k-means model.
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "launch/checkpoint_options.h"
#include "launch/cluster.h"
#include "launch/command.h"
#include "launch/privacy_options.h"
#include "launch/training_summary.h"
#include "models/kmeans/kmeans.h"
#include "models/kmeans/model.h"
#include "util/input_file.h"
#include "worker/feature_csv.h"

namespace ecps::launch {

namespace {

using models::kmeans::InitMethod;
using models::kmeans::Normalize;
using models::kmeans::RiskScore;

// The accepted spellings of the closed sets, in the order --help lists them.
const std::vector<std::pair<std::string, Normalize>> kNormalizeNames = {
    {"minmax", Normalize::kMinMax}, {"zscore", Normalize::kZScore}, {"none", Normalize::kNone}};
const std::vector<std::pair<std::string, models::kmeans::Impute>> kImputeNames = {
    {"none", models::kmeans::Impute::kNone},   {"mean", models::kmeans::Impute::kMean},
    {"median", models::kmeans::Impute::kMedian}, {"zero", models::kmeans::Impute::kZero},
    {"drop", models::kmeans::Impute::kDrop}};
const std::vector<std::pair<std::string, RiskScore>> kScoreNames = {{"relative", RiskScore::kRelative},
                                                                    {"distance", RiskScore::kDistance}};
// Any other --init is a file.
const std::vector<std::pair<std::string, InitMethod>> kInitNames = {
    {"kmeans++", InitMethod::kPlusPlus}, {"k-means++", InitMethod::kPlusPlus},
    {"kmeans-parallel", InitMethod::kParallel}, {"kmeans||", InitMethod::kParallel},
    {"k-means||", InitMethod::kParallel}};

// Lloyd iterations of a private run without --max-iter: each one spends budget.
constexpr int kDpDefaultIterations = 10;

// The value of `name` in `names`; `fallback` when it is not there.
template <class T>
T ByName(const std::vector<std::pair<std::string, T>>& names, const std::string& name, T fallback) {
  for (const auto& [n, v] : names) {
    if (n == name) return v;
  }
  return fallback;
}

void AddTrainKMeans(CommandTree& tree) {
  // The closed sets are read as text (CLI11 checks them against the lists above, with the
  // messages of IsMember) and turned into their enums once, before the job is made.
  struct Opts {
    ClusterOptions cluster;
    models::kmeans::KMeansOptions km;
    IdPrivacyOptions ids;
    std::string encrypt_key;
    std::string normalize = "minmax", init = "kmeans++", score = "relative", impute = "none";
    std::uint64_t dp_seed = 0;
    std::vector<std::string> categorical;
  };
  auto o = std::make_shared<Opts>();
  auto& km = o->km;
  auto* sub = tree.train->add_subcommand(
      "kmeans",
      "Segment users with k-means on the parameter server (users sharded by id across workers, "
      "centroids aggregated on the servers); optional risk scores (distance to the centroid over the "
      "cluster's mean distance)");
  auto* in = sub->add_option_group("Input");
  in->add_option("--data", km.data, "CSV file with a header, one row per user (gzip or plain; - for standard input with "
                 "--local)")->required();
  AddDelimiterOption(*in, &km.columns.delimiter,
                     "Field separator of --data: one character (tab: \"tab\") or :: (default ,); "
                     "kept in the model for segment");
  in->add_option("--id-column", km.columns.id_column,
                 "Column holding the user id; @line = the row's line number (files without an id)")
      ->required();
  in->add_option("--features", km.columns.features,
                 "Feature columns, comma-separated (numeric unless given --one-hot or --ordinal)")
      ->required()
      ->delimiter(',');
  in->add_option("--one-hot", km.columns.one_hot,
                 "Encode a categorical feature as one 0/1 column per category: COLUMN=CAT|CAT|... "
                 "(repeatable)");
  in->add_option("--categorical", o->categorical,
                 "Integer-coded categorical features (e.g. Browser,Region): one-hot over the values "
                 "the whole --data file has, instead of numbers (not with --dp-epsilon)")
      ->delimiter(',');
  in->add_option("--ordinal", km.columns.ordinal,
                 "Encode a categorical feature as 0, 1, 2, ... in the listed order: COLUMN=CAT|CAT|... "
                 "(repeatable)");
  in->add_option("--label-column", km.columns.label_column,
                 "Optional 0/1 column used only to evaluate the risk score (ROC AUC in metrics.json)");
  in->add_flag("--skip-bad-rows", km.skip_bad_rows,
               "Skip and count rows with missing or malformed values instead of stopping at the first");
  in->add_option("--impute", o->impute,
                 "Empty numeric fields: none (an error), mean or median of the column's present "
                 "training values (median: the exact lower median, by bisection on counts, up to "
                 "200 passes), zero, or drop (skip the row, counted); stored in the model and "
                 "applied by segment; under --dp-epsilon only zero or drop")
      ->capture_default_str()
      ->check(CLI::IsMember(kImputeNames));
  auto* model = sub->add_option_group("Model");
  model->add_option("-k,--k", km.k, "Number of clusters (segments)")
      ->capture_default_str()->check(Interval(1, 1 << 20));
  model->add_option("--normalize", o->normalize, "minmax (to [0, 1]), zscore, or none")
      ->capture_default_str()
      ->check(CLI::IsMember(kNormalizeNames));
  model->add_option("--init", o->init,
                    "kmeans++, kmeans-parallel (k-means||), a CSV file of k centroids in original units "
                    "whose header names the features, or the --out folder of an earlier k-means "
                    "training with the same features and k (continue from its centroids on new data)")
      ->capture_default_str();
  model->add_option("--init-steps", km.init_steps, "k-means|| sampling rounds")
      ->capture_default_str()->check(AtLeast(1));
  model->add_option("--oversampling", km.oversampling, "k-means|| expected picks per round (0 = 2k)")
      ->capture_default_str()->check(NonNegative());
  model->add_option("--max-iter", km.max_iter, "Lloyd iterations at most")
      ->capture_default_str()->check(AtLeast(1));
  model->add_option("--tol", km.tol,
                    "Stop when the summed squared centroid movement is <= tol x the mean feature variance")
      ->capture_default_str()->check(NonNegative());
  model->add_option("--seed", km.seed, "Seed of every random choice (same seed = same result)")
      ->capture_default_str();
  auto* out = sub->add_option_group("Output");
  out->add_option("--out", km.out,
                  "Output folder: assignments.csv, profiles.csv/.json, metrics.json(l), model.bin")
      ->required();
  out->add_flag("--anomaly-scores", km.anomaly_scores,
                "Add a risk score per user to assignments.csv and flag the top --anomaly-rate share");
  out->add_option("--anomaly-rate", km.anomaly_rate, "Share of users flagged as anomalies")
      ->capture_default_str()->check(Fraction());
  out->add_option("--score", o->score,
                  "Risk score: relative (distance to the nearest centroid / that cluster's mean distance) or "
                  "distance")
      ->capture_default_str()
      ->check(CLI::IsMember(kScoreNames));
  out->add_flag("--hierarchy", km.hierarchy,
                "Also write hierarchy.json: the segments merged by Ward linkage (weighted by size) "
                "into a tree, with a profile per node and the segments of every cut 1..k");
  out->add_option("--silhouette-sample", km.silhouette_sample,
                  "Users in the seeded sample for the silhouette score (0 = skip)")
      ->capture_default_str();
  AddIdPrivacyOptions(*sub, o->ids, "Output columns to drop: id (or the --id-column name) leaves "
                                     "the ids out of assignments.csv, whose rows stay in input order");
  auto* dp = sub->add_option_group("Differential privacy");
  dp->add_option("--dp-epsilon", km.dp.epsilon,
                 "Train privately: the total ε over all iterations (> 0; needs --dp-bounds). Runs "
                 "exactly --max-iter iterations (default 10 under DP), initialises from a noisy "
                 "histogram of the bounds' box, and leaves the data's statistics out of the outputs")
      ->check(Positive());
  dp->add_option("--dp-delta", km.dp.delta,
                 "The δ of the (ε, δ) guarantee, in (0, 1); keep it well below 1 / users")
      ->capture_default_str()->check(Fraction());
  dp->add_option("--dp-bounds", km.dp.bounds,
                 "NAME=LO:HI for every numeric feature, comma-separated (e.g. age=18:90); values are "
                 "clipped to them and mapped to [0, 1]; one-hot and ordinal features need none")
      ->delimiter(',');
  dp->add_option("--dp-count-share", km.dp.count_share,
                 "Share of each iteration's privacy budget (of 1/σ²) spent on the cluster counts, "
                 "in (0, 1); the rest goes to the per-feature sums")
      ->capture_default_str()->check(Fraction());
  auto* dp_seed = dp->add_option("--dp-seed", o->dp_seed,
                                 "TESTS ONLY: replayable noise from this seed; the run is NOT private");
  AddEncryptKeyOption(*sub, o->encrypt_key,
                      "model.bin and assignments.csv are written sealed (metrics.json, "
                      "profiles and logs stay plain); segment --encrypt-key opens the model");
  AddCheckpointOptions(*sub, o->km.checkpoint, "Lloyd iteration");
  AddClusterOptions(*sub, o->cluster, models::kmeans::KMeansJob::Consistency());
  AddConfigOption(*sub);
  sub->callback([o, sub, dp_seed, sel = tree.selected] {
    const auto given = [sub](const char* name) { return sub->get_option(name)->count() > 0; };
    const bool dp_given = given("--dp-epsilon");
    const bool tol_given = given("--tol"), iter_given = given("--max-iter");
    const bool score_given = given("--score");
    std::string dp_only;
    for (const char* name : {"--dp-delta", "--dp-bounds", "--dp-count-share", "--dp-seed"}) {
      if (given(name) && dp_only.empty()) dp_only = name;
    }
    if (dp_seed->count() > 0) o->km.dp.test_seed = o->dp_seed;
    const Status checkpoint = ResolveCheckpointOptions(*sub, o->km.checkpoint);
    *sel = [o, dp_given, tol_given, iter_given, score_given, dp_only, checkpoint]() -> Status {
      ECPS_RETURN_IF_ERROR(checkpoint);
      if (!dp_given && !dp_only.empty()) {
        return InvalidArgument(fmt::format("{}: only with --dp-epsilon", dp_only));
      }
      if (dp_given) {
        if (tol_given) {
          return InvalidArgument("--tol: a private run does exactly --max-iter iterations (no stop "
                                 "on the data); leave --tol out");
        }
        if (score_given && o->score == "relative") {
          return InvalidArgument("--score relative: not available under --dp-epsilon (it divides "
                                 "by the clusters' mean distances, statistics of the data)");
        }
        if (!iter_given) o->km.max_iter = kDpDefaultIterations;
        if (o->km.dp.test_seed) {
          std::fprintf(stderr, "warning: --dp-seed makes the noise replayable: this run is NOT "
                               "differentially private (for tests only)\n");
        }
      }
      o->km.quiet = o->cluster.quiet;
      ECPS_RETURN_IF_ERROR(
          util::CheckStdinInputs({{"--data", o->km.data}}, o->cluster.RunsLocally()));
      ECPS_ASSIGN_OR_RETURN(o->km.ids, o->ids.LoadFilter());
      ECPS_ASSIGN_OR_RETURN(o->km.encrypt, LoadEncryptKey(o->encrypt_key));
      o->km.mask_columns = o->ids.mask_columns;
      o->km.normalize = ByName(kNormalizeNames, o->normalize, Normalize::kMinMax);
      o->km.impute = ByName(kImputeNames, o->impute, models::kmeans::Impute::kNone);
      o->km.score = ByName(kScoreNames, o->score, RiskScore::kRelative);
      o->km.init = ByName(kInitNames, o->init, InitMethod::kFile);
      o->km.init_file = o->km.init == InitMethod::kFile ? o->init : std::string();
      if (!dp_given) {  // (a private run reads nothing of the data outside the mechanism)
        std::vector<std::string> warnings;
        ECPS_RETURN_IF_ERROR(worker::ResolveDeclaredCategorical(o->categorical, o->km.data,
                                                                &o->km.columns, &warnings));
        if (!warnings.empty() && !o->cluster.RunsLocally()) {
          ECPS_RETURN_IF_ERROR(JoinMpiIfLaunched());  // to print on rank 0 alone
        }
        ECPS_RETURN_IF_ERROR(ApplyLogOptions(o->cluster));  // the warnings go where the log goes
        for (const auto& w : warnings) {
          if (IsPrintingProcess()) spdlog::warn("{}", w);
        }
      } else if (!o->categorical.empty()) {
        return InvalidArgument("--categorical: not available under --dp-epsilon (its categories "
                               "would be read from the data); list them with --one-hot");
      }
      ECPS_ASSIGN_OR_RETURN(auto schema, models::kmeans::PrepareKMeans(o->km));
      ECPS_RETURN_IF_ERROR(models::kmeans::PrepareDp(&o->km, schema));
      ECPS_RETURN_IF_ERROR(RunWritingOutput(&o->cluster, o->km.out, [&] {
        return RunCluster(o->cluster, [o, schema](ps::Rank) {
          return std::make_shared<models::kmeans::KMeansJob>(o->km, schema);
        });
      }));
      return PrintTrainingSummary(o->cluster.quiet, "kmeans", o->km.out);
    };
  });
}

void AddSegment(CommandTree& tree) {
  auto o = std::make_shared<models::kmeans::SegmentOptions>();
  auto encrypt_key = std::make_shared<std::string>();
  auto ids = std::make_shared<IdPrivacyOptions>();
  auto* sub = tree.root->add_subcommand(
      "segment", "Assign users to the segments of a trained k-means model (train kmeans --out DIR)");
  sub->add_option("--model", o->model_dir, "Folder of a k-means training run (holds model.bin)")->required();
  sub->add_option("--data", o->data, "CSV file with the model's id and feature columns (gzip or plain; - for standard input)")->required();
  sub->add_option("--out", o->out, "Output CSV (id,cluster,distance,score,anomaly); - for stdout")
      ->capture_default_str();
  sub->add_flag("--skip-bad-rows", o->skip_bad_rows, "Skip rows with missing or malformed values");
  sub->add_option("--threads", o->threads, "Compute threads (0 = all cores)")
      ->capture_default_str()->check(NonNegative());
  AddEncryptKeyOption(*sub, *encrypt_key,
                      "the key the model was trained with (train kmeans --encrypt-key), to open "
                      "its sealed model.bin; the output here is written plain");
  AddIdPrivacyOptions(*sub, *ids, "", "the line segment prints on standard error");
  AddConfigOption(*sub);
  sub->callback([o, encrypt_key, ids, sel = tree.selected] {
    *sel = [o, encrypt_key, ids]() -> Status {
      ECPS_ASSIGN_OR_RETURN(o->encrypt, LoadEncryptKey(*encrypt_key));
      ECPS_ASSIGN_OR_RETURN(o->ids, ids->LoadFilter());
      std::uint64_t skipped = 0, excluded = 0;
      ECPS_ASSIGN_OR_RETURN(std::uint64_t rows, models::kmeans::Segment(*o, &skipped, &excluded));
      if (o->out != "-") {
        const std::string dropped =
            o->ids && o->ids->excluded_ids() > 0
                ? fmt::format(", {} rows of opted-out users dropped", excluded)
                : std::string();
        std::fputs(fmt::format("segment: {} users assigned ({} bad rows skipped{}) -> {}\n", rows,
                               skipped, dropped, o->out)
                       .c_str(),
                   stderr);
      }
      return Status::Ok();
    };
  });
}

}  // namespace

void AddKMeansCommand(CommandTree& tree) {
  AddTrainKMeans(tree);
  AddSegment(tree);
}

}  // namespace ecps::launch
