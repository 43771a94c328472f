// The demo pipeline in single-node mode and under `mpirun -np 4` (scheduler, 1 server,
// 2 workers in both) gives the same outputs: identical checksums for every data, model and
// CSV file, and the same metrics (metrics files differ only in timings).
#include <gtest/gtest.h>

#include "tests/pipeline/pipeline_support.h"

namespace ecps::testing {
namespace {

// Every value in `a` and `b` at the same place agrees; skipped: timings and rates, paths (the two
// runs write to different folders), thread counts (a worker thread per core either way) and the
// bytes on the wire (the in-process and MPI transports carry the job differently).
void ExpectSameNumbers(const nlohmann::json& a, const nlohmann::json& b, const std::string& where) {
  if (a.is_object()) {
    for (const auto& [k, v] : a.items()) {
      if (k == "timings" || k.find("second") != std::string::npos || k.find("per_s") != std::string::npos ||
          k.find("_s") == k.size() - 2 || k == "evaluated_on" || k == "roles" || k == "file" || k == "train" ||
          k == "test" || k == "data" || k == "attributes" || k == "out" || k == "featindex" ||
          k == "threads_per_worker" || k == "transport") {
        continue;
      }
      ASSERT_TRUE(b.contains(k)) << where << "/" << k;
      ExpectSameNumbers(v, b[k], where + "/" + k);
    }
  } else if (a.is_array()) {
    ASSERT_EQ(a.size(), b.size()) << where;
    for (std::size_t i = 0; i < a.size(); ++i) ExpectSameNumbers(a[i], b[i], where + fmt::format("[{}]", i));
  } else if (a.is_number_float()) {
    EXPECT_NEAR(a.get<double>(), b.get<double>(), 1e-9 * std::max(1.0, std::fabs(a.get<double>()))) << where;
  } else {
    EXPECT_EQ(a, b) << where;
  }
}

TEST(PipelineMpi, SameOutputsAsSingleNode) {
  const fs::path local = TempDir("pipeline_local"), mpi = TempDir("pipeline_mpi");
  CommandRun a = InRepo(fmt::format("{} pipeline --config examples/demo.toml --out {} --quiet", ECPS_BINARY, local.string()));
  ASSERT_EQ(a.rc, 0) << a.out;
  CommandRun b = InRepo(fmt::format("OMPI_MCA_pml=ob1 mpirun --allow-run-as-root --oversubscribe -np 4 {} pipeline "
                             "--config examples/demo.toml --out {} --quiet",
                             ECPS_BINARY, mpi.string()));
  ASSERT_EQ(b.rc, 0) << b.out;
  auto ma = Manifest(local), mb = Manifest(mpi);
  ASSERT_EQ(ma.size(), mb.size());
  for (const auto& [path, crc] : ma) {
    ASSERT_TRUE(mb.count(path)) << path;
    const bool timing_bearing = path == "summary.md" || path == "report.html" ||
                                path.find("metrics.json") != std::string::npos;
    if (!timing_bearing) {
      EXPECT_EQ(crc, mb[path]) << path << " differs between single-node and mpirun";
    }
  }
  for (const char* stage : {"segment", "recommend", "ctr"}) {
    ExpectSameNumbers(Json(local / stage / "metrics.json"), Json(mpi / stage / "metrics.json"), stage);
  }
  fs::remove_all(local);
  fs::remove_all(mpi);
}

// launch/ecps-mpirun: its own options come first, the rest (options included) goes to ecps.
// It runs the binary of the build under test ($ECPS), wherever that build folder is.
TEST(EcpsMpirun, PassesTheCommandThroughUntouched) {
  const std::string wrapper = fmt::format("ECPS={} launch/ecps-mpirun", ECPS_BINARY);
  CommandRun help = InRepo(wrapper + " -np 4 train kmeans --help");
  EXPECT_EQ(help.rc, 0) << help.out;
  EXPECT_NE(help.out.find("Usage: ecps train kmeans"), std::string::npos) << help.out;
  CommandRun demo = InRepo(wrapper + " -np 4 demo --keys 1000 --clocks 2 -q");
  EXPECT_EQ(demo.rc, 0) << demo.out;
  CommandRun missing = InRepo("ECPS=/nonexistent/ecps launch/ecps-mpirun -np 4 demo");
  EXPECT_EQ(missing.rc, 2) << missing.out;
  EXPECT_NE(missing.out.find("/nonexistent/ecps not found"), std::string::npos) << missing.out;
  CommandRun bad = InRepo(wrapper + " -np four demo");
  EXPECT_EQ(bad.rc, 2) << bad.out;
  EXPECT_NE(bad.out.find("-np needs a positive whole number of ranks, not 'four'"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace ecps::testing
