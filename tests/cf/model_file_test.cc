// The CF model file written streamed from its parts (CfModelParts, models::StreamModelFile):
// the same bytes as the CfModel serialised whole, loaded back to the same model.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

#include <gtest/gtest.h>

#include "models/cf/model.h"
#include "models/common/model_file.h"

namespace ecps::models::cf {
namespace {

namespace fs = std::filesystem;

fs::path TestDir(const char* name) {
  fs::path dir =
      fs::temp_directory_path() / ("ecps_cf_model_file_" + std::to_string(getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string Bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

NeighborLists RandomLists(std::mt19937& rng, std::size_t n, std::uint32_t k) {
  NeighborLists l;
  l.k = k;
  for (std::size_t e = 0; e < n; ++e) {
    const std::size_t len = rng() % (k + 1);
    for (std::size_t t = 0; t < len; ++t) {
      l.Add(e, static_cast<std::uint32_t>(rng() % n), static_cast<float>(rng() % 1000) / 999.0f);
    }
  }
  l.Finish(n);
  return l;
}

// A model of `users` x `items` with random rows (some users without any), optionally with
// ratings, ages and content lists.
CfModel RandomModel(std::uint32_t seed, std::size_t users, std::size_t items, bool ratings,
                    bool ages, bool content) {
  std::mt19937 rng(seed);
  CfModel m;
  m.kind = "itemcf";
  m.similarity = "cosine";
  m.scoring = ratings ? "average" : "sum";
  m.explicit_ratings = ratings;
  for (std::size_t u = 0; u < users; ++u) m.user_ids.push_back("u" + std::to_string(u * 7));
  for (std::size_t i = 0; i < items; ++i) m.item_ids.push_back("item-" + std::to_string(i));
  m.neighbors = RandomLists(rng, items, 5);
  m.train_ptr.assign(1, 0);
  m.item_count.assign(items, 0);
  for (std::size_t u = 0; u < users; ++u) {
    const std::size_t len = u % 5 == 3 ? 0 : rng() % 40;
    std::uint32_t j = static_cast<std::uint32_t>(rng() % 3);
    for (std::size_t t = 0; t < len && j < items; ++t, j += 1 + rng() % 3) {
      m.train_item.push_back(j);
      ++m.item_count[j];
      if (ratings) m.train_val.push_back(static_cast<float>(1 + rng() % 5));
      if (ages) m.train_age.push_back(static_cast<std::uint32_t>(len - 1 - t));
    }
    m.train_ptr.push_back(m.train_item.size());
  }
  if (ages) m.recency_decay = 0.9;
  if (content) {
    m.content = RandomLists(rng, items, 3);
    m.cold_threshold = 2;
    m.content_blend = 0.25;
  }
  return m;
}

void ExpectSameModel(const CfModel& a, const CfModel& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.scoring, b.scoring);
  EXPECT_EQ(a.user_ids, b.user_ids);
  EXPECT_EQ(a.item_ids, b.item_ids);
  EXPECT_EQ(a.neighbors.ptr, b.neighbors.ptr);
  EXPECT_EQ(a.neighbors.id, b.neighbors.id);
  EXPECT_EQ(a.neighbors.score, b.neighbors.score);
  EXPECT_EQ(a.train_ptr, b.train_ptr);
  EXPECT_EQ(a.train_item, b.train_item);
  EXPECT_EQ(a.train_val, b.train_val);
  EXPECT_EQ(a.train_age, b.train_age);
  EXPECT_EQ(a.item_count, b.item_count);
  EXPECT_EQ(a.content.id, b.content.id);
  EXPECT_EQ(a.recency_decay, b.recency_decay);
  EXPECT_EQ(a.content_blend, b.content_blend);
}

TEST(CfModelFile, StreamedFromPartsIsTheWholeModelsFileAndLoadsBack) {
  const fs::path dir = TestDir("same_bytes");
  int variant = 0;
  for (bool ratings : {false, true}) {
    for (bool ages : {false, true}) {
      for (bool content : {false, true}) {
        // 30k users of up to 40 rows: a payload of several MiB, so several 1 MiB pieces
        const CfModel m = RandomModel(17 + variant, 30000, 4000, ratings, ages, content);
        const fs::path whole = dir / ("whole" + std::to_string(variant) + ".ecps");
        const fs::path streamed = dir / ("streamed" + std::to_string(variant) + ".ecps");
        ++variant;
        ASSERT_TRUE(SaveModel(whole.string(), CfModel::kKind, CfModel::kVersion, m).ok());
        ASSERT_TRUE(CheckModelParts(PartsOf(m), "test").ok());
        ASSERT_TRUE(SaveCfModelParts(streamed.string(), PartsOf(m)).ok());
        const std::string a = Bytes(whole), b = Bytes(streamed);
        EXPECT_GT(a.size(), std::size_t{2} << 20);
        EXPECT_TRUE(a == b) << "ratings " << ratings << " ages " << ages << " content " << content;
        auto back = LoadCfModel(streamed.string());
        ASSERT_TRUE(back.ok()) << back.status().message();
        ExpectSameModel(m, *back);
      }
    }
  }
  fs::remove_all(dir);
}

TEST(CfModelFile, RowsReadFromScatteredReportsWriteTheGatheredModel) {
  // As the trainer holds them: users' rows in two reports, in another order than the index.
  const CfModel m = RandomModel(5, 2000, 300, true, true, false);
  struct Report {
    std::vector<std::uint32_t> users;
    std::vector<std::uint64_t> ptr{0};
    std::vector<std::uint32_t> item, age;
    std::vector<float> val;
  } reports[2];
  std::vector<std::pair<int, std::size_t>> where(m.user_ids.size());
  for (std::uint32_t u0 = 0; u0 < m.user_ids.size(); ++u0) {
    const auto u = static_cast<std::uint32_t>(m.user_ids.size() - 1 - u0);  // descending
    Report& r = reports[u % 2];
    where[u] = {static_cast<int>(u % 2), r.users.size()};
    r.users.push_back(u);
    r.item.insert(r.item.end(), m.Items(u).begin(), m.Items(u).end());
    r.val.insert(r.val.end(), m.Values(u).begin(), m.Values(u).end());
    r.age.insert(r.age.end(), m.Ages(u).begin(), m.Ages(u).end());
    r.ptr.push_back(r.item.size());
  }
  CfModelParts parts = PartsOf(m);
  parts.rows = [&](std::uint32_t u) {
    const Report& r = reports[where[u].first];
    const std::size_t p = where[u].second, b = r.ptr[p], n = r.ptr[p + 1] - b;
    return TrainRows{std::span<const std::uint32_t>(r.item).subspan(b, n),
                    std::span<const float>(r.val).subspan(b, n),
                    std::span<const std::uint32_t>(r.age).subspan(b, n)};
  };
  const fs::path dir = TestDir("scattered");
  ASSERT_TRUE(SaveModel((dir / "whole.ecps").string(), CfModel::kKind, CfModel::kVersion, m).ok());
  ASSERT_TRUE(SaveCfModelParts((dir / "parts.ecps").string(), parts).ok());
  EXPECT_TRUE(Bytes(dir / "whole.ecps") == Bytes(dir / "parts.ecps"));
  fs::remove_all(dir);
}

TEST(CfModelFile, PartsThatWouldNotLoadAreRefused) {
  CfModel m = RandomModel(9, 50, 20, true, false, false);
  std::vector<std::uint32_t> bad_items{3, 25};
  std::vector<float> bad_vals{1.0f, NAN};
  auto refusal = [&](auto rows) {
    CfModelParts p = PartsOf(m);
    p.rows = [&, rows](std::uint32_t u) { return u == 7 ? rows() : PartsOf(m).rows(u); };
    Status s = CheckModelParts(p, "the trained model");
    return s.ok() ? std::string() : s.message();
  };
  std::vector<float> two{1.0f, 2.0f};
  std::vector<std::uint32_t> good{3, 4};
  EXPECT_NE(refusal([&] { return TrainRows{good, {}, {}}; }).find("training values"),
            std::string::npos);
  EXPECT_NE(refusal([&] { return TrainRows{bad_items, two, {}}; }).find("index 25 is not below 20"),
            std::string::npos);
  EXPECT_NE(refusal([&] { return TrainRows{good, bad_vals, {}}; }).find("not finite"),
            std::string::npos);
  EXPECT_EQ(refusal([&] { return TrainRows{good, two, {}}; }), "");
}

TEST(ModelFile, StreamedFileIsTheWholeFileAndAFailedWriteLeavesNothing) {
  const fs::path dir = TestDir("stream");
  std::string payload;
  std::mt19937 rng(3);
  for (int i = 0; i < (3 << 20) + 12345; ++i) payload.push_back(static_cast<char>(rng()));
  ASSERT_TRUE(SaveModelFile((dir / "whole").string(), "test", 4, payload).ok());
  // pieces of every size: small writes, then one larger than a piece
  auto write = [&](std::ostream& os) {
    os.write(payload.data(), 7);
    std::size_t at = 7;
    for (std::size_t n = 1; at + n < payload.size() / 2; n = n * 3 % 5000 + 1) {
      os.write(payload.data() + at, static_cast<std::streamsize>(n));
      at += n;
    }
    os.write(payload.data() + at, static_cast<std::streamsize>(payload.size() - at));
  };
  ASSERT_TRUE(StreamModelFile((dir / "streamed").string(), "test", 4, write).ok());
  EXPECT_TRUE(Bytes(dir / "whole") == Bytes(dir / "streamed"));
  auto back = LoadModelFile((dir / "streamed").string(), "test", 4);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == payload);

  Status s = StreamModelFile((dir / "failed").string(), "test", 4, [](std::ostream& os) {
    os.write("abc", 3);
    throw std::runtime_error("boom");
  });
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("boom"), std::string::npos);
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    files += e.path().filename() == "failed" ? 1 : 0;
  }
  EXPECT_EQ(files, 0u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ecps::models::cf
