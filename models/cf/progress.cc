#include "models/cf/progress.h"

#include <numeric>
#include <vector>

#include "scheduler/progress.h"

namespace ecps::models::cf {
namespace {

// A worker's running count of one step.
struct ProgressCount {
  std::uint64_t done = 0;
  bool final = false;
  template <class A>
  void serialize(A& ar) {
    ar(done, final);
  }
};

}  // namespace

Status ProgressSender::Send(std::uint64_t done, bool final) {
  sent_ = done;
  return node_.SendControl(ps::RoleTable::kSchedulerRank, topic_,
                           ps::EncodeControl(ProgressCount{done, final}));
}

Status ProgressSender::Update(std::uint64_t done) {
  return done - sent_ < every_ ? Status::Ok() : Send(done, false);
}

Status ProgressSender::Finish(std::uint64_t done) { return Send(done, true); }

Status ShowWorkerProgress(ps::Node& node, std::uint32_t topic, const std::string& label,
                          std::uint64_t total, const CfOptions& options) {
  sched::ProgressOptions po;
  po.quiet = options.quiet;
  po.quiet_first_s = options.progress_after_s;
  sched::Progress progress(node.log(), label, total, po);
  const auto workers = static_cast<std::size_t>(node.roles().num_workers());
  std::vector<std::uint64_t> done(workers, 0);
  for (std::size_t finished = 0; finished < workers;) {
    ECPS_ASSIGN_OR_RETURN(ps::Message m, node.RecvControl(topic, -1, node.DefaultDeadline()));
    ProgressCount c;
    ECPS_RETURN_IF_ERROR(ps::DecodeControl(m.control, &c));
    const int w = node.roles().IndexOf(m.head.sender);
    if (w < 0 || static_cast<std::size_t>(w) >= workers) {
      return Internal("progress message from a rank that is not a worker");
    }
    done[static_cast<std::size_t>(w)] = c.done;
    finished += c.final ? 1 : 0;
    progress.Update(std::accumulate(done.begin(), done.end(), std::uint64_t{0}));
  }
  progress.Finish();
  return Status::Ok();
}

}  // namespace ecps::models::cf
