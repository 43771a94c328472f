#include "models/cf/messages.h"

#include "models/cf/pack.h"

namespace ecps::models::cf {

ps::Blob EncodeWorkerReport(std::uint64_t pairs, double similarity_s, const OwnUsers& own,
                            const UserResults& results, bool with_training, double recommend_s) {
  PodWriter report;
  report.AddValue(pairs).AddValue(similarity_s);
  report.Add(own.users).Add(results.rec_count).Add(results.rec_items).Add(results.rec_scores);
  for (const EvalSums* sums : {&results.model, &results.popularity}) {
    report.AddValue(sums->users).Add(sums->full).Add(sums->sampled);
  }
  report.Add(results.model_coverage.bits).Add(results.popularity_coverage.bits);
  if (with_training) {
    report.Add(own.train_ptr).Add(own.train_item).Add(own.train_val).Add(own.train_age);
  } else {
    report.Add(std::span<const std::uint64_t>{}).Add(std::span<const std::uint32_t>{});
    report.Add(std::span<const float>{}).Add(std::span<const std::uint32_t>{});
  }
  report.AddValue(recommend_s);
  return report.Finish();
}

Result<WorkerReport> DecodeWorkerReport(ps::Message msg, std::size_t num_k) {
  WorkerReport r;
  r.msg = std::move(msg);
  ECPS_ASSIGN_OR_RETURN(PodReader rd, PodReader::Open(r.msg.control));
  ECPS_ASSIGN_OR_RETURN(r.pairs, rd.NextValue<std::uint64_t>());
  ECPS_ASSIGN_OR_RETURN(r.similarity_s, rd.NextValue<double>());
  ECPS_ASSIGN_OR_RETURN(r.users, rd.Next<std::uint32_t>());
  ECPS_ASSIGN_OR_RETURN(r.rec_count, rd.Next<std::uint32_t>());
  ECPS_ASSIGN_OR_RETURN(r.rec_items, rd.Next<std::uint32_t>());
  ECPS_ASSIGN_OR_RETURN(r.rec_scores, rd.Next<float>());
  for (EvalSums* e : {&r.model, &r.popularity}) {
    ECPS_ASSIGN_OR_RETURN(e->users, rd.NextValue<double>());
    ECPS_ASSIGN_OR_RETURN(e->full, rd.NextVector<RankSums>());
    ECPS_ASSIGN_OR_RETURN(e->sampled, rd.NextVector<RankSums>());
    if (e->full.size() != num_k || e->sampled.size() != num_k) {
      return Internal("metric partials of the wrong size");
    }
  }
  ECPS_ASSIGN_OR_RETURN(r.model_coverage.bits, rd.NextVector<std::uint64_t>());
  ECPS_ASSIGN_OR_RETURN(r.popularity_coverage.bits, rd.NextVector<std::uint64_t>());
  ECPS_ASSIGN_OR_RETURN(r.train_ptr, rd.Next<std::uint64_t>());
  ECPS_ASSIGN_OR_RETURN(r.train_item, rd.Next<std::uint32_t>());
  ECPS_ASSIGN_OR_RETURN(r.train_val, rd.Next<float>());
  ECPS_ASSIGN_OR_RETURN(r.train_age, rd.Next<std::uint32_t>());
  ECPS_ASSIGN_OR_RETURN(r.recommend_s, rd.NextValue<double>());
  return r;
}

}  // namespace ecps::models::cf
