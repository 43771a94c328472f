// `ecps demo`: starts a scheduler, servers and workers and runs the parameter-server
// self-check (pscheck): pushes and pulls through every kind of table with exact checks.
#include <memory>

#include <nlohmann/json.hpp>

#include "launch/cluster.h"
#include "launch/command.h"
#include "models/pscheck/pscheck.h"
#include "util/files.h"
#include "util/output_folder.h"

namespace ecps::launch {

void AddDemoCommand(CommandTree& tree) {
  struct Opts {
    ClusterOptions cluster;
    models::PsCheckOptions check;
    std::string out;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = tree.root->add_subcommand(
      "demo",
      "Start a scheduler, servers and workers and push/pull through parameter tables, checking "
      "every value exactly (a self-test of the parameter server)");
  sub->add_option("--keys", o->check.keys, "Keys in the sparse and dense test tables")
      ->capture_default_str()->check(Positive());
  sub->add_option("--clocks", o->check.clocks, "Rounds of push, clock and pull per worker")
      ->capture_default_str()->check(Positive());
  sub->add_option("--slow-worker-ms", o->check.slow_worker_ms,
                  "Worker 0 sleeps this long each clock, to exercise ssp")
      ->capture_default_str()->check(NonNegative());
  sub->add_option("--out", o->out, "Folder for metrics.json (each worker's report); none when empty");
  AddClusterOptions(*sub, o->cluster);
  AddConfigOption(*sub);
  sub->callback([o, sel = tree.selected] {
    *sel = [o] {
      return RunWritingOutput(&o->cluster, o->out, [o] {
        return RunCluster(
            o->cluster, [o](ps::Rank) { return std::make_shared<models::PsCheckJob>(o->check); },
            [o](sched::Job& job) -> Status {
              if (o->out.empty()) return Status::Ok();
              nlohmann::json workers = nlohmann::json::array();
              std::uint64_t checked = 0;
              for (const auto& r : static_cast<models::PsCheckJob&>(job).reports()) {
                workers.push_back({{"values_checked", r.values_checked},
                                   {"max_staleness_seen", r.max_staleness_seen},
                                   {"push_seconds", r.push_seconds},
                                   {"pull_seconds", r.pull_seconds}});
                checked += r.values_checked;
              }
              ECPS_RETURN_IF_ERROR(util::PrepareOutputDir(o->out));
              return util::WriteJsonFile(
                  o->out + "/metrics.json",
                  {{"passed", true}, {"values_checked", checked}, {"workers", workers}});
            });
      });
    };
  });
}

}  // namespace ecps::launch
