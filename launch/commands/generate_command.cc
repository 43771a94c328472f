// `ecps generate`: writes a synthetic shop with planted structure (see datagen/).
#include <memory>

#include <spdlog/spdlog.h>

#include "datagen/synthetic_shop.h"
#include "launch/cluster.h"
#include "launch/command.h"
#include "launch/interrupt.h"
#include "scheduler/progress.h"

namespace ecps::launch {

void AddGenerateCommand(CommandTree& tree) {
  struct Opts {
    std::string out;
    datagen::ShopOptions shop;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = tree.root->add_subcommand(
      "generate",
      "Write a synthetic shop with planted structure: users.csv (latent segments), items.csv, "
      "item_text.csv (titles, descriptions), interactions.csv, impressions(_test).libsvm with "
      "featindex.txt, and the planted truth");
  sub->add_option("--out", o->out, "Folder to write (created if needed)")->required();
  sub->add_option("--users", o->shop.users, "Users")->capture_default_str()->check(AtLeast(10));
  sub->add_option("--items", o->shop.items, "Items")->capture_default_str()->check(AtLeast(20));
  sub->add_option("--impressions-per-user", o->shop.impressions_per_user, "Ad impressions per user")
      ->capture_default_str()->check(AtLeast(1));
  sub->add_option("--test-fraction", o->shop.test_fraction,
                  "Share of impressions (the latest) written to impressions_test.libsvm")
      ->capture_default_str()->check(Fraction());
  sub->add_flag("--ratings", o->shop.ratings,
                "Write interactions.csv with a rating column (1-5: user_id,item_id,rating,timestamp); "
                "the other columns and files stay as without it");
  sub->add_option("--seed", o->shop.seed, "Random seed; the same seed gives the same files")->capture_default_str();
  AddConfigOption(*sub);
  sub->callback([o, sel = tree.selected] {
    *sel = [o]() -> Status {
      // Under mpirun one process writes the files (the others would only repeat its work).
      ECPS_RETURN_IF_ERROR(JoinMpiIfLaunched());
      if (!IsPrintingProcess()) return Status::Ok();
      o->shop.interrupt = InterruptStatus;
      sched::ProgressOptions po;
      po.quiet = spdlog::default_logger()->level() > spdlog::level::info;
      po.quiet_first_s = 1;
      sched::Progress progress(*spdlog::default_logger(), "generate: user rows (3 passes)", 3 * o->shop.users, po);
      o->shop.progress = [&](std::uint64_t done, std::uint64_t) { progress.Update(done); };
      datagen::ShopSummary s;
      ECPS_RETURN_IF_ERROR(RunWritingOutput(nullptr, o->out, [&]() -> Status {
        ECPS_ASSIGN_OR_RETURN(s, datagen::GenerateShop(o->out, o->shop));
        return Status::Ok();
      }));
      progress.Finish();
      spdlog::info("generated {}: {} users, {} items, {} interactions, {} + {} impressions (click rate {:.3f})",
                   o->out, s.users, s.items, s.interactions, s.train_impressions, s.test_impressions,
                   s.click_rate);
      return Status::Ok();
    };
  });
}

}  // namespace ecps::launch
