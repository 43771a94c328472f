// The scheduler's outputs of matrix factorisation (mf_state.h).
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/cf/outputs.h"
#include "models/mf/mf_model.h"
#include "models/mf/mf_state.h"
#include "ps/stopwatch.h"
#include "util/files.h"
#include "util/output_folder.h"

namespace ecps::models::mf {
namespace {

// The model file's content: ids, factors, and every user's training items.
Result<MfModel> BuildModel(const MfResults& in, const cf::UserLocator& where) {
  const cf::RankState& state = in.state;
  const std::size_t f = static_cast<std::size_t>(in.options.factors);
  MfModel m;
  m.factors = static_cast<std::uint32_t>(f);
  m.regularization = in.options.regularization;
  m.alpha = in.options.alpha;
  m.iterations = static_cast<std::uint32_t>(in.options.iterations);
  m.user_ids = state.user_ids;
  m.item_ids = state.item_ids;
  m.item_count = state.item_count;
  m.user_factors.assign(std::size_t{state.n_users} * f, 0.0);
  const bool rating = in.options.task == MfTask::kRating;
  if (rating) {
    if (in.rating.empty()) return Internal("no rating statistics");
    m.task = MfTask::kRating;
    m.global_mean = in.rating.front().mu;
    m.rating_min = in.rating.front().min;
    m.rating_max = in.rating.front().max;
    m.user_bias.assign(state.n_users, 0.0);
  }
  for (const Factors& part : in.factors) {
    if (rating && part.user_bias.size() != part.users.size()) return Internal("user biases");
    if (part.x.size() != part.users.size() * f) return Internal("user factors of the wrong size");
    for (std::size_t p = 0; p < part.users.size(); ++p) {
      if (part.users[p] >= state.n_users) return Internal("a user index out of range");
      std::copy_n(part.x.begin() + static_cast<std::ptrdiff_t>(p * f), f,
                  m.user_factors.begin() + static_cast<std::ptrdiff_t>(part.users[p] * f));
    }
    if (rating) {
      for (std::size_t p = 0; p < part.users.size(); ++p) m.user_bias[part.users[p]] = part.user_bias[p];
    }
    if (!part.y.empty()) m.item_factors = part.y;
    if (!part.item_bias.empty()) m.item_bias = part.item_bias;
  }
  m.train_ptr.assign(1, 0);
  for (std::uint32_t u = 0; u < state.n_users; ++u) {
    if (where.Found(u)) {
      const cf::WorkerReport& r = in.reports[where.report(u)];
      const std::size_t p = where.position(u);
      m.train_item.insert(m.train_item.end(),
                          r.train_item.begin() + static_cast<std::ptrdiff_t>(r.train_ptr[p]),
                          r.train_item.begin() + static_cast<std::ptrdiff_t>(r.train_ptr[p + 1]));
    }
    m.train_ptr.push_back(m.train_item.size());
  }
  return m;
}

// metrics.json's "rating" section: held-out RMSE and MAE of the model and the baselines
// (null without held-out ratings), the training RMSE, and the training ratings' mean and range.
nlohmann::json RatingJson(const std::vector<RatingEval>& parts) {
  RatingEval t;
  for (const auto& e : parts) {
    t.n += e.n;
    t.train_n += e.train_n;
    t.train_sse += e.train_sse;
    for (int m = 0; m < 3; ++m) {
      t.sse[m] += e.sse[m];
      t.sae[m] += e.sae[m];
    }
  }
  const RatingEval& first = parts.front();
  nlohmann::json j = {{"ratings", t.n},
                      {"mean", first.mu},
                      {"range", {first.min, first.max}},
                      {"train_rmse", t.train_n > 0 ? std::sqrt(t.train_sse / t.train_n) : 0.0}};
  const char* names[3] = {"mf", "global_mean", "biases"};
  for (int m = 0; m < 3; ++m) {
    nlohmann::json e = {{"rmse", nullptr}, {"mae", nullptr}};
    if (t.n > 0) e = {{"rmse", std::sqrt(t.sse[m] / t.n)}, {"mae", t.sae[m] / t.n}};
    j[names[m]] = e;
  }
  return j;
}

}  // namespace

Status WriteMfOutputs(sched::JobContext& ctx, const MfResults& in) {
  const ps::Stopwatch write_time;
  const cf::CfOptions& o = in.options.cf;
  const cf::RankState& state = in.state;
  ECPS_RETURN_IF_ERROR(util::PrepareOutputDir(o.out));
  auto path = [&](const char* name) { return (std::filesystem::path(o.out) / name).string(); };
  const cf::UserLocator where(in.reports, state.n_users);
  const cf::NeighborLists none;
  cf::CsvStats csv;
  if (o.top_n > 0) {
    ECPS_RETURN_IF_ERROR(cf::WriteRecommendations(
        path("recommendations.csv"), {o, in.settings, state, in.reports, none, none}, where,
        &csv));
  }
  if (o.save_model) {
    ECPS_ASSIGN_OR_RETURN(const MfModel model, BuildModel(in, where));
    // The checks `recommend` applies when loading: a model that would be refused is not
    // written.
    if (Status s = CheckMfModel(model, "the trained model"); !s.ok()) return Internal(s.message());
    ECPS_RETURN_IF_ERROR(SaveMfModel(path("model.ecps"), model, o.encrypt.get()));
  }
  cf::EvalSums model(o.metrics_k.size()), popularity(o.metrics_k.size());
  cf::Coverage model_coverage(state.n_items), popularity_coverage(state.n_items);
  double als_s = 0, recommend_s = 0;
  for (const auto& r : in.reports) {
    model.Merge(r.model);
    popularity.Merge(r.popularity);
    model_coverage.Merge(r.model_coverage);
    popularity_coverage.Merge(r.popularity_coverage);
    als_s = std::max(als_s, r.similarity_s);
    recommend_s = std::max(recommend_s, r.recommend_s);
  }
  nlohmann::json j;
  j["model"] = "mf";
  j["config"] = in.options.ToJson();
  j["data"] = state.data;
  j["iterations"] = {{"count", in.iteration_s.size()}, {"seconds", in.iteration_s}};
  const double n_items = state.n_items ? state.n_items : 1;
  if (in.settings.evaluate) {
    auto mj = model.ToJson(o.metrics_k), pj = popularity.ToJson(o.metrics_k);
    j["evaluation"] = {{"split", std::string(cf::SpellingOf(cf::kSplitKinds, o.split))},
                       {"on", std::string(cf::SpellingOf(cf::kEvalTargets, o.evaluate_on))},
                       {"users", model.users},
                       {"sampled_negatives", o.sampled_negatives},
                       {"full", {{"mf", mj["full"]}, {"popularity", pj["full"]}}},
                       {"sampled", {{"mf", mj["sampled"]}, {"popularity", pj["sampled"]}}}};
  }
  if (!in.rating.empty()) {
    j["rating"] = RatingJson(in.rating);
    j["rating"]["on"] = in.settings.evaluate ? cf::SpellingOf(cf::kEvalTargets, o.evaluate_on) : "";
  }
  j["coverage"] = {{"n", o.top_n},
                   {"mf", static_cast<double>(model_coverage.Count()) / n_items},
                   {"popularity", static_cast<double>(popularity_coverage.Count()) / n_items}};
  j["roles"] = {{"servers", ctx.node.roles().num_servers()},
                {"workers", ctx.node.roles().num_workers()}};
  j["timings"] = {{"ingest_s", state.ingest_s},
                  {"als_s", als_s},
                  {"recommend_s", recommend_s},
                  {"write_s", write_time.Seconds()},
                  {"total_s", state.since_start.Seconds()}};
  ECPS_RETURN_IF_ERROR(util::WriteJsonFile(path("metrics.json"), j));
  ECPS_ASSIGN_OR_RETURN(auto log, util::JsonLinesLog::Open(path("metrics.jsonl")));
  for (std::size_t it = 0; it < in.iteration_s.size(); ++it) {
    ECPS_RETURN_IF_ERROR(log->Append({{"iteration", it + 1}, {"seconds", in.iteration_s[it]}}));
  }
  if (in.settings.evaluate) {
    for (const char* protocol : {"full", "sampled"}) {
      for (const char* method : {"mf", "popularity"}) {
        nlohmann::json line = j["evaluation"][protocol][method];
        line["protocol"] = protocol;
        line["method"] = method;
        ECPS_RETURN_IF_ERROR(log->Append(line));
      }
    }
  }
  if (j.contains("rating")) {
    nlohmann::json line = j["rating"];
    line["method"] = "rating";
    ECPS_RETURN_IF_ERROR(log->Append(line));
  }
  ECPS_RETURN_IF_ERROR(log->Close());
  if (in.settings.evaluate) {
    const std::string k = std::to_string(in.settings.max_k);
    auto val = [&](const char* protocol, const char* method, const char* metric) {
      return j["evaluation"][protocol][method][std::string(metric) + "@" + k].get<double>();
    };
    ctx.node.log().info(
        "mf on {} ({} users): full HR@{} {:.4f} NDCG@{} {:.4f} (popularity {:.4f} / {:.4f}); "
        "sampled HR@{} {:.4f} NDCG@{} {:.4f} (popularity {:.4f} / {:.4f})",
        cf::SpellingOf(cf::kEvalTargets, o.evaluate_on), model.users, k, val("full", "mf", "HR"), k,
        val("full", "mf", "NDCG"), val("full", "popularity", "HR"), val("full", "popularity", "NDCG"),
        k, val("sampled", "mf", "HR"), k, val("sampled", "mf", "NDCG"),
        val("sampled", "popularity", "HR"), val("sampled", "popularity", "NDCG"));
  }
  if (j.contains("rating") && !j["rating"]["mf"]["rmse"].is_null()) {
    const auto& r = j["rating"];
    ctx.node.log().info(
        "mf ratings ({} held out): RMSE {:.4f} MAE {:.4f} (global mean {:.4f} / {:.4f}, biases "
        "{:.4f} / {:.4f}); training RMSE {:.4f}",
        r["ratings"].get<double>(), r["mf"]["rmse"].get<double>(), r["mf"]["mae"].get<double>(),
        r["global_mean"]["rmse"].get<double>(), r["global_mean"]["mae"].get<double>(),
        r["biases"]["rmse"].get<double>(), r["biases"]["mae"].get<double>(),
        r["train_rmse"].get<double>());
  }
  ctx.node.log().info("mf: {} factors, {} iterations in {:.2f} s, recommendations {:.2f} s; outputs in {}",
                      in.options.factors, in.options.iterations, als_s, recommend_s, o.out);
  return Status::Ok();
}

}  // namespace ecps::models::mf
