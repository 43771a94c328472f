// Private item-CF under mpirun (1 scheduler, 2 servers, 2 workers: the noisy triangle split
// between the servers) with a test seed gives the same neighbour lists and recommendations as
// the same roles in single-node mode: the same noise, bounding and post-processing.
#include <cstdlib>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/cf/cf_data.h"

namespace {

using namespace ecps::testing_cf;

int Shell(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(DpCfMpi, SameOutputsAsSingleNodeWithTheSameSeed) {
  const auto dir = TempDir("dp_mpi");
  const auto file = WriteInteractions(dir / "i.csv", MakeInteractions(300, 120, 20, 8), false);
  {
    std::ofstream cat(dir / "cat.txt");
    for (int i = 0; i < 100; ++i) cat << fmt::format("sku-{:04d}\n", i);
  }
  const std::string common = fmt::format(
      "{} train itemcf --train {} --dp-epsilon 4 --dp-items {} --dp-seed 9 --neighbors 6 -n 5 "
      "--split leave-last-out --quiet --servers 2",
      ECPS_BINARY, file, (dir / "cat.txt").string());
  const auto local = dir / "local";
  ASSERT_EQ(Shell(fmt::format("timeout 120 {} --local --workers 2 --out {} > {}/local.log 2>&1",
                              common, local.string(), dir.string())),
            0)
      << Slurp(dir / "local.log");
  const auto out = dir / "np5";
  const std::string cmd = fmt::format(
      "OMPI_MCA_pml=ob1 timeout 180 mpirun --allow-run-as-root --oversubscribe -np 5 {} --out {} "
      "> {}/np5.log 2>&1",
      common, out.string(), dir.string());
  ASSERT_EQ(Shell(cmd), 0) << cmd << "\n" << Slurp(dir / "np5.log");
  EXPECT_EQ(Slurp(out / "neighbors.csv"), Slurp(local / "neighbors.csv"));
  EXPECT_EQ(Slurp(out / "recommendations.csv"), Slurp(local / "recommendations.csv"));
  EXPECT_GT(Slurp(out / "neighbors.csv").size(), 500u);
  EXPECT_NE(Slurp(out / "metrics.json").find("\"privacy\""), std::string::npos);
}

}  // namespace
