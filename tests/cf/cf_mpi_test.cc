// itemcf and usercf under mpirun (1 server + 2 workers, and 2 servers + 3 workers) give
// the same neighbour lists and recommendations, byte for byte, as one worker in
// single-node mode.
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

class CfUnderMpirun : public ::testing::TestWithParam<const char*> {};

TEST_P(CfUnderMpirun, SameOutputsAsSingleNode) {
  const std::string kind = GetParam();
  const auto dir = TempDir("mpi_" + kind);
  const auto file = WriteInteractions(dir / "interactions.csv", MakeInteractions(250, 140, 20, 3), true);
  const std::string common = fmt::format("{} train {} --train {} --similarity cosine --neighbors 6 -n 5 "
                                         "--split leave-last-out --quiet",
                                         ECPS_BINARY, kind, file);
  const auto local = dir / "local";
  ASSERT_EQ(Shell(fmt::format("timeout 120 {} --local --servers 1 --workers 1 --out {} > {}/local.log 2>&1", common,
                            local.string(), dir.string())),
            0)
      << Slurp(dir / "local.log");
  for (auto [np, servers] : std::vector<std::pair<int, int>>{{4, 1}, {6, 2}}) {
    const auto out = dir / fmt::format("np{}", np);
    const std::string cmd = fmt::format(
        "OMPI_MCA_pml=ob1 timeout 180 mpirun --allow-run-as-root --oversubscribe -np {} {} --servers {} --out {} "
        "> {}/np{}.log 2>&1",
        np, common, servers, out.string(), dir.string(), np);
    ASSERT_EQ(Shell(cmd), 0) << cmd << "\n" << Slurp(dir / fmt::format("np{}.log", np));
    EXPECT_EQ(Slurp(out / "neighbors.csv"), Slurp(local / "neighbors.csv")) << np << " ranks";
    EXPECT_EQ(Slurp(out / "recommendations.csv"), Slurp(local / "recommendations.csv")) << np << " ranks";
    EXPECT_GT(Slurp(out / "recommendations.csv").size(), 1000u);
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, CfUnderMpirun, ::testing::Values("itemcf", "usercf"));

}  // namespace
