// --encrypt-key under mpirun (only rank 0 writes, each rank loads the keys itself), together
// with pseudonyms, opt-outs and --mask-columns: the sealed outputs open to the bytes of the
// --local run's (k-means and CF are the same bits for any layout), LR's sealed model and
// weight exports open and predict reads them, and no raw id reaches an output or the log.
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "privacy/sealed.h"
#include "tests/privacy/pseudonym_data.h"

namespace ecps::testing {
namespace {

[[maybe_unused]] const auto* const kRemoveShop = ::testing::AddGlobalTestEnvironment(new RemoveShop);

int Sh(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());  // NOLINT(concurrency-mt-unsafe)
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// The plaintext of the sealed file `path` (label: its name) under the shop's first key.
std::string Opened(const fs::path& path) {
  const auto key = privacy::EncryptionKey::Load(Shop::Get().key1.string()).value();
  auto plain = privacy::Open(key, ReadBytes(path), path.filename().string());
  EXPECT_TRUE(plain.ok()) << path << ": " << plain.status().message();
  return plain.ok() ? *plain : std::string();
}

// Runs `job` (a training command without --out) with --local --workers 2 into `name`_local and
// under `mpirun -np 4 --servers 1` (2 workers) into `name`_mpi; returns the mpirun log.
std::string RunBoth(const std::string& name, const std::string& job) {
  const auto& shop = Shop::Get();
  const auto local = shop.dir / (name + "_local"), mpi = shop.dir / (name + "_mpi");
  const std::string common =
      fmt::format("{} {} --encrypt-key '{}' --quiet", ECPS_BINARY, job, shop.key1.string());
  EXPECT_EQ(Sh(fmt::format("timeout 120 {} --local --workers 2 --servers 1 --out '{}' 2> '{}.err'",
                           common, local.string(), local.string())),
            0)
      << ReadBytes(local.string() + ".err");
  const std::string cmd = fmt::format(
      "OMPI_MCA_pml=ob1 timeout 180 mpirun --allow-run-as-root --oversubscribe -np 4 {} "
      "--servers 1 --out '{}' > '{}.err' 2>&1",
      common, mpi.string(), mpi.string());
  EXPECT_EQ(Sh(cmd), 0) << cmd << "\n" << ReadBytes(mpi.string() + ".err");
  return ReadBytes(mpi.string() + ".err");
}

TEST(SealedMpi, KMeansWithPseudonymsOptOutsAndMaskedIds) {
  const auto& shop = Shop::Get();
  const auto list = shop.dir / "km_opt_outs.txt";
  WriteBytes(list, fmt::format("{}\n{}\n", shop.user_ids[5], shop.user_ids[50]));
  const std::string log = RunBoth(
      "km", fmt::format("train kmeans --data '{}' --id-column user_id --features age,rating "
                        "--k 3 --pseudonymize-key '{}' --exclude-users '{}' --mask-columns user_id",
                        shop.users.string(), shop.key1.string(), list.string()));
  for (const char* file : {"model.bin", "assignments.csv"}) {
    const std::string mpi = Opened(shop.dir / "km_mpi" / file);
    EXPECT_EQ(mpi, Opened(shop.dir / "km_local" / file)) << file;
    EXPECT_GT(mpi.size(), 300u) << file;
  }
  const std::string assignments = Opened(shop.dir / "km_mpi/assignments.csv");
  EXPECT_TRUE(assignments.starts_with("cluster,distance\n"))
      << "ids masked: " << assignments.substr(0, 40);
  EXPECT_EQ(std::count(assignments.begin(), assignments.end(), '\n'), 1 + 300 - 2);
  ExpectNoneOf(shop.user_ids, shop.dir / "km_mpi", log);
}

TEST(SealedMpi, ItemCfAndUserCfWithPseudonyms) {
  const auto& shop = Shop::Get();
  for (const std::string kind : {"itemcf", "usercf"}) {
    const std::string log = RunBoth(
        kind, fmt::format("train {} --train '{}' --neighbors 5 -n 5 --pseudonymize-key '{}'", kind,
                          shop.interactions.string(), shop.key1.string()));
    for (const char* file : {"model.ecps", "recommendations.csv", "neighbors.csv"}) {
      const std::string mpi = Opened(shop.dir / (kind + "_mpi") / file);
      EXPECT_EQ(mpi, Opened(shop.dir / (kind + "_local") / file)) << kind << " " << file;
      EXPECT_GT(mpi.size(), 1000u) << kind << " " << file;
      for (const auto& id : shop.user_ids) {
        if (mpi.find(id) != std::string::npos) ADD_FAILURE() << id << " found in " << file;
      }
    }
    ExpectNoneOf(shop.user_ids, shop.dir / (kind + "_mpi"), log);
  }
}

TEST(SealedMpi, LrSealsModelAndWeightExports) {
  const auto& shop = Shop::Get();
  const auto train = shop.dir / "shop" / "impressions.libsvm";
  RunBoth("lr", fmt::format("train lr --train '{}' --hash-bits 10", train.string()));
  const auto mpi = shop.dir / "lr_mpi";
  EXPECT_TRUE(Opened(mpi / "weights.csv").starts_with("feature,key,weight\n"));
  EXPECT_NE(Opened(mpi / "weights.json").find("\"weights\""), std::string::npos);
  EXPECT_FALSE(privacy::LooksSealed(ReadBytes(mpi / "metrics.json")));
  // The model opens with the key, and predict scores as with the --local run's model (the
  // same layout; 1e-5 leaves room for another order of the float sums on the server).
  const auto scores = [&](const fs::path& model) {
    std::vector<double> p;
    std::istringstream lines(EcpsOut(fmt::format(
        "predict --model '{}' --data '{}' --out - --encrypt-key '{}'", model.string(),
        train.string(), shop.key1.string())));
    std::string line;
    std::getline(lines, line);
    EXPECT_EQ(line, "id,probability");
    while (std::getline(lines, line)) p.push_back(std::stod(line.substr(line.find(',') + 1)));
    return p;
  };
  const auto a = scores(mpi), b = scores(shop.dir / "lr_local");
  ASSERT_EQ(a.size(), b.size());
  EXPECT_GT(a.size(), 1000u);
  double diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::fabs(a[i] - b[i]));
  EXPECT_LE(diff, 1e-5);
}

}  // namespace
}  // namespace ecps::testing
