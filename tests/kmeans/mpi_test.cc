// ecps train kmeans under mpirun (one process per rank, MPI transport) gives the same bytes
// as the in-process run with one worker: assignments, profiles and inertia.
#include <cstdlib>

#include <gtest/gtest.h>

#include "tests/kmeans/kmeans_testing.h"

namespace ecps {
namespace {

int Sh(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());  // NOLINT(concurrency-mt-unsafe)
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// `train` (an ecps command line) under mpirun with `np` ranks, one server, into `out`.
std::string MpiTrain(int np, const std::string& train, const std::string& out) {
  return fmt::format(
      "OMPI_MCA_pml=ob1 OMPI_MCA_rmaps_base_oversubscribe=1 mpirun --allow-run-as-root --oversubscribe -np {} "
      "{} --servers 1 --out {} 2>{}.err",
      np, train, out, out);
}

TEST(KMeansMpi, SameResultsAsInProcessForTwoAndFourWorkers) {
  kmtest::TempDir dir("mpi");
  const auto p = kmtest::MakePlanted(4000, 4, 6, 6.0, 21);
  kmtest::WritePlanted(dir / "users.csv", p);
  const std::string train = fmt::format(
      "{} train kmeans --data {} --id-column user --features f0,f1,f2,f3 --k 6 --init kmeans-parallel "
      "--anomaly-scores --seed 5 --threads 1 --quiet",
      ECPS_BINARY, dir / "users.csv");
  ASSERT_EQ(Sh(train + " --local --workers 1 --out " + (dir / "local") + " 2>" + (dir / "local.err")), 0)
      << kmtest::ReadFile(dir / "local.err");
  for (int np : {4, 6}) {
    const std::string out = dir / fmt::format("np{}", np);
    const std::string cmd = MpiTrain(np, train, out);
    ASSERT_EQ(Sh(cmd), 0) << cmd << "\n" << kmtest::ReadFile(out + ".err");
    EXPECT_EQ(kmtest::ReadFile(out + "/assignments.csv"), kmtest::ReadFile(dir / "local/assignments.csv")) << np;
    EXPECT_EQ(kmtest::ReadFile(out + "/profiles.csv"), kmtest::ReadFile(dir / "local/profiles.csv")) << np;
    const auto m = nlohmann::json::parse(kmtest::ReadFile(out + "/metrics.json"));
    const auto l = nlohmann::json::parse(kmtest::ReadFile(dir / "local/metrics.json"));
    EXPECT_EQ(m["inertia"], l["inertia"]);
    EXPECT_EQ(m["cluster"]["workers"].get<int>(), np - 2);
  }
}

// DP k-means under mpirun: the servers' noise (replayed from --dp-seed) reaches every worker
// as in-process, so the private model and outputs are the same bytes.
TEST(KMeansMpi, PrivateRunGivesTheInProcessBytes) {
  kmtest::TempDir dir("mpi-dp");
  const auto p = kmtest::MakePlanted(3000, 4, 5, 6.0, 23);
  kmtest::WritePlanted(dir / "users.csv", p);
  const std::string train = fmt::format(
      "{} train kmeans --data {} --id-column user --features f0,f1,f2,f3 --k 5 --dp-epsilon 4 "
      "--dp-bounds f0=-30:130,f1=-30:130,f2=-30:130,f3=-30:130 --dp-seed 3 --threads 1 --quiet",
      ECPS_BINARY, dir / "users.csv");
  ASSERT_EQ(Sh(train + " --local --workers 2 --servers 1 --out " + (dir / "local") + " 2>" +
               (dir / "local.err")),
            0)
      << kmtest::ReadFile(dir / "local.err");
  const std::string out = dir / "np4";
  const std::string cmd = MpiTrain(4, train, out);
  ASSERT_EQ(Sh(cmd), 0) << cmd << "\n" << kmtest::ReadFile(out + ".err");
  for (const char* f : {"model.bin", "assignments.csv", "profiles.csv"}) {
    EXPECT_EQ(kmtest::ReadFile(out + "/" + f), kmtest::ReadFile(dir / (std::string("local/") + f))) << f;
  }
  const auto m = nlohmann::json::parse(kmtest::ReadFile(out + "/metrics.json"));
  EXPECT_EQ(m["privacy"]["steps"], 11);
  EXPECT_FALSE(m.contains("inertia"));
}

}  // namespace
}  // namespace ecps
