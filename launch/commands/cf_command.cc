// `ecps train itemcf|usercf`: collaborative filtering on the parameter server;
// `ecps recommend`: top-N items for one user of a trained model;
// `ecps similar`: the nearest neighbours of one item (itemcf) or user (usercf).
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "launch/checkpoint_options.h"
#include "launch/commands/cf_options.h"
#include "launch/cluster.h"
#include "launch/command.h"
#include "launch/privacy_options.h"
#include "launch/training_summary.h"
#include "models/cf/cf_job.h"
#include "models/cf/ids.h"
#include "models/cf/model.h"
#include "models/cf/recommender.h"
#include "models/common/csv_field.h"
#include "models/mf/mf_model.h"
#include "models/mf/mf_predict.h"
#include "util/input_file.h"

namespace ecps::launch {
namespace {

// An option that takes one of `choices`' spellings (refused as CLI::IsMember refuses, the
// spellings and the default in the help) and stores its value in `*value`.
template <class E, std::size_t N>
CLI::Option* AddChoice(CLI::App* app, const std::string& name, E* value,
                       const models::cf::Choice<E> (&choices)[N], const std::string& help) {
  std::vector<std::string> spellings;
  for (const auto& c : choices) spellings.emplace_back(c.text);
  return app
      ->add_option_function<std::string>(
          name,
          [value, &choices](const std::string& s) { *value = *models::cf::FindChoice(choices, s); },
          help)
      ->check(CLI::IsMember(spellings))
      ->default_str(std::string(models::cf::SpellingOf(choices, *value)));
}

}  // namespace

void AddCfInputOptions(CLI::App* sub, models::cf::CfOptions& c) {
  auto* in = sub->add_option_group("Input");
  in->add_option("--train", c.train,
                 "Interaction file: user item [rating [timestamp]] per line, separated by ::, commas, "
                 "tabs or spaces (or --delimiter); string or integer ids; gzip or plain, - for standard "
                 "input (--local only)")
      ->required();
  AddChoice(in, "--header", &c.header, models::cf::kHeaderModes,
            "First line is a header: auto (detected), yes or no");
  AddDelimiterOption(*in, &c.delimiter,
                     "Field separator: one character (tab: \"tab\"; split as CSV) or :: (MovieLens); "
                     "default: detected from the first line (::, comma, tab, spaces)");
  in->add_option("--columns", c.columns,
                 "Roles of the columns: one per column in order (user,item,timestamp; - skips one) "
                 "or ROLE=COLUMN pairs, COLUMN a header name or a position counted from 1 "
                 "(user=customer,item=sku,rating=5). Default: user and item first, a third and "
                 "fourth column told apart by header name or values (logged)");
  AddChoice(in, "--feedback", &c.feedback, models::cf::kFeedbacks,
            "auto (the default: ranks for top-N lists, every interaction counting 1; a rating column "
            "is read only by --similarity adjusted-cosine or pearson), implicit (every interaction "
            "counts 1), or explicit (ratings weigh the similarities and, with --scoring auto, the "
            "scores are predicted ratings: choose it for rating prediction, not for ranking)");
  in->add_flag("--skip-bad-rows", c.skip_bad_rows,
               "Count and skip malformed rows (reported in metrics.json) instead of stopping at the first");
}

void AddCfEvaluationOptions(CLI::App* sub, models::cf::CfOptions& c) {
  auto* ev = sub->add_option_group("Evaluation");
  AddChoice(ev, "--split", &c.split, models::cf::kSplitKinds,
            "none; leave-last-out (per user, by timestamp or file order); leave-one-out (random); "
            "holdout (--holdout-fraction of each user's interactions)");
  AddChoice(ev, "--evaluate-on", &c.evaluate_on, models::cf::kEvalTargets,
            "test, or validation (the second held-out item; the test item is dropped: for tuning)");
  ev->add_option("--holdout-fraction", c.holdout_fraction, "Share of interactions held out by --split holdout")
      ->capture_default_str()->check(Fraction());
  ev->add_option("--min-user-interactions", c.min_user_interactions,
                 "Users with fewer interactions stay in training and are not evaluated")
      ->capture_default_str()->check(AtLeast(2));
  ev->add_option("--metrics-k", c.metrics_k, "Cutoffs of HR, precision, recall, NDCG and MAP")
      ->capture_default_str()->delimiter(',')->check(AtLeast(1));
  ev->add_option("--sampled-negatives", c.sampled_negatives,
                 "Random non-interacted items each held-out item is ranked among (SASRec protocol)")
      ->capture_default_str()->check(AtLeast(1));
  ev->add_option("--seed", c.seed, "Seed of the random splits and the sampled negatives")->capture_default_str();
}

namespace {

void AddTrainCf(CommandTree& tree, models::cf::CfKind kind) {
  struct Opts {
    ClusterOptions cluster;
    models::cf::CfOptions cf;
    IdPrivacyOptions ids;
    std::string encrypt_key;
    std::uint64_t dp_seed = 0;
  };
  auto o = std::make_shared<Opts>();
  o->cf.kind = kind;
  const bool item = kind == models::cf::CfKind::kItemCf;
  auto* sub = tree.train->add_subcommand(
      o->cf.kind_name(), item ? "Item-based collaborative filtering: item x item similarity blocks on the workers, "
                   "top-k neighbour lists merged on the servers, top-N recommendations per user"
                 : "User-based collaborative filtering: user x user similarity blocks on the workers, "
                   "top-k neighbour lists merged on the servers, top-N recommendations per user");
  auto& c = o->cf;
  AddCfInputOptions(sub, c);
  auto* m = sub->add_option_group("Model");
  AddChoice(m, "--similarity", &c.similarity, models::cf::kMeasures,
            "cosine, adjusted-cosine, pearson or jaccard");
  m->add_option("--neighbors,-k", c.neighbors, item ? "Neighbours kept per item" : "Neighbours kept per user")
      ->capture_default_str()->check(Interval(1, 10000));
  m->add_option("--shrinkage", c.shrinkage, "Shrink similarities by n / (n + lambda), n = co-support (0: off)")
      ->capture_default_str()->check(NonNegative());
  m->add_option("--min-support", c.min_support, "Minimum number of shared users/items for a neighbour pair")
      ->capture_default_str()->check(AtLeast(1));
  m->add_option("--block-size", c.block_size,
                "Entities per similarity block; memory per worker follows it (0: the fewest blocks that give each "
                "worker about two tasks, at most 65536 wide)")
      ->capture_default_str();
  AddChoice(m, "--scoring", &c.scoring, models::cf::kScorings,
            "sum (weighted sum of similarities: ranks items for top-N lists), average (normalised by "
            "the similarities: a predicted rating), or auto (average with --feedback explicit, sum "
            "otherwise)");
  if (item) {
    m->add_option("--recency-decay", c.recency_decay,
                  "Weight of a user's training item when scoring: decay^age, age 0 = the latest (1: off; "
                  "helps next-item prediction)")
        ->capture_default_str()->check(Interval(0, 1, true, false));
  }
  if (item) {
    auto* ct = sub->add_option_group("Content (cold items)");
    ct->add_option("--item-attributes", c.item_attributes,
                   "CSV of item attributes with a header (categorical and numeric columns, e.g. category, "
                   "brand, price) for content-based similarity");
    ct->add_option("--attribute-id-column", c.attribute_id_column,
                   "Column of the item id in --item-attributes (default: the first)");
    ct->add_option("--cold-threshold", c.cold_threshold,
                   "Items with fewer training interactions use their content (attribute/text) "
                   "neighbours only")
        ->capture_default_str()->check(NonNegative());
    ct->add_option("--content-blend", c.content_blend,
                   "Weight of content (attribute/text) neighbours for the other items (hybrid: "
                   "(1 - w) CF + w content)")
        ->capture_default_str()->check(Interval(0, 1));
    ct->add_option("--numeric-bands", c.numeric_bands, "Quantile bands of each numeric attribute (price bands)")
        ->capture_default_str()->check(AtLeast(1));
    ct->add_option("--item-text", c.item_text,
                   "CSV of item text with a header (item id column, text columns such as title and "
                   "description; UTF-8): TF-IDF cosine neighbours, used like attribute neighbours "
                   "(cold items, --content-blend)");
    ct->add_option("--text-id-column", c.text_id_column,
                   "Column of the item id in --item-text (default: the first)");
    ct->add_option("--text-columns", c.text_columns,
                   "Columns of --item-text joined into each item's text (default: all but the id)")
        ->delimiter(',');
    ct->add_option("--text-weight", c.text_weight,
                   "Share of text in the content similarity when --item-attributes is given too: "
                   "(1 - w) attribute cosine + w text cosine, in [0, 1]")
        ->capture_default_str()->check(Interval(0, 1));
    ct->add_option("--text-stop-words", c.text_stop_words,
                   "Drop common English words (the, and, of, ...) from the item text")
        ->capture_default_str();
  }
  auto* out = sub->add_option_group("Output");
  out->add_option("--out", c.out, "Output folder: recommendations.csv, neighbors.csv, model.ecps, metrics.json")
      ->required();
  out->add_option("-n,--top-n", c.top_n, "Recommendations per user in recommendations.csv (0: none)")
      ->capture_default_str()->check(NonNegative());
  out->add_option("--fill-popular", c.fill_popular,
                  "Complete lists with popular items after the items the model scores")
      ->capture_default_str();
  out->add_option("--save-model", c.save_model, "Write model.ecps (for ecps recommend / ecps similar)")
      ->capture_default_str();
  out->add_option("--write-neighbors", c.write_neighbors, "Write neighbors.csv")->capture_default_str();
  AddCfEvaluationOptions(sub, c);
  AddIdPrivacyOptions(*sub, o->ids, "");
  AddEncryptKeyOption(*sub, o->encrypt_key,
                      "model.ecps, recommendations.csv and neighbors.csv are written sealed "
                      "(metrics.json and logs stay plain); recommend/similar --encrypt-key open "
                      "the model");
  auto* dp = sub->add_option_group("Differential privacy");
  dp->add_option("--dp-epsilon", c.dp.epsilon,
                 item ? "Train privately (itemcf): the ε of the (ε, δ) guarantee for each user's "
                        "whole data (> 0; needs --dp-items). Each user's items (at most "
                        "--dp-max-items) add a contribution of L2 norm 1 to the item "
                        "co-occurrence counts, the servers add Gaussian noise to every entry, "
                        "and neighbour lists and popularity come from the noisy counts only"
                      : "Not for usercf (refused): its neighbour lists are per-user data; see "
                        "train itemcf --dp-epsilon")
      ->check(Positive());
  dp->add_option("--dp-delta", c.dp.delta,
                 "The δ of the (ε, δ) guarantee, in (0, 1); keep it well below 1 / users")
      ->capture_default_str()->check(Fraction());
  dp->add_option("--dp-items", c.dp.items,
                 "The public item catalogue, one item id per line (the shop's product list): "
                 "the model's items; interactions with other items are dropped");
  dp->add_option("--dp-max-items", c.dp.max_items,
                 "Items of a user that count (the rest are dropped by a choice that depends on "
                 "the user's own items and --seed only); more items per user only add pairs "
                 "of smaller weight")
      ->capture_default_str()->check(AtLeast(1));
  auto* dp_seed = dp->add_option("--dp-seed", o->dp_seed,
                                 "TESTS ONLY: replayable noise from this seed; the run is NOT private");
  AddCheckpointOptions(*sub, o->cf.checkpoint, "similarity block task");
  AddClusterOptions(*sub, o->cluster);
  AddConfigOption(*sub);
  sub->callback([o, sub, dp_seed, sel = tree.selected] {
    const Status checkpoint = ResolveCheckpointOptions(*sub, o->cf.checkpoint);
    const auto given = [sub](const char* name) { return sub->get_option(name)->count() > 0; };
    std::string dp_only;
    for (const char* name : {"--dp-delta", "--dp-items", "--dp-max-items", "--dp-seed"}) {
      if (given(name) && dp_only.empty()) dp_only = name;
    }
    if (dp_seed->count() > 0) o->cf.dp.test_seed = o->dp_seed;
    *sel = [o, checkpoint, dp_only]() -> Status {
      ECPS_RETURN_IF_ERROR(checkpoint);
      if (!o->cf.dp.enabled() && !dp_only.empty()) {
        return InvalidArgument(fmt::format("{}: only with --dp-epsilon", dp_only));
      }
      ECPS_RETURN_IF_ERROR(o->cf.ValidateDp());
      if (o->cf.dp.enabled() && o->cf.dp.test_seed) {
        std::fprintf(stderr, "warning: --dp-seed makes the noise replayable: this run is NOT "
                             "differentially private (for tests only)\n");
      }
      o->cf.quiet = o->cluster.quiet;
      ECPS_RETURN_IF_ERROR(util::CheckStdinInputs(
          {{"--train", o->cf.train},
           {"--item-attributes", o->cf.item_attributes},
           {"--item-text", o->cf.item_text}},
          o->cluster.RunsLocally()));
      ECPS_ASSIGN_OR_RETURN(o->cf.ids, o->ids.LoadFilter());
      ECPS_ASSIGN_OR_RETURN(o->cf.encrypt, LoadEncryptKey(o->encrypt_key));
      o->cf.single_process = o->cluster.RunsLocally();
      ECPS_RETURN_IF_ERROR(RunWritingOutput(&o->cluster, o->cf.out, [&] {
        return models::cf::TrainCf(o->cf, [o](const sched::JobFactory& factory) {
          return RunCluster(o->cluster, factory);
        });
      }));
      return PrintTrainingSummary(o->cluster.quiet, o->cf.kind_name(), o->cf.out);
    };
  });
}

void PrintCsv(const std::vector<std::pair<std::string, double>>& rows, const char* header) {
  std::printf("%s\n", header);
  for (const auto& [id, score] : rows) std::printf("%s,%.6g\n", id.c_str(), score);
}

// Writes `text` to stdout.
Status WriteStdout(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    return IoError("stdout: write failed");
  }
  return Status::Ok();
}

// Answers every user of `users` with `r` as CSV on stdout: user,item,score,fallback, the
// fallback field "popularity" for a user the model does not know (recommendations.csv's
// columns plus that flag). `lookup` holds the pseudonyms looked up, when the model was trained
// with --pseudonymize-key (the user column keeps the ids as given).
// `R` is a cf::Recommender or an mf::MfRecommender over a model `m` with item_ids.
template <class M, class R>
Status PrintBatch(const M& m, R& r, const std::vector<std::string>& users,
                  const std::vector<std::string>& lookup, std::size_t n, bool fill) {
  std::string text = "user,item,score,fallback\n";
  std::vector<models::cf::Scored> top;
  char score[64];
  for (std::size_t i = 0; i < users.size(); ++i) {
    const bool fallback = r.Recommend(lookup[i], n, fill, &top);
    const std::string user = models::CsvField(users[i]);
    for (const auto& s : top) {
      std::snprintf(score, sizeof score, "%.6g", s.score);
      text += fmt::format("{},{},{},{}\n", user, models::CsvField(m.item_ids[s.item]), score,
                          fallback ? "popularity" : "");
    }
  }
  return WriteStdout(text);
}

// `ecps recommend --predict-pairs`: predicted ratings of an mf rating model (mf_predict.h).
Status PredictPairs(const std::string& model, const std::string& file, const std::string& key_file,
                    const std::string& encrypt_key) {
  ECPS_ASSIGN_OR_RETURN(const auto encrypt, LoadEncryptKey(encrypt_key));
  ECPS_ASSIGN_OR_RETURN(const bool is_mf, models::mf::IsMfModel(model, encrypt.get()));
  if (!is_mf) {
    return InvalidArgument(
        fmt::format("{}: --predict-pairs needs an mf model trained with --task rating", model));
  }
  ECPS_ASSIGN_OR_RETURN(const auto m, models::mf::LoadMfModel(model, encrypt.get()));
  if (!m.rating()) {
    return InvalidArgument(fmt::format("{}: this mf model was trained for ranking (its scores are "
                                       "not ratings); train it with --task rating", model));
  }
  ECPS_ASSIGN_OR_RETURN(const auto list, models::mf::ReadRatingPairs(file));
  std::vector<std::string> lookup;
  for (const auto& p : list) lookup.push_back(p.user);
  if (!key_file.empty()) {
    ECPS_ASSIGN_OR_RETURN(const auto key, privacy::PseudonymKey::Load(key_file));
    for (auto& id : lookup) id = privacy::Pseudonymize(key, id);
  }
  return WriteStdout(models::mf::PredictPairsCsv(m, list, lookup));
}

// `ecps recommend --history`: an itemcf model's top-n for a list of items (item,score).
Status RecommendFromHistory(const std::string& model, const std::vector<std::string>& history,
                            const std::string& encrypt_key, int n, bool fill) {
  ECPS_ASSIGN_OR_RETURN(const auto encrypt, LoadEncryptKey(encrypt_key));
  if (auto mf = models::mf::IsMfModel(model, encrypt.get()); mf.ok() && mf.value()) {
    return InvalidArgument(fmt::format("{}: --history needs an itemcf model; this one is mf", model));
  }
  ECPS_ASSIGN_OR_RETURN(const auto m, models::cf::LoadCfModel(model, encrypt.get()));
  if (!m.item_based()) {
    return InvalidArgument(
        fmt::format("{}: --history needs an itemcf model; this one is {} (give --user)", model, m.kind));
  }
  const std::vector<std::string_view> ids(history.begin(), history.end());
  std::vector<std::string_view> unknown;
  std::vector<models::cf::Scored> top;
  models::cf::ItemScores scores(static_cast<std::uint32_t>(m.item_ids.size()));
  const bool fallback = models::cf::RecommendFromItemIds(
      m, models::cf::IdIndex(m.item_ids), models::cf::Popularity::From(m.item_count), ids,
      static_cast<std::size_t>(n), fill, &scores, &top, &unknown);
  for (const auto id : unknown) {
    std::fprintf(stderr, "ecps: item \"%.*s\" is not in the model: skipped\n", static_cast<int>(id.size()),
                 id.data());
  }
  if (fallback) std::fprintf(stderr, "ecps: no item of --history is in the model: most popular items\n");
  std::vector<std::pair<std::string, double>> rows;
  for (const auto& s : top) rows.emplace_back(m.item_ids[s.item], s.score);
  PrintCsv(rows, "item,score");
  return Status::Ok();
}

void AddRecommend(CommandTree& tree) {
  struct Opts {
    std::string model;
    std::string user;
    std::string users;
    std::string pairs;
    std::vector<std::string> history;
    int n = 10;
    bool fill = true;
    std::string key_file;
    std::string encrypt_key;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = tree.root->add_subcommand(
      "recommend",
      "Top-N items for one user (--user) or for a list of users (--users, one model load) of a "
      "trained itemcf/usercf/mf model (seen items excluded)");
  sub->add_option("--model", o->model, "Model folder (or its model.ecps) written by ecps train itemcf|usercf|mf")
      ->required();
  auto* user = sub->add_option("--user", o->user,
                               "User id as in the training file; prints item,score (an unknown "
                               "user gets the most popular items, said on stderr)");
  auto* users = sub->add_option(
      "--users", o->users,
      "File of user ids, one per line (- for standard input); prints the CSV "
      "user,item,score,fallback, fallback = popularity for a user the model does not know");
  auto* pairs = sub->add_option(
      "--predict-pairs", o->pairs,
      "File of user,item pairs (CSV, first two fields, optional header; - for standard input) "
      "for an mf model trained with --task rating: prints user,item,rating,fallback, the "
      "predicted rating clipped to the training ratings' range; fallback item, user or mean "
      "where the user, the item or both are unknown");
  auto* history = sub->add_option(
      "--history", o->history,
      "Item ids someone interacted with (several, or separated by commas) for an itemcf model: "
      "prints item,score from those items' neighbours, whether or not the model knows the user "
      "(a private model keeps no users; a visitor's session); ids the model does not know are "
      "named on stderr and skipped")
      ->delimiter(',');
  user->excludes(users);
  pairs->excludes(user)->excludes(users);
  history->excludes(user)->excludes(users)->excludes(pairs);
  sub->add_option("-n,--top-n", o->n, "Number of items")->capture_default_str()->check(Positive());
  sub->add_option("--fill-popular", o->fill, "Complete the list with popular items")->capture_default_str();
  AddLookupKeyOption(*sub, o->key_file);
  AddEncryptKeyOption(*sub, o->encrypt_key,
                      "the key the model was trained with (train itemcf|usercf --encrypt-key), to "
                      "open its sealed model.ecps");
  AddConfigOption(*sub);
  sub->callback([o, user, users, pairs, history, sel = tree.selected] {
    *sel = [o, batch = users->count() > 0, single = user->count() > 0,
            predict = pairs->count() > 0, from_history = history->count() > 0]() -> Status {
      if (predict) return PredictPairs(o->model, o->pairs, o->key_file, o->encrypt_key);
      if (from_history) return RecommendFromHistory(o->model, o->history, o->encrypt_key, o->n, o->fill);
      if (!batch && !single) {
        return InvalidArgument("give --user ID, --users FILE, --history ITEMS or --predict-pairs FILE");
      }
      std::vector<std::string> ids{o->user};
      if (batch) {
        ECPS_ASSIGN_OR_RETURN(ids, models::cf::ReadIdList(o->users));
      }
      std::vector<std::string> lookup = ids;  // the ids as the model holds them
      if (!o->key_file.empty()) {
        ECPS_ASSIGN_OR_RETURN(const auto key, privacy::PseudonymKey::Load(o->key_file));
        for (auto& id : lookup) id = privacy::Pseudonymize(key, id);
      }
      ECPS_ASSIGN_OR_RETURN(const auto encrypt, LoadEncryptKey(o->encrypt_key));
      // An mf model (models/mf) or a CF one: the same answers and columns.
      auto answer = [&](const auto& m, auto& r) -> Status {
        const auto n = static_cast<std::size_t>(o->n);
        if (batch) return PrintBatch(m, r, ids, lookup, n, o->fill);
        std::vector<models::cf::Scored> top;
        if (r.Recommend(lookup[0], n, o->fill, &top)) {
          std::fprintf(stderr, "ecps: user \"%s\" is not in the model: most popular items\n",
                       lookup[0].c_str());
        }
        std::vector<std::pair<std::string, double>> rows;
        for (const auto& s : top) rows.emplace_back(m.item_ids[s.item], s.score);
        PrintCsv(rows, "item,score");
        return Status::Ok();
      };
      // A file that is no model, or a damaged one, gets the CF loader's message.
      if (auto mf = models::mf::IsMfModel(o->model, encrypt.get()); mf.ok() && mf.value()) {
        ECPS_ASSIGN_OR_RETURN(const auto m, models::mf::LoadMfModel(o->model, encrypt.get()));
        models::mf::MfRecommender r(m);
        return answer(m, r);
      }
      ECPS_ASSIGN_OR_RETURN(auto m, models::cf::LoadCfModel(o->model, encrypt.get()));
      models::cf::Recommender r(m);
      return answer(m, r);
    };
  });
}

// Prints the neighbours of `entities` (ids `given`, as the user wrote them) as the CSV
// item|user,neighbor,score,fallback, fallback = content for a cold item (its neighbours by
// attributes and/or text).
Status PrintNeighborBatch(const models::cf::CfModel& m, const std::vector<std::string>& given,
                          const std::vector<std::uint32_t>& entities, std::size_t n) {
  const auto& ids = m.item_based() ? m.item_ids : m.user_ids;
  std::string text = fmt::format("{},neighbor,score,fallback\n", m.item_based() ? "item" : "user");
  char score[64];
  for (std::size_t i = 0; i < entities.size(); ++i) {
    bool cold = false;
    const std::string id = models::CsvField(given[i]);
    for (const auto& s : models::cf::NeighborsOf(m, entities[i], n, &cold)) {
      std::snprintf(score, sizeof score, "%.6g", s.score);
      text += fmt::format("{},{},{},{}\n", id, models::CsvField(ids[s.item]), score,
                          cold ? "content" : "");
    }
  }
  return WriteStdout(text);
}

// `ecps similar` on an mf model: items only, neighbours by the cosine of their factors
// (the columns of the CF answers; `list` names the id file in messages).
Status SimilarMf(const std::string& model, const privacy::EncryptionKey* key,
                 const std::vector<std::string>& given, bool asked_items, const std::string& list,
                 bool batch, std::size_t n) {
  if (!asked_items) {
    return InvalidArgument(fmt::format("{}: this model is mf: give --item or --items", model));
  }
  ECPS_ASSIGN_OR_RETURN(const auto m, models::mf::LoadMfModel(model, key));
  const models::cf::IdIndex index(m.item_ids);
  std::string text = batch ? "item,neighbor,score,fallback\n" : "item,score\n";
  char score[64];
  for (std::size_t i = 0; i < given.size(); ++i) {
    const std::int64_t e = index.Find(given[i]);
    if (e < 0) {
      const std::string where = batch ? fmt::format("{}:{}: ", list, i + 1) : "";
      return NotFound(fmt::format("{}item \"{}\" is not in the model {}", where, given[i], model));
    }
    for (const auto& s : models::mf::SimilarItems(m, static_cast<std::uint32_t>(e), n)) {
      std::snprintf(score, sizeof score, "%.6g", s.score);
      text += batch ? fmt::format("{},{},{},\n", models::CsvField(given[i]),
                                  models::CsvField(m.item_ids[s.item]), score)
                    : fmt::format("{},{}\n", m.item_ids[s.item], score);
    }
  }
  return WriteStdout(text);
}

void AddSimilar(CommandTree& tree) {
  struct Opts {
    std::string model;
    std::string item, user;    // one id
    std::string items, users;  // a file of ids
    int n = 10;
    std::string key_file;
    std::string encrypt_key;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = tree.root->add_subcommand(
      "similar", "Nearest neighbours of an item (itemcf model; mf model: by the cosine of item factors) or a "
      "user (usercf model), best first");
  sub->add_option("--model", o->model, "Model folder (or its model.ecps)")->required();
  auto* item = sub->add_option("--item", o->item, "Item id (itemcf and mf models)");
  auto* user = sub->add_option("--user", o->user, "User id (usercf models)");
  auto* items = sub->add_option(
      "--items", o->items,
      "File of item ids, one per line (- for standard input; itemcf and mf models): prints the CSV "
      "item,neighbor,score,fallback, fallback = attributes for a cold item");
  auto* users = sub->add_option("--users", o->users,
                                "File of user ids, one per line (- for standard input; usercf "
                                "models): prints the CSV user,neighbor,score,fallback");
  for (auto* a : {item, user, items, users}) {
    for (auto* b : {item, user, items, users}) {
      if (a != b) a->excludes(b);
    }
  }
  sub->add_option("-n,--top-n", o->n, "Number of neighbours")->capture_default_str()->check(Positive());
  AddLookupKeyOption(*sub, o->key_file);
  AddEncryptKeyOption(*sub, o->encrypt_key,
                      "the key the model was trained with (train itemcf|usercf --encrypt-key), to "
                      "open its sealed model.ecps");
  AddConfigOption(*sub);
  sub->callback([o, sel = tree.selected] {
    *sel = [o]() -> Status {
      const bool batch = !o->items.empty() || !o->users.empty();
      std::vector<std::string> given{o->user.empty() ? o->item : o->user};
      if (batch) {
        ECPS_ASSIGN_OR_RETURN(given,
                              models::cf::ReadIdList(o->users.empty() ? o->items : o->users));
      }
      std::vector<std::string> lookup = given;  // the ids as the model holds them
      if (!o->key_file.empty() && (!o->user.empty() || !o->users.empty())) {
        ECPS_ASSIGN_OR_RETURN(const auto key, privacy::PseudonymKey::Load(o->key_file));
        for (auto& id : lookup) id = privacy::Pseudonymize(key, id);
      }
      ECPS_ASSIGN_OR_RETURN(const auto encrypt, LoadEncryptKey(o->encrypt_key));
      if (auto mf = models::mf::IsMfModel(o->model, encrypt.get()); mf.ok() && mf.value()) {
        return SimilarMf(o->model, encrypt.get(), given, !o->item.empty() || !o->items.empty(),
                         o->items == "-" ? "stdin" : o->items, batch, static_cast<std::size_t>(o->n));
      }
      ECPS_ASSIGN_OR_RETURN(auto m, models::cf::LoadCfModel(o->model, encrypt.get()));
      const bool by_item = m.item_based();
      const char* what = by_item ? "item" : "user";
      const bool asked_items = !o->item.empty() || !o->items.empty();
      if (given[0].empty() && !batch) {
        return InvalidArgument(
            fmt::format("{}: this model is {}: give --{}", o->model, m.kind, what));
      }
      if (asked_items != by_item) {
        return InvalidArgument(fmt::format("{}: this model is {}: give --{} or --{}s", o->model,
                                           m.kind, what, what));
      }
      const auto& ids = by_item ? m.item_ids : m.user_ids;
      const models::cf::IdIndex index(ids);
      std::vector<std::uint32_t> entities;
      for (std::size_t i = 0; i < lookup.size(); ++i) {
        const std::int64_t e = index.Find(lookup[i]);
        if (e >= 0) {
          entities.push_back(static_cast<std::uint32_t>(e));
        } else if (batch) {
          const std::string& list = o->users.empty() ? o->items : o->users;
          return NotFound(fmt::format("{}:{}: {} \"{}\" is not in the model {}",
                                      list == "-" ? "stdin" : list, i + 1, what, given[i],
                                      o->model));
        } else {
          return NotFound(
              fmt::format("{} \"{}\" is not in the model {}", what, given[i], o->model));
        }
      }
      const auto n = static_cast<std::size_t>(o->n);
      if (!batch) {
        bool cold = false;
        const auto top = models::cf::NeighborsOf(m, entities[0], n, &cold);
        if (cold) {
          std::fprintf(stderr, "ecps: \"%s\" is a cold item: neighbours by content (attributes, text)\n",
                       given[0].c_str());
        }
        std::vector<std::pair<std::string, double>> rows;
        for (const auto& s : top) rows.emplace_back(ids[s.item], s.score);
        PrintCsv(rows, by_item ? "item,score" : "user,score");
        return Status::Ok();
      }
      return PrintNeighborBatch(m, given, entities, n);
    };
  });
}

}  // namespace

void AddCfCommands(CommandTree& tree) {
  AddTrainCf(tree, models::cf::CfKind::kItemCf);
  AddTrainCf(tree, models::cf::CfKind::kUserCf);
  AddRecommend(tree);
  AddSimilar(tree);
}

}  // namespace ecps::launch
