#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "models/common/binary_metrics.h"
#include "models/common/model_file.h"
#include "models/common/sealed_output.h"

namespace ecps::models {
namespace {
namespace fs = std::filesystem;

fs::path TempDir() {
  auto d = fs::temp_directory_path() / ("ecps_common_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

TEST(BinaryMetrics, AucWithTiesByHand) {
  // Positives score {0.9, 0.5, 0.5}; negatives {0.5, 0.2}. Pairs: (0.9 beats both) = 2,
  // (0.5 vs 0.5 tie = 0.5, beats 0.2 = 1) twice = 3 -> 5 / 6.
  std::vector<double> s{0.9, 0.5, 0.5, 0.5, 0.2};
  std::vector<int> y{1, 1, 1, 0, 0};
  EXPECT_DOUBLE_EQ(ExactAuc(ScoreCounts::From(s, y)), 5.0 / 6.0);
}

TEST(BinaryMetrics, MergedPartsEqualTheWhole) {
  std::vector<double> s{0.1, 0.4, 0.35, 0.8, 0.4, 0.7, 0.1, 0.9};
  std::vector<int> y{0, 0, 1, 1, 1, 0, 1, 1};
  auto whole = ScoreCounts::From(s, y);
  auto a = ScoreCounts::From(std::span(s).first(3), std::span(y).first(3));
  auto b = ScoreCounts::From(std::span(s).subspan(3), std::span(y).subspan(3));
  a.Merge(b);
  EXPECT_EQ(a.scores, whole.scores);
  EXPECT_EQ(a.pos, whole.pos);
  EXPECT_EQ(a.neg, whole.neg);
  EXPECT_DOUBLE_EQ(ExactAuc(a), ExactAuc(whole));
  EXPECT_TRUE(std::isnan(ExactAuc(ScoreCounts::From(std::span(s).first(1), std::span(y).first(1)))));
}

TEST(BinaryMetrics, BestF1ByHand) {
  // Scores 0.9(+) 0.8(-) 0.4(+) 0.4(+) 0.3(-) 0.1(+); P = 4. Thresholds, highest first:
  //   0.9: tp 1 fp 0 -> F1 = 2/(2+0+3) = 0.4      0.8: tp 1 fp 1 -> 2/6 = 0.333
  //   0.4: tp 3 fp 1 -> 6/(6+1+1) = 0.75          0.3: tp 3 fp 2 -> 6/9 = 0.667
  //   0.1: tp 4 fp 2 -> 8/10 = 0.8 (the best: every example positive)
  std::vector<double> s{0.9, 0.8, 0.4, 0.4, 0.3, 0.1};
  std::vector<int> y{1, 0, 1, 1, 0, 1};
  auto best = BestF1(ScoreCounts::From(s, y));
  ASSERT_TRUE(best.has_value());
  EXPECT_DOUBLE_EQ(best->threshold, 0.1);
  EXPECT_DOUBLE_EQ(best->f1, 0.8);
  EXPECT_DOUBLE_EQ(best->precision, 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(best->recall, 1.0);
  // Without the last positive the best is 0.4 (tp 3 fp 1 -> 0.857 beats 0.3's 0.75).
  best = BestF1(ScoreCounts::From(std::span(s).first(5), std::span(y).first(5)));
  ASSERT_TRUE(best.has_value());
  EXPECT_DOUBLE_EQ(best->threshold, 0.4);
  EXPECT_DOUBLE_EQ(best->f1, 6.0 / 7.0);
  // No positives: no best threshold.
  EXPECT_FALSE(BestF1(ScoreCounts::From(std::span(s).subspan(1, 1), std::span(y).subspan(1, 1))));
}

TEST(ModelFile, RoundTripAndEveryRefusal) {
  auto dir = TempDir();
  const std::string path = (dir / "m.bin").string();
  std::vector<double> w{1.5, -2, 3};
  ASSERT_TRUE(SaveModel(path, "lr", 1, w).ok());
  std::vector<double> back;
  ASSERT_TRUE(LoadModel(path, "lr", 1, &back).ok());
  EXPECT_EQ(back, w);

  EXPECT_NE(LoadModel(path, "kmeans", 1, &back).message().find("this is a lr model; expected a kmeans model"),
            std::string::npos);
  EXPECT_NE(LoadModel(path, "lr", 2, &back).message().find("model format version 1, but this ecps reads version 2"),
            std::string::npos);
  auto size = fs::file_size(path);
  fs::resize_file(path, size - 3);
  EXPECT_NE(LoadModel(path, "lr", 1, &back).message().find("truncated"), std::string::npos);
  ASSERT_TRUE(SaveModel(path, "lr", 1, w).ok());
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 2));
    f.put('\x7f');
  }
  EXPECT_NE(LoadModel(path, "lr", 1, &back).message().find("checksum mismatch"), std::string::npos);
  std::ofstream(path) << "hello";
  EXPECT_NE(LoadModel(path, "lr", 1, &back).message().find("not an ecps model file"), std::string::npos);
  EXPECT_EQ(LoadModel((dir / "none.bin").string(), "lr", 1, &back).code(), StatusCode::kNotFound);
  fs::remove_all(dir);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(ModelFile, SealedRoundTripAndRefusals) {
  auto dir = TempDir();
  const std::string plain_path = (dir / "plain.bin").string(), path = (dir / "model.bin").string();
  const auto key = privacy::EncryptionKey::FromSecret("0123456789abcdef-model-key");
  std::vector<double> w{1.5, -2, 3}, back;
  ASSERT_TRUE(SaveModel(plain_path, "lr", 1, w).ok());
  ASSERT_TRUE(SaveModel(path, "lr", 1, w, &key).ok());
  // The sealed file holds exactly the plain file's bytes, sealed under its base name.
  const std::string sealed = ReadAll(path);
  ASSERT_TRUE(privacy::LooksSealed(sealed));
  auto opened = privacy::Open(key, sealed, "model.bin");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, ReadAll(plain_path));
  ASSERT_TRUE(LoadModel(path, "lr", 1, &back, &key).ok());
  EXPECT_EQ(back, w);
  // A plain file still loads when a key is given.
  back.clear();
  ASSERT_TRUE(LoadModel(plain_path, "lr", 1, &back, &key).ok());
  EXPECT_EQ(back, w);
  // Header checks still apply inside the seal.
  EXPECT_NE(LoadModel(path, "kmeans", 1, &back, &key).message().find("expected a kmeans model"),
            std::string::npos);

  const Status no_key = LoadModel(path, "lr", 1, &back);
  EXPECT_EQ(no_key.code(), StatusCode::kDataError);
  EXPECT_NE(no_key.message().find("encrypted"), std::string::npos) << no_key.message();
  EXPECT_NE(no_key.message().find("--encrypt-key"), std::string::npos);
  EXPECT_NE(no_key.message().find(path), std::string::npos);

  const auto other = privacy::EncryptionKey::FromSecret("0123456789abcdef-other-key");
  const Status wrong = LoadModel(path, "lr", 1, &back, &other);
  EXPECT_EQ(wrong.code(), StatusCode::kDataError);
  EXPECT_NE(wrong.message().find("wrong key, or the file was modified"), std::string::npos);
  EXPECT_NE(wrong.message().find(path), std::string::npos);

  // The same bytes under another name do not open (the name is the label).
  fs::copy_file(path, dir / "renamed.bin");
  EXPECT_NE(LoadModel((dir / "renamed.bin").string(), "lr", 1, &back, &key)
                .message().find("wrong key, or the file was modified"),
            std::string::npos);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(sealed.size() / 2));
    f.put(static_cast<char>(sealed[sealed.size() / 2] ^ 1));
  }
  EXPECT_NE(LoadModel(path, "lr", 1, &back, &key).message().find("wrong key, or the file was modified"),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(SealedOutput, WholeFilesArePlainWithoutAKeyAndSealedUnderTheirNameWithOne) {
  auto dir = TempDir();
  const std::string text = "feature,key,weight\nage,3,0.25\n";
  const auto key = privacy::EncryptionKey::FromSecret("0123456789abcdef-output-key");
  ASSERT_TRUE(WriteOutputFile((dir / "plain.csv").string(), text, nullptr).ok());
  EXPECT_EQ(ReadAll((dir / "plain.csv").string()), text);
  ASSERT_TRUE(WriteOutputFile((dir / "weights.csv").string(), text, &key).ok());
  const std::string sealed = ReadAll((dir / "weights.csv").string());
  EXPECT_EQ(sealed.size(), text.size() + privacy::kSealOverhead);
  EXPECT_EQ(sealed.find("age"), std::string::npos);
  auto opened = privacy::Open(key, sealed, "weights.csv");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, text);
  EXPECT_FALSE(privacy::Open(key, sealed, "weights.json").ok()) << "the name is the label";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ecps::models
