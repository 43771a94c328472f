// Pseudonymised ids and opt-outs under mpirun (one process per rank, each loading the key and
// the list itself) give the bytes of the --local run, and no raw id reaches outputs or logs.
#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/privacy/pseudonym_data.h"

namespace ecps::testing {
namespace {

int Shell(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());  // NOLINT(concurrency-mt-unsafe)
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(PseudonymMpi, SameBytesAsLocalAndNoRawIds) {
  const auto& shop = Shop::Get();
  const auto list = shop.dir / "opt_outs.txt";
  WriteBytes(list, fmt::format("{}\n{}\n", shop.user_ids[3], shop.user_ids[100]));
  const std::string privacy = fmt::format("--pseudonymize-key '{}' --exclude-users '{}' --quiet",
                                          shop.key1.string(), list.string());
  const std::vector<std::pair<std::string, std::string>> jobs = {
      {fmt::format("train kmeans --data '{}' --id-column user_id --features age,rating --k 3 "
                   "--anomaly-scores",
                   shop.users.string()),
       "assignments.csv"},
      {fmt::format("train itemcf --train '{}' --neighbors 5 -n 5", shop.interactions.string()),
       "recommendations.csv"}};
  for (const auto& [job, file] : jobs) {
    const auto local = shop.dir / "local", mpi = shop.dir / "mpi";
    const std::string common = fmt::format("{} {} {}", ECPS_BINARY, job, privacy);
    ASSERT_EQ(Shell(fmt::format("timeout 120 {} --local --workers 2 --out '{}' 2> '{}.err'", common,
                                local.string(), local.string())),
              0)
        << ReadBytes(local.string() + ".err");
    const std::string cmd = fmt::format(
        "OMPI_MCA_pml=ob1 timeout 180 mpirun --allow-run-as-root --oversubscribe -np 4 {} "
        "--servers 1 --out '{}' > '{}.err' 2>&1",
        common, mpi.string(), mpi.string());
    ASSERT_EQ(Shell(cmd), 0) << cmd << "\n" << ReadBytes(mpi.string() + ".err");
    EXPECT_EQ(ReadBytes(mpi / file), ReadBytes(local / file)) << job;
    EXPECT_GT(ReadBytes(mpi / file).size(), 1000u);
    ExpectNoneOf(shop.user_ids, mpi, ReadBytes(mpi.string() + ".err"));
    fs::remove_all(local);
    fs::remove_all(mpi);
  }
  fs::remove_all(shop.dir);
}

}  // namespace
}  // namespace ecps::testing
