#include "models/cf/outputs.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <numeric>

#include <nlohmann/json.hpp>

#include "models/cf/checkpoint.h"
#include "models/cf/pack.h"
#include "models/cf/topk.h"
#include "models/common/csv_field.h"
#include "models/common/sealed_output.h"
#include "ps/stopwatch.h"
#include "scheduler/traffic.h"
#include "util/files.h"
#include "util/output_folder.h"

namespace ecps::models::cf {
namespace {

// CPU seconds of the calling thread.
double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Rows `a,b,score` (score as %.6g) formatted with std::to_chars into a large buffer that
// goes to an OutputFile (sealed with a key) in pieces of about 4 MiB.
class CsvOut {
 public:
  static Result<CsvOut> Open(const std::string& path, const privacy::EncryptionKey* key) {
    ECPS_ASSIGN_OR_RETURN(auto w, OutputFile::Open(path, key));
    return CsvOut(std::move(w));
  }
  void Text(std::string_view s) {
    Reserve(s.size());
    std::memcpy(buf_.data() + used_, s.data(), s.size());
    used_ += s.size();
  }
  void Row(std::string_view a, std::string_view b, float score) {
    constexpr std::size_t kNumber = 32;  // "-1.23457e-38" and the separators fit
    Reserve(a.size() + b.size() + kNumber);
    char* p = buf_.data() + used_;
    std::memcpy(p, a.data(), a.size());
    p += a.size();
    *p++ = ',';
    std::memcpy(p, b.data(), b.size());
    p += b.size();
    *p++ = ',';
    p = std::to_chars(p, p + kNumber - 3, score, std::chars_format::general, 6).ptr;
    *p++ = '\n';
    used_ = static_cast<std::size_t>(p - buf_.data());
  }
  Status MaybeFlush() { return used_ < kPiece ? Status::Ok() : Flush(); }
  // Writes the rest and commits the file, adding to `*stats`.
  Status Commit(CsvStats* stats) {
    ECPS_RETURN_IF_ERROR(Flush());
    stats->bytes += written_;
    stats->format_s += since_open_.Seconds();
    stats->format_cpu_s += ThreadCpuSeconds() - cpu_at_open_;
    const ps::Stopwatch sync;
    ECPS_RETURN_IF_ERROR(writer_->Commit());
    stats->sync_s += sync.Seconds();
    return Status::Ok();
  }

 private:
  static constexpr std::size_t kPiece = std::size_t{4} << 20;
  explicit CsvOut(std::unique_ptr<OutputFile> writer)
      : writer_(std::move(writer)), buf_(kPiece + (std::size_t{1} << 16)) {}
  void Reserve(std::size_t n) {
    if (buf_.size() - used_ < n) buf_.resize(used_ + n + buf_.size());
  }
  Status Flush() {
    ECPS_RETURN_IF_ERROR(writer_->Write({buf_.data(), used_}));
    written_ += used_;
    used_ = 0;
    return Status::Ok();
  }
  std::unique_ptr<OutputFile> writer_;
  std::vector<char> buf_;
  std::size_t used_ = 0;
  std::uint64_t written_ = 0;
  ps::Stopwatch since_open_;
  double cpu_at_open_ = ThreadCpuSeconds();
};

// Ids as CSV fields (quoted where needed), formatted once.
class CsvFields {
 public:
  explicit CsvFields(const std::vector<std::string>& ids) {
    at_.reserve(ids.size() + 1);
    for (const std::string& id : ids) {
      at_.push_back(text_.size());
      AppendCsvField(&text_, id);
    }
    at_.push_back(text_.size());
  }
  std::string_view operator[](std::size_t i) const {
    return std::string_view(text_).substr(at_[i], at_[i + 1] - at_[i]);
  }

 private:
  std::string text_;
  std::vector<std::size_t> at_;
};

}  // namespace

Status WriteRecommendations(const std::string& path, const TrainedResults& in,
                            const UserLocator& where, CsvStats* stats) {
  const auto N = static_cast<std::size_t>(in.options.top_n);
  ECPS_ASSIGN_OR_RETURN(CsvOut out, CsvOut::Open(path, in.options.encrypt.get()));
  const CsvFields users(in.state.user_ids), items(in.state.item_ids);
  out.Text("user,item,score\n");
  for (std::uint32_t u = 0; u < in.state.n_users; ++u) {
    if (!where.Found(u)) continue;
    const WorkerReport& r = in.reports[where.report(u)];
    const std::size_t p = where.position(u);
    for (std::size_t t = 0; t < r.rec_count[p]; ++t) {
      out.Row(users[u], items[r.rec_items[p * N + t]], r.rec_scores[p * N + t]);
    }
    ECPS_RETURN_IF_ERROR(out.MaybeFlush());
  }
  return out.Commit(stats);
}

namespace {

// `lists` with entity ids `ids`, one line per neighbour under `header`.
Status WriteNeighborLists(const std::string& path, const NeighborLists& lists,
                          const std::vector<std::string>& ids, std::string_view header,
                          const privacy::EncryptionKey* key, CsvStats* stats) {
  ECPS_ASSIGN_OR_RETURN(CsvOut out, CsvOut::Open(path, key));
  const CsvFields fields(ids);
  out.Text(header);
  for (std::size_t e = 0; e < lists.size(); ++e) {
    auto neighbors = lists.Ids(e);
    auto scores = lists.Scores(e);
    for (std::size_t t = 0; t < neighbors.size(); ++t) {
      out.Row(fields[e], fields[neighbors[t]], scores[t]);
    }
    ECPS_RETURN_IF_ERROR(out.MaybeFlush());
  }
  return out.Commit(stats);
}

// The model file's content: options, ids, neighbour lists and every user's training rows,
// read where they are (the reports), not copied.
CfModelParts ModelParts(const TrainedResults& in, const UserLocator& where) {
  const CfOptions& options = in.options;
  CfModelParts m;
  m.kind = options.kind_name();
  m.similarity = MeasureName(in.settings.sim.measure);
  m.scoring = ScoringName(in.settings.scoring);
  m.recency_decay = options.dp.enabled() ? 1.0 : options.recency_decay;  // DP: no rows to age
  if (HasContent(options)) {
    m.content = &in.content;
    m.cold_threshold = static_cast<std::uint32_t>(options.cold_threshold);
    m.content_blend = options.content_blend;
  }
  m.explicit_ratings = in.settings.explicit_ratings;
  // A private run's model holds what the noisy matrix gives only: no users, no training rows
  // (recommendations.csv has each user's list, from the user's own history).
  static const std::vector<std::string> kNoUsers;
  m.user_ids = options.dp.enabled() ? &kNoUsers : &in.state.user_ids;
  m.item_ids = &in.state.item_ids;
  m.neighbors = &in.neighbors;
  m.item_count = &in.state.item_count;
  for (const WorkerReport& r : in.reports) {
    m.has_values = m.has_values || !r.train_val.empty();
    m.has_ages = m.has_ages || !r.train_age.empty();
  }
  m.rows = [&in, &where](std::uint32_t u) {
    if (in.options.dp.enabled() || !where.Found(u)) return TrainRows{};
    const WorkerReport& r = in.reports[where.report(u)];
    const std::size_t p = where.position(u), b = r.train_ptr[p], n = r.train_ptr[p + 1] - b;
    auto part = [&](auto span) { return span.empty() ? span : span.subspan(b, n); };
    return TrainRows{r.train_item.subspan(b, n), part(r.train_val), part(r.train_age)};
  };
  return m;
}

// The workers' partials added up.
struct MergedReports {
  EvalSums model, popularity;
  Coverage model_coverage, popularity_coverage;
  std::uint64_t pairs = 0;
  double similarity_s = 0, recommend_s = 0;  // the slowest worker's
};

MergedReports Merge(const TrainedResults& in) {
  MergedReports total{EvalSums(in.options.metrics_k.size()), EvalSums(in.options.metrics_k.size()),
                      Coverage(in.state.n_items), Coverage(in.state.n_items)};
  for (const auto& r : in.reports) {
    total.model.Merge(r.model);
    total.popularity.Merge(r.popularity);
    total.model_coverage.Merge(r.model_coverage);
    total.popularity_coverage.Merge(r.popularity_coverage);
    total.pairs += r.pairs;
    total.similarity_s = std::max(total.similarity_s, r.similarity_s);
    total.recommend_s = std::max(total.recommend_s, r.recommend_s);
  }
  return total;
}

// metrics.json without its timings.
nlohmann::json MetricsJson(const TrainedResults& in, const MergedReports& total,
                           const sched::ShardPlan& plan, const ps::RoleTable& roles) {
  const CfOptions& o = in.options;
  const RankState& state = in.state;
  const std::string kind = o.kind_name();
  nlohmann::json j;
  j["model"] = kind;
  j["config"] = o.ToJson();
  j["data"] = state.data;
  if (HasContent(o)) {
    std::size_t cold = 0;
    for (auto c : state.item_count)
      cold += c < static_cast<std::uint32_t>(o.cold_threshold) ? 1 : 0;
    j["content"] = {{"attributes", o.item_attributes},
                    {"items_with_attributes", state.features.items_with_attributes},
                    {"features", state.features.names.size()},
                    {"cold_items", cold},
                    {"cold_threshold", o.cold_threshold},
                    {"content_blend", o.content_blend}};
    if (!o.item_text.empty()) {
      j["content"]["text"] = {{"file", o.item_text},
                              {"columns", o.text_columns},
                              {"weighting", "tf-idf"},
                              {"items_with_text", state.features.items_with_text},
                              {"invalid_utf8_bytes", state.features.invalid_utf8_bytes},
                              {"text_weight", o.item_attributes.empty() ? 1.0 : o.text_weight},
                              {"stop_words", o.text_stop_words}};
    }
  }
  std::size_t with_neighbors = 0, neighbor_slots = 0;
  for (std::size_t e = 0; e < in.neighbors.size(); ++e) {
    const std::size_t n = in.neighbors.Ids(e).size();
    with_neighbors += n > 0 ? 1 : 0;
    neighbor_slots += n;
  }
  const std::size_t blocks = plan.block_bounds.empty() ? 0 : plan.block_bounds.size() - 1;
  const std::size_t tasks = blocks * (blocks + 1) / 2;  // a resumed run's plan holds fewer
  const std::size_t n_lists = in.neighbors.size();
  j["similarity"] = {
      {"blocks", blocks},
      {"tasks", tasks},
      {"candidate_pairs", total.pairs},
      {"entities_with_neighbors", with_neighbors},
      {"mean_neighbors", n_lists ? static_cast<double>(neighbor_slots) / n_lists : 0.0}};
  const double n_items = state.n_items ? state.n_items : 1;
  if (in.settings.evaluate) {
    auto mj = total.model.ToJson(o.metrics_k), pj = total.popularity.ToJson(o.metrics_k);
    j["evaluation"] = {{"split", std::string(SpellingOf(kSplitKinds, o.split))},
                       {"on", std::string(SpellingOf(kEvalTargets, o.evaluate_on))},
                       {"users", total.model.users},
                       {"sampled_negatives", o.sampled_negatives},
                       {"full", {{kind, mj["full"]}, {"popularity", pj["full"]}}},
                       {"sampled", {{kind, mj["sampled"]}, {"popularity", pj["sampled"]}}}};
  }
  j["coverage"] = {
      {"n", o.top_n},
      {kind, static_cast<double>(total.model_coverage.Count()) / n_items},
      {"popularity", static_cast<double>(total.popularity_coverage.Count()) / n_items}};
  j["roles"] = {{"servers", roles.num_servers()}, {"workers", roles.num_workers()}};
  if (o.dp.enabled()) j["privacy"] = DpCfPrivacyJson(in.settings.dp);
  return j;
}

// metrics.jsonl: one line per protocol and method (nothing without evaluation).
Status WriteMetricLines(const std::string& path, const TrainedResults& in,
                        const nlohmann::json& metrics) {
  ECPS_ASSIGN_OR_RETURN(auto log, util::JsonLinesLog::Open(path));
  if (in.settings.evaluate) {
    for (const char* protocol : {"full", "sampled"}) {
      for (const std::string& method : {in.options.kind_name(), std::string("popularity")}) {
        nlohmann::json line = metrics["evaluation"][protocol][method];
        line["protocol"] = protocol;
        line["method"] = method;
        ECPS_RETURN_IF_ERROR(log->Append(line));
      }
    }
  }
  return log->Close();
}

void LogSummary(ps::Node& node, const TrainedResults& in, const MergedReports& total,
                const nlohmann::json& j) {
  const CfOptions& o = in.options;
  const std::string kind = o.kind_name();
  if (in.settings.evaluate) {
    const std::string k = std::to_string(in.settings.max_k);
    auto val = [&](const char* protocol, const std::string& method, const std::string& metric) {
      return j["evaluation"][protocol][method][metric + "@" + k].get<double>();
    };
    node.log().info(
        "{} on {} ({} users): full HR@{} {:.4f} NDCG@{} {:.4f} (popularity {:.4f} / {:.4f}); "
        "sampled HR@{} {:.4f} NDCG@{} {:.4f} (popularity {:.4f} / {:.4f})",
        kind, SpellingOf(kEvalTargets, o.evaluate_on), total.model.users, k,
        val("full", kind, "HR"), k, val("full", kind, "NDCG"), val("full", "popularity", "HR"),
        val("full", "popularity", "NDCG"), k, val("sampled", kind, "HR"), k,
        val("sampled", kind, "NDCG"), val("sampled", "popularity", "HR"),
        val("sampled", "popularity", "NDCG"));
  }
  node.log().info(
      "{}: {} entities with neighbours (mean {:.1f}), similarity {:.2f} s, recommendations "
      "{:.2f} s; outputs in {}",
      kind, j["similarity"]["entities_with_neighbors"].get<std::size_t>(),
      j["similarity"]["mean_neighbors"].get<double>(), total.similarity_s, total.recommend_s,
      o.out);
}

}  // namespace

Result<NeighborLists> ReceiveLists(ps::Node& node, std::uint32_t topic, std::size_t n,
                                   std::size_t k) {
  std::vector<std::vector<Neighbor>> rows(n);  // servers may answer in any order
  for (int s = 0; s < node.roles().num_servers(); ++s) {
    ECPS_ASSIGN_OR_RETURN(
        ps::Message m, node.RecvControl(topic, node.roles().ServerRank(s), node.DefaultDeadline()));
    ECPS_ASSIGN_OR_RETURN(PodReader rd, PodReader::Open(m.control));
    ECPS_ASSIGN_OR_RETURN(auto begin, rd.NextValue<ps::Key>());
    ECPS_ASSIGN_OR_RETURN(auto end, rd.NextValue<ps::Key>());
    ECPS_ASSIGN_OR_RETURN(auto dense, rd.Next<double>());
    if (end > n || begin > end || dense.size() != (end - begin) * 2 * k) {
      return Internal("neighbour rows of the wrong size");
    }
    for (ps::Key e = begin; e < end; ++e)
      DecodeRow(dense.data() + (e - begin) * 2 * k, k, &rows[e]);
  }
  NeighborLists lists;
  lists.k = static_cast<std::uint32_t>(k);
  for (std::size_t e = 0; e < n; ++e) {
    for (const Neighbor& nb : rows[e]) lists.Add(e, nb.id, static_cast<float>(nb.score));
    std::vector<Neighbor>().swap(rows[e]);
  }
  lists.Finish(n);
  return lists;
}

Status WriteOutputs(sched::JobContext& ctx, const TrainedResults& in) {
  const ps::Stopwatch write_time;
  const CfOptions& o = in.options;
  ECPS_RETURN_IF_ERROR(util::PrepareOutputDir(o.out));
  auto path = [&](const char* name) { return (std::filesystem::path(o.out) / name).string(); };
  const UserLocator where(in.reports, in.state.n_users);
  CsvStats csv;
  if (o.top_n > 0) {
    ECPS_RETURN_IF_ERROR(WriteRecommendations(path("recommendations.csv"), in, where, &csv));
  }
  if (o.write_neighbors) {
    const bool items = in.options.item_based();
    ECPS_RETURN_IF_ERROR(WriteNeighborLists(
        path("neighbors.csv"), in.neighbors, items ? in.state.item_ids : in.state.user_ids,
        items ? "item,neighbor,score\n" : "user,neighbor,score\n", o.encrypt.get(), &csv));
    if (HasContent(o)) {
      ECPS_RETURN_IF_ERROR(WriteNeighborLists(path("content_neighbors.csv"), in.content,
                                              in.state.item_ids, "item,neighbor,score\n",
                                              o.encrypt.get(), &csv));
    }
  }
  if (o.save_model) {
    const CfModelParts model = ModelParts(in, where);
    // The checks `recommend` applies when loading (finite scores included): a model that
    // would be refused is not written.
    if (Status s = CheckModelParts(model, "the trained model"); !s.ok()) {
      return Internal(s.message());
    }
    ECPS_RETURN_IF_ERROR(SaveCfModelParts(path("model.ecps"), model, o.encrypt.get()));
  }
  const MergedReports total = Merge(in);
  nlohmann::json j = MetricsJson(in, total, ctx.plan, ctx.node.roles());
  j["timings"] = {{"ingest_s", in.state.ingest_s},
                  {"similarity_s", total.similarity_s},
                  {"recommend_s", total.recommend_s},
                  {"write_s", write_time.Seconds()},
                  {"write_csv_s", csv.format_s},
                  {"write_csv_cpu_s", csv.format_cpu_s},
                  {"sync_csv_s", csv.sync_s},
                  {"total_s", in.state.since_start.Seconds()}};
  j["outputs"] = {{"csv_bytes", csv.bytes}};
  if (in.state.checkpoints) j["checkpoints"] = in.state.checkpoints->Json();
  j["transport"] = sched::TrafficJson(ctx.node, in.state.ingest_traffic);
  ECPS_RETURN_IF_ERROR(util::WriteJsonFile(path("metrics.json"), j));
  ECPS_RETURN_IF_ERROR(WriteMetricLines(path("metrics.jsonl"), in, j));
  LogSummary(ctx.node, in, total, j);
  return Status::Ok();
}

}  // namespace ecps::models::cf
