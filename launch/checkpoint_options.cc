#include "launch/checkpoint_options.h"

#include "launch/option_checks.h"

namespace ecps::launch {

void AddCheckpointOptions(CLI::App& sub, models::CheckpointOptions& o, const std::string& clock) {
  auto* g = sub.add_option_group("Checkpoints");
  g->add_option("--checkpoint-dir", o.dir,
                "Folder for checkpoints (one clock-<N> folder each, valid once its MANIFEST is "
                "written); not inside --out")
      ->type_name("DIR");
  g->add_option("--checkpoint-every", o.every_text,
                "A checkpoint after every N-th " + clock + " (N >= 1), or after the first " +
                    clock + " ending a time after the last (30s, 10m, 2h); with --checkpoint-dir")
      ->capture_default_str()
      ->type_name("N|TIME");
  g->add_option("--checkpoint-keep", o.keep, "Complete checkpoints kept, the newest (>= 1)")
      ->capture_default_str()
      ->check(AtLeast(1));
  g->add_option("--resume", o.resume_dir,
                "Start from the newest valid checkpoint of DIR (default: --checkpoint-dir); "
                "refused when the checkpoint's job or options differ")
      ->expected(0, 1)
      ->type_name("[DIR]");
}

Status ResolveCheckpointOptions(const CLI::App& sub, models::CheckpointOptions& o) {
  o.resume = sub.get_option("--resume")->count() > 0;
  return models::ParseCheckpointEvery(o.every_text, &o);
}

}  // namespace ecps::launch
