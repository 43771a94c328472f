// `ecps pipeline --config FILE.toml`: the shop's flow from data to models in one job.
//
// The file has one section per stage; each section's keys are the options of the command the
// stage runs, so anything a stage can do alone it can do in the pipeline:
//
//   out = "demo-out"                 # every stage writes to out/<stage>
//   [cluster]                        # options every training stage gets (--local, --workers, ...)
//   [generate]   -> ecps generate     (optional: make the synthetic demo shop first)
//   [segment]    -> ecps train kmeans (user segments)
//   [recommend]  -> ecps train itemcf (item neighbours and recommendations)
//   [ctr]        -> ecps train lr     (click / conversion model)
//   [mf]         -> ecps train mf     (matrix factorisation recommendations)
//
// String values may contain "{out}", replaced by the output folder (so `--out` moves the
// whole run, generated data included).
//
// After the stages, rank 0 writes out/summary.md (a short report), out/report.html (the
// same with charts) and out/manifest.json (every output file with its size and CRC-32).
// With --stages, the reports also show the other stages of the file from the outputs an
// earlier run left under `out`.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include "launch/cluster.h"
#include "launch/command.h"
#include "launch/config.h"
#include "launch/interrupt.h"
#include "launch/pipeline_report.h"
#include "launch/report/page.h"
#include "util/output_folder.h"

namespace ecps::launch {
namespace {
namespace fs = std::filesystem;

struct Stage {
  const char* section;
  std::vector<std::string> command;
  bool training;  // gets the cluster options
  const char* what;
};

const std::vector<Stage>& Stages() {
  static const std::vector<Stage> kStages{
      {"generate", {"generate"}, false, "generate the synthetic shop"},
      {"segment", {"train", "kmeans"}, true, "user segments (k-means)"},
      {"recommend", {"train", "itemcf"}, true, "item neighbours and recommendations (item-CF)"},
      {"ctr", {"train", "lr"}, true, "click / conversion model (logistic regression)"},
      {"mf", {"train", "mf"}, true, "recommendations by matrix factorisation (weighted ALS)"},
  };
  return kStages;
}

std::size_t StageIndex(const std::string& name) {
  std::size_t i = 0;
  while (i < Stages().size() && Stages()[i].section != name) ++i;
  return i;
}

struct PipelineOptions {
  std::string config;
  std::string out;
  std::vector<std::string> stages;
  ClusterOptions cluster;
};

// Replaces "{out}" in every string value of `t` (lists included).
void SubstituteOut(toml::table& t, const std::string& out) {
  auto fix = [&](toml::node& n) {
    if (auto* v = n.as_string()) {
      std::string s = v->get();
      for (auto p = s.find("{out}"); p != std::string::npos; p = s.find("{out}", p + out.size())) {
        s.replace(p, 5, out);
      }
      *v = s;
    }
  };
  for (auto&& [k, v] : t) {
    if (auto* sub = v.as_table()) {
      SubstituteOut(*sub, out);
    } else if (auto* arr = v.as_array()) {
      for (auto& e : *arr) fix(e);
    } else {
      fix(v);
    }
  }
}

struct Planned {
  const Stage* stage;
  std::vector<std::string> full;  // the stage's command line
  Selected run;
  std::string dir;
};

// A selected stage that reads what an earlier, unselected stage writes (the demo's data from
// [generate]) needs that stage's folder from an earlier run: without it the selection is
// refused before anything runs, naming both ways out.
Status CheckEarlierOutputs(const std::string& config, const std::vector<Planned>& plan,
                           const std::vector<StageResult>& skipped) {
  for (const auto& before : skipped) {
    if (fs::exists(before.dir)) continue;
    for (const auto& p : plan) {
      if (StageIndex(before.name) > StageIndex(p.stage->section)) continue;
      for (const auto& arg : p.full) {
        if (arg != before.dir && arg.rfind(before.dir + "/", 0) != 0) continue;
        return InvalidArgument(fmt::format(
            "{}: stage [{}] reads {}, which stage [{}] writes, but {} does not exist: run that "
            "stage too (--stages {},{}) or give the --out of a run that did",
            config, p.stage->section, arg, before.name, before.dir, before.name, p.stage->section));
      }
    }
  }
  return Status::Ok();
}

Status RunPipeline(const PipelineOptions& o, const std::vector<std::string>& cluster_args) {
  // Under mpirun, join the MPI job now: only rank 0 generates data and writes the report.
  ECPS_RETURN_IF_ERROR(JoinMpiIfLaunched());
  ECPS_RETURN_IF_ERROR(ApplyLogOptions(o.cluster));
  toml::table file;
  try {
    file = toml::parse_file(o.config);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(fmt::format("{}:{}:{}: {}", o.config, e.source().begin.line, e.source().begin.column,
                                       e.description()));
  }
  std::string out = o.out;
  if (out.empty()) out = file["out"].value_or(std::string("pipeline-out"));
  SubstituteOut(file, out);
  // Paths in the file are relative to the folder the command runs in (like on the command line).
  for (const auto& [k, v] : file) {
    const std::string key(k.str());
    bool known = key == "out" || key == "cluster";
    for (const auto& s : Stages()) known = known || key == s.section;
    if (!known) {
      return InvalidArgument(fmt::format("{}:{}: unknown section or key \"{}\" (sections: cluster, generate, segment, "
                                         "recommend, ctr)",
                                         o.config, v.source().begin.line, key));
    }
  }
  CLI::App probe{"ecps"};
  Selected unused;
  BuildCommandTree(probe, unused);

  std::vector<std::string> cluster_from_file;
  if (const auto* c = file["cluster"].as_table()) {
    const CLI::App* any = FindCommand(probe, {"demo"});  // a command with exactly the cluster options
    ECPS_ASSIGN_OR_RETURN(cluster_from_file, TomlToArgs(*c, *any, o.config + " [cluster]"));
  }

  // Check every stage's section and command line before running any: a typo in the last
  // stage must not cost the time (and leave the outputs) of the first ones.
  std::vector<Planned> plan;
  std::vector<StageResult> skipped;  // stages of the file not selected, with their folders
  for (const auto& stage : Stages()) {
    const auto* section = file[stage.section].as_table();
    if (!section) continue;
    const std::string stage_out = (fs::path(out) / stage.section).string();
    std::string dir = section->contains("out") ? (*section)["out"].value_or(stage_out) : stage_out;
    const bool selected = o.stages.empty() ||
                          std::find(o.stages.begin(), o.stages.end(), stage.section) != o.stages.end();
    if (!selected) {
      skipped.push_back({stage.section, stage.what, std::move(dir), 0, false});
      continue;
    }
    const CLI::App* cmd = FindCommand(probe, stage.command);
    if (!cmd) {
      return FailedPrecondition(fmt::format("stage [{}] needs `ecps {}`, which this build does not have",
                                            stage.section, fmt::join(stage.command, " ")));
    }
    ECPS_ASSIGN_OR_RETURN(auto args, TomlToArgs(*section, *cmd, fmt::format("{} [{}]", o.config, stage.section)));
    std::vector<std::string> full = stage.command;
    if (!section->contains("out")) full.insert(full.end(), {"--out", stage_out});
    full.insert(full.end(), args.begin(), args.end());
    if (stage.training) {
      full.insert(full.end(), cluster_from_file.begin(), cluster_from_file.end());
      full.insert(full.end(), cluster_args.begin(), cluster_args.end());
    }
    auto run = ParseCommand(full);
    if (!run.ok()) return run.status().WithContext(fmt::format("{} [{}]", o.config, stage.section));
    plan.push_back({&stage, std::move(full), std::move(run).value(), std::move(dir)});
  }
  // Every rank checks the folders, and they agree (a folder one rank cannot see fails all).
  ECPS_RETURN_IF_ERROR(AgreeAcrossProcesses(CheckEarlierOutputs(o.config, plan, skipped)));

  // One pipeline at a time per output folder (each stage also locks and stages its own
  // folder); SIGINT/SIGTERM stop the running stage, which leaves nothing, and the pipeline.
  InterruptibleScope interruptible;
  const bool printing = IsPrintingProcess();
  std::unique_ptr<util::OutputLock> lock;
  Status locked = Status::Ok();
  if (printing) {
    auto taken = util::OutputLock::Acquire(out);
    if (taken.ok()) {
      lock = std::move(taken).value();
    } else {
      locked = taken.status();
    }
  }
  ECPS_RETURN_IF_ERROR(AgreeAcrossProcesses(locked));

  std::vector<StageResult> results;
  for (const auto& p : plan) {
    const Stage& stage = *p.stage;
    if (printing) spdlog::info("pipeline: stage [{}]: {} (ecps {})", stage.section, stage.what, fmt::join(p.full, " "));
    const auto t0 = std::chrono::steady_clock::now();
    Status s = Status::Ok();
    if (stage.training || printing) s = p.run();  // data generation happens once, on rank 0
    // Every rank learns whether the stage failed anywhere. After a training the ranks are in
    // step; a stage that only rank 0 runs (data generation) takes as long as it takes.
    s = stage.training ? AgreeAcrossProcesses(s) : AgreeAcrossProcesses(s, std::nullopt);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!s.ok()) return s.WithContext(fmt::format("pipeline stage [{}]", stage.section));
    results.push_back({stage.section, stage.what, p.dir, secs});
    if (printing) spdlog::info("pipeline: stage [{}] done in {:.1f} s", stage.section, secs);
  }
  if (results.empty()) return InvalidArgument(fmt::format("{}: no stage to run", o.config));
  if (!printing) return Status::Ok();
  // The reports cover every stage of the file: those not run this time from the outputs an
  // earlier run left (in the order of Stages()).
  for (auto& st : skipped) {
    if (fs::exists(st.dir)) results.push_back(std::move(st));
  }
  std::stable_sort(results.begin(), results.end(), [](const StageResult& a, const StageResult& b) {
    return StageIndex(a.name) < StageIndex(b.name);
  });
  ECPS_RETURN_IF_ERROR(util::PrepareOutputDir(out));
  ECPS_RETURN_IF_ERROR(WriteSummary(out, results));
  ECPS_RETURN_IF_ERROR(report::WriteReportHtml(out, results));
  ECPS_RETURN_IF_ERROR(WriteManifest(out));
  spdlog::info("pipeline: done; report in {0}/summary.md and {0}/report.html, file list in "
               "{0}/manifest.json",
               out);
  return Status::Ok();
}

}  // namespace

void AddPipelineCommand(CommandTree& tree) {
  auto o = std::make_shared<PipelineOptions>();
  auto* sub = tree.root->add_subcommand(
      "pipeline",
      "Run the shop pipeline from a TOML file: [generate] demo data, [segment] users (k-means), "
      "[recommend] items (item-CF), [ctr] click model (logistic regression), [mf] items (matrix "
      "factorisation); writes each stage's "
      "outputs, summary.md, report.html (charts) and manifest.json");
  sub->add_option("--config", o->config,
                  "Pipeline file: one section per stage whose keys are that command's options, plus "
                  "`out` and a [cluster] section (see examples/)")
      ->required()->check(CLI::ExistingFile);
  sub->add_option("--out", o->out, "Output folder (overrides `out` in the file)");
  sub->add_option("--stages", o->stages,
                  "Run only these stages (generate, segment, recommend, ctr, mf); the reports show "
                  "the others from the outputs an earlier run left in the same --out")
      ->delimiter(',')->check(CLI::IsMember({"generate", "segment", "recommend", "ctr", "mf"}));
  AddClusterOptions(*sub, o->cluster);
  sub->callback([o, sub, sel = tree.selected] {
    // Cluster options given on this command line override the file's [cluster] section.
    *sel = [o, given = GivenClusterArgs(*sub)] { return RunPipeline(*o, given); };
  });
}

}  // namespace ecps::launch
