// train lr --init-model under mpirun: a 1-epoch single-node model continued for 1 epoch under
// mpirun -np 5 (two servers, each loading its key range of the model) gives the bytes of a
// 2-epoch single-node run with two workers; an incompatible model is refused there too. And a
// warm-started run killed after a checkpoint resumes (single node) to the uninterrupted
// warm run's bytes.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/common/run_ecps.h"
#include "tests/lr/checkpoint_testing.h"

namespace ecps {
namespace {
namespace fs = std::filesystem;

const char* kMpirun = "env OMPI_MCA_pml=ob1 mpirun --oversubscribe --allow-run-as-root";

std::string Train(const testing::TempDir& dir, int epochs) {
  return fmt::format("train lr --train {} --test {} --hash-bits 16 --batch-size 500 --quiet --epochs {}",
                     dir / "train.svm", dir / "test.svm", epochs);
}

TEST(LrWarmStartMpi, ContinuedUnderMpirunWithTwoServersIsTheTwoEpochRun) {
  testing::TempDir dir("warm-mpi");
  lrtest::WriteCtr(dir);
  ASSERT_EQ(testing::RunEcps(Train(dir, 2) + " --local --workers 2 --out " + (dir / "two")).exit_code, 0);
  ASSERT_EQ(testing::RunEcps(Train(dir, 1) + " --local --workers 2 --out " + (dir / "one")).exit_code, 0);
  const std::string more = fmt::format("{} -np 5 {} {} --servers 2 --init-model {} --out {} 2>{}", kMpirun,
                                       ECPS_BINARY, Train(dir, 1), dir / "one", dir / "more", dir / "more.err");
  ASSERT_EQ(std::system(more.c_str()), 0) << testing::ReadText(dir / "more.err");  // NOLINT
  for (const char* f : {"model.bin", "weights.csv", "weights.json"}) {
    EXPECT_TRUE(testing::ReadText(dir / "two/" + f) == testing::ReadText(dir / "more/" + f)) << f << " differs";
  }

  const std::string bad = fmt::format("{} -np 4 {} {} --hash-bits 15 --init-model {} --out {} 2>{}", kMpirun,
                                      ECPS_BINARY, Train(dir, 1), dir / "one", dir / "bad", dir / "bad.err");
  EXPECT_NE(std::system(bad.c_str()), 0);  // NOLINT
  EXPECT_NE(testing::ReadText(dir / "bad.err").find("it has --hash-bits 16; this run has 15"), std::string::npos)
      << testing::ReadText(dir / "bad.err");
  EXPECT_FALSE(fs::exists(dir / "bad"));
}

TEST(LrWarmStartResume, AWarmRunKilledAfterACheckpointResumesToItsBytes) {
  testing::TempDir dir("warm-resume");
  lrtest::WriteCtr(dir);
  const std::string one = dir / "one";
  ASSERT_EQ(testing::RunEcps(Train(dir, 1) + " --local --workers 2 --out " + one).exit_code, 0);
  const std::string warm = Train(dir, 2) + " --local --workers 2 --init-model " + one;
  ASSERT_EQ(testing::RunEcps(warm + " --out " + (dir / "full")).exit_code, 0);
  const std::string ckpt = dir / "ckpt", out = dir / "out";
  testing::Background run(fmt::format("{} {} --out {} --checkpoint-dir {} --checkpoint-every 2", ECPS_BINARY,
                                      warm, out, ckpt),
                          dir / "killed.log");
  ASSERT_TRUE(kmtest::KillAtCheckpoint(run, ckpt, 20, run.pid())) << run.log();
  ASSERT_EQ(run.Wait(60).signal, SIGKILL);
  const auto resumed =
      testing::RunEcps(fmt::format("{} --servers 2 --out {} --checkpoint-dir {} --resume", warm, out, ckpt));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  lrtest::ExpectSameModel(dir / "full", out);
  // Resuming it without --init-model is another run.
  const auto other = testing::RunEcps(
      fmt::format("{} --local --workers 2 --out {} --checkpoint-dir {} --resume", Train(dir, 2), dir / "o", ckpt));
  EXPECT_EQ(other.exit_code, 2) << other.err;
  EXPECT_NE(other.err.find("was made with --init-model"), std::string::npos) << other.err;
}

}  // namespace
}  // namespace ecps
