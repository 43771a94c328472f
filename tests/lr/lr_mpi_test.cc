// `ecps train lr` under mpirun: 1, 2 and 4 workers (mpirun -np 3, 4, 6 with one server) give
// the model of a single-node run with one worker, up to float summation order; `ecps predict`
// on the MPI-trained model reproduces the job's test AUC.
#include <cstdlib>

#include <gtest/gtest.h>

#include "models/lr/lr_eval.h"
#include "models/lr/lr_model.h"
#include "models/lr/synthetic.h"
#include "tests/lr/lr_test_util.h"

namespace ecps {
namespace {

using namespace models::lr;
using testing::TempDir;

int Shell(const std::string& cmd) {
  const int rc = std::system(("timeout 120 " + cmd).c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

nlohmann::json Metrics(const std::string& dir) { return nlohmann::json::parse(testing::ReadText(dir + "/metrics.json")); }

TEST(LrMpi, OneTwoAndFourWorkersUnderMpirunMatchSingleNode) {
  TempDir dir("mpi");
  SyntheticCtrOptions g;
  g.rows = 5000;
  g.fields = 10;
  g.max_cardinality = 1000;
  ASSERT_TRUE(WriteSyntheticCtr(g, dir / "train.svm").ok());
  g.skip = g.rows;
  g.rows = 1500;
  ASSERT_TRUE(WriteSyntheticCtr(g, dir / "test.svm").ok());
  const std::string common = fmt::format("train lr --train {} --test {} --hash-bits 16 --batch-size 250 --epochs 2 -q",
                                         dir / "train.svm", dir / "test.svm");
  ASSERT_EQ(Shell(fmt::format("{} {} --local --servers 1 --workers 1 --out {}", ECPS_BINARY, common, dir / "local")), 0);
  const auto local = LoadLrModel(dir / "local/model.bin");
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  const double local_auc = Metrics(dir / "local")["auc"].get<double>();
  EXPECT_GT(local_auc, 0.6);
  const auto wl = local->DenseWeights();
  for (int np : {3, 4, 6}) {
    const std::string out = dir / fmt::format("np{}", np);
    ASSERT_EQ(Shell(fmt::format("env OMPI_MCA_pml=ob1 mpirun --allow-run-as-root --oversubscribe -np {} {} {} --servers 1 "
                                "--out {} > {}.log 2>&1",
                                np, ECPS_BINARY, common, out, out)),
              0)
        << testing::ReadText(out + ".log");
    const auto m = Metrics(out);
    EXPECT_EQ(m["roles"]["workers"].get<int>(), np - 2);
    EXPECT_NEAR(m["auc"].get<double>(), local_auc, 1e-5) << np << " ranks";
    const auto model = LoadLrModel(out + "/model.bin");
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    const auto w = model->DenseWeights();
    double diff = 0;
    for (std::size_t k = 0; k < w.size(); ++k) diff = std::max(diff, static_cast<double>(std::fabs(w[k] - wl[k])));
    EXPECT_LE(diff, 1e-5) << np << " ranks";
  }
  // Predict with the 4-worker model: one probability per test row, the job's AUC again.
  ASSERT_EQ(Shell(fmt::format("{} predict --model {} --data {} --out {}", ECPS_BINARY, dir / "np6", dir / "test.svm",
                              dir / "pred.txt")),
            0);
  std::vector<float> p, y;
  std::istringstream pred(testing::ReadText(dir / "pred.txt")), test(testing::ReadText(dir / "test.svm"));
  std::string header;
  ASSERT_TRUE(std::getline(pred, header));
  EXPECT_EQ(header, "id,probability");
  for (std::string line; std::getline(pred, line);) {
    p.push_back(std::stof(line.substr(line.find(',') + 1)));
  }
  for (std::string line; std::getline(test, line);) y.push_back(line[0] == '1' ? 1.0f : 0.0f);
  ASSERT_EQ(p.size(), y.size());
  EXPECT_NEAR(BinaryEval::From(p, y, 0.5).ToJson(0.5)["auc"].get<double>(), Metrics(dir / "np6")["auc"].get<double>(),
              1e-6);
  // A corrupt model is refused by predict with a clear message and exit code 2.
  std::string bytes = testing::ReadText(dir / "np6/model.bin");
  bytes[bytes.size() / 2] ^= 1;
  testing::WriteText(dir / "np6/model.bin", bytes);
  EXPECT_EQ(Shell(fmt::format("{} predict --model {} --data {} --out {} 2> {}", ECPS_BINARY, dir / "np6",
                              dir / "test.svm", dir / "pred2.txt", dir / "err.txt")),
            2);
  EXPECT_NE(testing::ReadText(dir / "err.txt").find("checksum mismatch"), std::string::npos);
}

TEST(LrMpi, DpSgdUnderMpirunMatchesSingleNodeWithTheTestSeed) {
  // --dp-seed replays the batches (keyed by row id and step) and each server's noise (by
  // server index): 2 workers under mpirun -np 5 (2 servers) give the single-node model of 1
  // worker and 2 servers, up to float summation order.
  TempDir dir("mpi_dp");
  SyntheticCtrOptions g;
  g.rows = 3000;
  g.fields = 8;
  g.max_cardinality = 500;
  ASSERT_TRUE(WriteSyntheticCtr(g, dir / "train.svm").ok());
  const std::string common =
      fmt::format("train lr --train {} --holdout 0.1 --hash-bits 10 --epochs 1 --dp-noise-multiplier 1 --dp-delta 1e-5 "
                  "--dp-seed 5 --servers 2 -q",
                  dir / "train.svm");
  ASSERT_EQ(Shell(fmt::format("{} {} --local --workers 1 --out {}", ECPS_BINARY, common, dir / "local")), 0);
  const std::string out = dir / "np5";
  ASSERT_EQ(Shell(fmt::format("env OMPI_MCA_pml=ob1 mpirun --allow-run-as-root --oversubscribe -np 5 {} {} --out {} "
                              "> {}.log 2>&1",
                              ECPS_BINARY, common, out, out)),
            0)
      << testing::ReadText(out + ".log");
  EXPECT_EQ(Metrics(out)["privacy"], Metrics(dir / "local")["privacy"]);
  const auto a = LoadLrModel(dir / "local/model.bin");
  const auto b = LoadLrModel(out + "/model.bin");
  ASSERT_TRUE(a.ok() && b.ok());
  const auto wa = a->DenseWeights(), wb = b->DenseWeights();
  double diff = 0;
  for (std::size_t k = 0; k < wa.size(); ++k) diff = std::max(diff, static_cast<double>(std::fabs(wa[k] - wb[k])));
  EXPECT_LE(diff, 1e-4);
  EXPECT_GT(a->keys.size(), 500u);
}

}  // namespace
}  // namespace ecps
