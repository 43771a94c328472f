// --encrypt-key through the real binary (--local) on `ecps generate` data: train kmeans, lr,
// itemcf and usercf seal their model and per-user outputs (the sealed bytes open to exactly
// what a run without the key writes, and hold no raw user id); segment, predict and recommend
// open the model with the key and answer as from the plain model; without the key, with
// another key or after a changed byte they exit 2.
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "privacy/sealed.h"
#include "tests/privacy/pseudonym_data.h"

namespace ecps::testing {
namespace {

[[maybe_unused]] const auto* const kRemoveShop = ::testing::AddGlobalTestEnvironment(new RemoveShop);

// `ecps train kmeans` on the shop's users into `out` with `extra` options.
void KMeans(const fs::path& out, const std::string& extra) {
  const auto r = RunEcps(fmt::format(
      "train kmeans --local --workers 2 --data '{}' --id-column user_id "
      "--features age,purchase_frequency,rating,duration --k 4 --anomaly-scores --seed 3 "
      "--out '{}' {}",
      Shop::Get().users.string(), out.string(), extra));
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// `ecps segment` of the shop's users with the model in `model` into `out`.
EcpsRun Segment(const fs::path& model, const fs::path& out, const std::string& extra) {
  return RunEcps(fmt::format("segment --model '{}' --data '{}' --out '{}' {}", model.string(),
                             Shop::Get().users.string(), out.string(), extra));
}

std::string KeyOption(const fs::path& key) { return fmt::format("--encrypt-key '{}'", key.string()); }

// The plaintext of the sealed file `path` under `key`.
std::string Opened(const fs::path& key, const fs::path& path) {
  const auto k = privacy::EncryptionKey::Load(key.string()).value();
  const std::string sealed = ReadBytes(path);
  EXPECT_TRUE(privacy::LooksSealed(sealed)) << path;
  auto plain = privacy::Open(k, sealed, path.filename().string());
  EXPECT_TRUE(plain.ok()) << path << ": " << plain.status().message();
  return plain.ok() ? *plain : std::string();
}

TEST(SealedE2e, KMeansSealsModelAndAssignmentsAndSegmentOpensThem) {
  const auto& shop = Shop::Get();
  const auto plain = shop.dir / "km_plain", sealed = shop.dir / "km_sealed";
  KMeans(plain, "");
  KMeans(sealed, KeyOption(shop.key1));
  for (const char* name : {"model.bin", "assignments.csv"}) {
    EXPECT_EQ(Opened(shop.key1, sealed / name), ReadBytes(plain / name)) << name;
    const std::string bytes = ReadBytes(sealed / name);
    for (const auto& id : shop.user_ids) {
      if (bytes.find(id) != std::string::npos) ADD_FAILURE() << id << " found in sealed " << name;
    }
  }
  EXPECT_FALSE(privacy::LooksSealed(ReadBytes(sealed / "metrics.json")));

  const auto seg_plain = shop.dir / "seg_plain.csv", seg_sealed = shop.dir / "seg_sealed.csv";
  ASSERT_EQ(Segment(plain, seg_plain, "").exit_code, 0);
  const auto ok = Segment(sealed, seg_sealed, KeyOption(shop.key1));
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ReadBytes(seg_sealed), ReadBytes(seg_plain));
}

TEST(SealedE2e, ASealedModelWithoutTheKeyWithAnotherKeyOrChangedIsRefused) {
  const auto& shop = Shop::Get();
  const auto dir = shop.dir / "km_refused", out = shop.dir / "seg_refused.csv";
  KMeans(dir, KeyOption(shop.key1));

  const auto no_key = Segment(dir, out, "");
  EXPECT_EQ(no_key.exit_code, 2);
  EXPECT_NE(no_key.err.find("encrypted"), std::string::npos) << no_key.err;
  EXPECT_NE(no_key.err.find("--encrypt-key"), std::string::npos) << no_key.err;

  const auto wrong = Segment(dir, out, KeyOption(shop.key2));
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("wrong key, or the file was modified"), std::string::npos) << wrong.err;
  EXPECT_NE(wrong.err.find("model.bin"), std::string::npos) << wrong.err;

  std::string bytes = ReadBytes(dir / "model.bin");
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
  WriteBytes(dir / "model.bin", bytes);
  const auto flipped = Segment(dir, out, KeyOption(shop.key1));
  EXPECT_EQ(flipped.exit_code, 2);
  EXPECT_NE(flipped.err.find("wrong key, or the file was modified"), std::string::npos) << flipped.err;
  EXPECT_FALSE(fs::exists(out));
}

// `ecps train <kind>` on the shop's interactions into `out` with `extra` options.
void Cf(const std::string& kind, const fs::path& out, const std::string& extra) {
  const auto r = RunEcps(fmt::format("train {} --local --workers 2 --train '{}' --neighbors 5 -n 5 "
                                     "--out '{}' {}",
                                     kind, Shop::Get().interactions.string(), out.string(), extra));
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

TEST(SealedE2e, CfSealsModelRecommendationsAndNeighboursAndRecommendOpensThem) {
  const auto& shop = Shop::Get();
  for (const std::string kind : {"itemcf", "usercf"}) {
    const auto plain = shop.dir / (kind + "_plain"), sealed = shop.dir / (kind + "_sealed");
    Cf(kind, plain, "");
    Cf(kind, sealed, KeyOption(shop.key1));
    for (const char* name : {"model.ecps", "recommendations.csv", "neighbors.csv"}) {
      EXPECT_EQ(Opened(shop.key1, sealed / name), ReadBytes(plain / name)) << kind << " " << name;
      const std::string bytes = ReadBytes(sealed / name);
      for (const auto& id : shop.user_ids) {
        if (bytes.find(id) != std::string::npos) ADD_FAILURE() << id << " found in sealed " << name;
      }
    }
    const std::string user = shop.user_ids.front();
    const std::string want = EcpsOut(fmt::format("recommend --model '{}' --user {}", plain.string(), user));
    ASSERT_NE(want.find('\n'), std::string::npos);
    EXPECT_EQ(EcpsOut(fmt::format("recommend --model '{}' --user {} {}", sealed.string(), user,
                                  KeyOption(shop.key1))),
              want);
    const auto no_key = RunEcps(fmt::format("recommend --model '{}' --user {}", sealed.string(), user));
    EXPECT_EQ(no_key.exit_code, 2);
    EXPECT_NE(no_key.err.find("--encrypt-key"), std::string::npos) << no_key.err;
    const std::string of = kind == "itemcf" ? "--item i00001" : "--user " + user;
    const auto wrong = RunEcps(
        fmt::format("similar --model '{}' {} {}", sealed.string(), of, KeyOption(shop.key2)));
    EXPECT_EQ(wrong.exit_code, 2);
    EXPECT_NE(wrong.err.find("wrong key, or the file was modified"), std::string::npos) << wrong.err;
  }
}

TEST(SealedE2e, LrSealsTheModelAndPredictOpensIt) {
  const auto& shop = Shop::Get();
  const auto train = shop.dir / "shop" / "impressions.libsvm";
  const auto test = shop.dir / "shop" / "impressions_test.libsvm";
  const auto plain = shop.dir / "lr_plain", sealed = shop.dir / "lr_sealed";
  for (const auto& [out, extra] : {std::pair{plain, std::string()}, {sealed, KeyOption(shop.key1)}}) {
    const auto r = RunEcps(fmt::format("train lr --local --workers 2 --train '{}' --out '{}' {}",
                                       train.string(), out.string(), extra));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // The weight exports hold the model too: sealed, and they open to the plain run's bytes.
  for (const char* name : {"model.bin", "weights.csv", "weights.json"}) {
    EXPECT_EQ(Opened(shop.key1, sealed / name), ReadBytes(plain / name)) << name;
  }
  EXPECT_NE(ReadBytes(plain / "weights.csv").find("feature,key,weight\n"), std::string::npos);
  EXPECT_FALSE(privacy::LooksSealed(ReadBytes(sealed / "metrics.json")));
  const auto predict = [&](const fs::path& model, const std::string& extra) {
    return fmt::format("predict --model '{}' --data '{}' --out - {}", model.string(), test.string(),
                       extra);
  };
  const std::string want = EcpsOut(predict(plain, ""));
  ASSERT_NE(want.find('\n'), std::string::npos);
  EXPECT_EQ(EcpsOut(predict(sealed, KeyOption(shop.key1))), want);
  const auto no_key = RunEcps(predict(sealed, ""));
  EXPECT_EQ(no_key.exit_code, 2);
  EXPECT_NE(no_key.err.find("encrypted"), std::string::npos) << no_key.err;
  EXPECT_NE(no_key.err.find("--encrypt-key"), std::string::npos) << no_key.err;
  const auto wrong = RunEcps(predict(sealed, KeyOption(shop.key2)));
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("wrong key, or the file was modified"), std::string::npos) << wrong.err;
}

TEST(SealedE2e, LinRegSealsTheModelAndTheCoefficients) {
  const auto& shop = Shop::Get();
  const auto plain = shop.dir / "linreg_plain", sealed = shop.dir / "linreg_sealed";
  for (const auto& [out, extra] : {std::pair{plain, std::string()}, {sealed, KeyOption(shop.key1)}}) {
    const auto r = RunEcps(fmt::format(
        "train linreg --local --workers 2 --train '{}' --format csv --label-column rating "
        "--out '{}' {}",
        shop.users.string(), out.string(), extra));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  for (const char* name : {"model.bin", "coefficients.csv"}) {
    EXPECT_EQ(Opened(shop.key1, sealed / name), ReadBytes(plain / name)) << name;
  }
  EXPECT_NE(ReadBytes(plain / "coefficients.csv").find("(intercept)"), std::string::npos);
  // Another key or a changed byte does not open the coefficients.
  const auto other = privacy::EncryptionKey::Load(shop.key2.string()).value();
  std::string bytes = ReadBytes(sealed / "coefficients.csv");
  EXPECT_FALSE(privacy::Open(other, bytes, "coefficients.csv").ok());
  bytes[privacy::kSealOverhead] = static_cast<char>(bytes[privacy::kSealOverhead] ^ 0x20);
  const auto key = privacy::EncryptionKey::Load(shop.key1.string()).value();
  EXPECT_FALSE(privacy::Open(key, bytes, "coefficients.csv").ok());
}

}  // namespace
}  // namespace ecps::testing
