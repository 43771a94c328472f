// `ecps train mf`: implicit-feedback matrix factorisation (weighted ALS) on the parameter
// server; `ecps recommend` and `ecps similar` answer from its model (cf_command.cc).
#include <memory>

#include "launch/cluster.h"
#include "launch/command.h"
#include "launch/commands/cf_options.h"
#include "launch/privacy_options.h"
#include "launch/training_summary.h"
#include "models/mf/mf_job.h"
#include "util/input_file.h"

namespace ecps::launch {

void AddMfCommands(CommandTree& tree) {
  struct Opts {
    ClusterOptions cluster;
    models::mf::MfOptions mf;
    IdPrivacyOptions ids;
    std::string encrypt_key;
    std::string task = "ranking";
  };
  auto o = std::make_shared<Opts>();
  auto& c = o->mf.cf;
  auto* sub = tree.train->add_subcommand(
      "mf",
      "Matrix factorisation: for implicit feedback (weighted ALS of Hu, Koren & Volinsky 2008, as "
      "Spark's ALS(implicitPrefs) and implicit), or with --task rating for explicit ratings (ALS on "
      "the observed ratings); item factors on the servers, user factors on the workers that own "
      "the users, top-N recommendations per user");
  AddCfInputOptions(sub, c);
  auto* m = sub->add_option_group("Model");
  m->add_option("--task", o->task,
                "ranking: weighted ALS on all pairs, for top-N lists (implicit feedback; a rating "
                "column weighs the confidence with --feedback explicit). rating: rating "
                "prediction from a file with a rating column: a rating is global mean + user bias + "
                "item bias + x_u . y_i, clipped to the training ratings' range; the biases are "
                "fixed shrunken means (Koren 2010), the factors fit the rest by ALS on the observed "
                "ratings only (lambda times each row's count, Zhou et al. 2008); held-out RMSE/MAE "
                "beside the global-mean and bias baselines in metrics.json")
      ->capture_default_str()
      ->check(CLI::IsMember({"ranking", "rating"}));
  m->add_option("--factors", o->mf.factors, "Latent factors per user and item, in [1, 512]")
      ->capture_default_str()->check(Interval(1, 512));
  m->add_option("--iterations", o->mf.iterations,
                "ALS iterations (each solves every user, then every item), in [1, 1000]")
      ->capture_default_str()->check(Interval(1, 1000));
  auto* reg = m->add_option("--regularization", o->mf.regularization,
                            "lambda of the L2 penalty on the factors (>= 0; default 0.01 for ranking, "
                            "0.1 for --task rating, where it is multiplied by each row's count)")
                  ->check(NonNegative());
  m->add_option("--alpha", o->mf.alpha,
                "Confidence of an interaction of value r: 1 + alpha * r (r = 1 for implicit "
                "feedback, the rating with --feedback explicit; >= 0; --task ranking only)")
      ->capture_default_str()->check(NonNegative());
  auto* out = sub->add_option_group("Output");
  out->add_option("--out", c.out, "Output folder: recommendations.csv, model.ecps, metrics.json")
      ->required();
  out->add_option("-n,--top-n", c.top_n, "Recommendations per user in recommendations.csv (0: none)")
      ->capture_default_str()->check(NonNegative());
  out->add_option("--fill-popular", c.fill_popular,
                  "Complete lists with popular items (only when fewer items than asked remain)")
      ->capture_default_str();
  out->add_option("--save-model", c.save_model, "Write model.ecps (for ecps recommend / ecps similar)")
      ->capture_default_str();
  AddCfEvaluationOptions(sub, c);
  sub->get_option("--seed")->description(
      "Seed of the random splits, the sampled negatives and the initial item factors");
  AddIdPrivacyOptions(*sub, o->ids, "");
  AddEncryptKeyOption(*sub, o->encrypt_key,
                      "model.ecps and recommendations.csv are written sealed (metrics.json and logs "
                      "stay plain); recommend/similar --encrypt-key open the model");
  AddClusterOptions(*sub, o->cluster);
  AddConfigOption(*sub);
  sub->callback([o, reg, sel = tree.selected] {
    const bool rating = o->task == "rating";
    o->mf.task = rating ? models::mf::MfTask::kRating : models::mf::MfTask::kRanking;
    if (reg->count() == 0) o->mf.regularization = rating ? 0.1 : 0.01;
    *sel = [o]() -> Status {
      auto& cf = o->mf.cf;
      cf.quiet = o->cluster.quiet;
      ECPS_RETURN_IF_ERROR(util::CheckStdinInputs({{"--train", cf.train}}, o->cluster.RunsLocally()));
      ECPS_ASSIGN_OR_RETURN(cf.ids, o->ids.LoadFilter());
      ECPS_ASSIGN_OR_RETURN(cf.encrypt, LoadEncryptKey(o->encrypt_key));
      cf.single_process = o->cluster.RunsLocally();
      ECPS_RETURN_IF_ERROR(RunWritingOutput(&o->cluster, cf.out, [&] {
        return models::mf::TrainMf(o->mf, [o](const sched::JobFactory& factory) {
          return RunCluster(o->cluster, factory);
        });
      }));
      return PrintTrainingSummary(o->cluster.quiet, "mf", cf.out);
    };
  });
}

}  // namespace ecps::launch
