// `ecps train mf` under mpirun against --local.
#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/mf/mf_data.h"

namespace {

using namespace ecps::testing_mf;

int Shell(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// mpirun -np 4 (1 server, 2 workers) gives the recommendations of --local with 1 worker.
TEST(MfMpi, MpirunGivesTheSingleNodeRecommendations) {
  const auto dir = TempDir("mpi");
  const auto file = WritePlanted(dir / "planted.csv", 200, 4, 20, 8, 9);
  const std::string common = fmt::format(
      "{} train mf --train {} --factors 6 --iterations 6 --split leave-one-out -n 5 --quiet",
      ECPS_BINARY, file);
  const auto local = dir / "local";
  ASSERT_EQ(Shell(fmt::format("timeout 120 {} --local --workers 1 --out {} > {}/local.log 2>&1",
                              common, local.string(), dir.string())),
            0)
      << Slurp(dir / "local.log");
  const auto out = dir / "np4";
  const std::string cmd = fmt::format(
      "OMPI_MCA_pml=ob1 timeout 180 mpirun --allow-run-as-root --oversubscribe -np 4 {} "
      "--servers 1 --out {} > {}/np4.log 2>&1",
      common, out.string(), dir.string());
  ASSERT_EQ(Shell(cmd), 0) << cmd << "\n" << Slurp(dir / "np4.log");
  EXPECT_EQ(Slurp(out / "recommendations.csv"), Slurp(local / "recommendations.csv"));
  EXPECT_GT(Slurp(out / "recommendations.csv").size(), 1000u);
}

}  // namespace
