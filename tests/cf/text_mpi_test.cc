// itemcf --item-text with --item-attributes under mpirun (1 server + 3 workers) gives the
// same content neighbour lists and recommendations, byte for byte, as one worker in
// single-node mode: the text file's byte ranges are read by every worker.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "tests/common/files.h"
#include "tests/common/run_ecps.h"

namespace ecps::testing {
namespace {

TEST(ItemTextUnderMpirun, SameContentListsAsSingleNode) {
  const auto dir = FreshDir("cf_text_mpi");
  const std::string shop = (dir / "shop").string();
  ASSERT_EQ(RunEcps(fmt::format("generate --out '{}' --users 300 --items 80 --seed 3", shop))
                .exit_code,
            0);
  const std::string common = fmt::format(
      "train itemcf --train '{0}/interactions.csv' --item-text '{0}/item_text.csv' "
      "--text-columns title,description --item-attributes '{0}/items.csv' --content-blend 0.2 "
      "--split leave-last-out --quiet",
      shop);
  const auto local = dir / "local";
  auto r = RunEcps(fmt::format("{} --local --workers 1 --out '{}'", common, local.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto mpi = dir / "np5";
  const std::string cmd = fmt::format(
      "OMPI_MCA_pml=ob1 timeout 180 mpirun --allow-run-as-root --oversubscribe -np 5 {} {} "
      "--out '{}' > '{}/np5.log' 2>&1",
      ECPS_BINARY, common, mpi.string(), dir.string());
  const int rc = std::system(cmd.c_str());  // NOLINT(concurrency-mt-unsafe)
  ASSERT_EQ(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, 0) << cmd << "\n" << ReadBytes(dir / "np5.log");
  EXPECT_EQ(ReadBytes(mpi / "content_neighbors.csv"), ReadBytes(local / "content_neighbors.csv"));
  EXPECT_EQ(ReadBytes(mpi / "recommendations.csv"), ReadBytes(local / "recommendations.csv"));
  EXPECT_GT(ReadBytes(mpi / "content_neighbors.csv").size(), 1000u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ecps::testing
