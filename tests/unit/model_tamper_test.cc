// Model files whose payload was changed and whose checksum was then recomputed (the
// checksum only catches accidents): every loader refuses them with a DataError naming the
// file and what is wrong, never crashes, reads out of bounds or allocates from an untrusted
// count. Also: header padding under the check, folders and devices refused before reading,
// and JSON text that survives bytes that are not UTF-8.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/cf/model.h"
#include "models/common/model_file.h"
#include "models/kmeans/model.h"
#include "models/lr/linreg_job.h"
#include "models/lr/lr_model.h"
#include "tests/common/files.h"
#include "util/crc32.h"
#include "util/files.h"

namespace ecps {
namespace {

namespace fs = std::filesystem;

// The header: magic 8, version 4, kind 16, payload size 8, CRC-32 4.
constexpr std::size_t kKindAt = 12, kCrcAt = 36, kPayloadAt = 40;

fs::path TempDir(const std::string& name) { return testing::FreshDir("tamper_" + name); }
using testing::ReadBytes;
using testing::WriteBytes;

// Makes a tampered file look intact: the header's CRC-32 recomputed over the payload.
std::string WithChecksum(std::string file) {
  const std::uint32_t crc = util::Crc32(std::string_view(file).substr(kPayloadAt));
  std::memcpy(file.data() + kCrcAt, &crc, sizeof crc);
  return file;
}

template <class T>
void Put(std::string* file, std::size_t at, T v) {
  std::memcpy(file->data() + at, &v, sizeof v);
}

models::lr::LrModel SmallLr() {
  models::lr::LrModel m;
  m.algorithm = "ftrl";
  m.format = 0;  // libsvm, hashed
  m.hash_bits = 4;
  m.num_keys = 17;
  m.keys = {1, 5, 16};
  m.weights = {0.5f, -1.25f, 2.0f};
  return m;
}

models::kmeans::KMeansModel SmallKMeans() {
  worker::FeatureColumnsOptions o;
  o.id_column = "id";
  o.features = {"age", "plan"};
  o.one_hot = {"plan=a|b"};
  models::kmeans::KMeansModel m;
  m.schema = *worker::FeatureSchema::Make(o);
  m.k = 2;
  m.d = 3;
  m.normalizer.shift = {0, 0, 0};
  m.normalizer.scale = {1, 1, 1};
  m.centroids = {0, 1, 0, 5, 0, 1};
  m.sizes = {3, 4};
  m.mean_distance = {1, 2};
  return m;
}

// usercf: users u0..u2, items i0..i3; user neighbours by hand.
models::cf::CfModel SmallUserCf() {
  models::cf::CfModel m;
  m.kind = "usercf";
  m.similarity = "cosine";
  m.scoring = "sum";
  m.user_ids = {"u0", "u1", "u2"};
  m.item_ids = {"i0", "i1", "i2", "i3"};
  m.neighbors.k = 2;
  m.neighbors.Add(0, 1, 0.5f);
  m.neighbors.Add(0, 2, 0.25f);
  m.neighbors.Add(1, 0, 0.5f);
  m.neighbors.Add(2, 0, 0.25f);
  m.neighbors.Finish(3);
  m.train_ptr = {0, 2, 3, 5};
  m.train_item = {0, 1, 2, 1, 3};
  m.item_count = {1, 2, 1, 1};
  return m;
}

models::lr::LinRegModel SmallLinReg() {
  models::lr::LinRegModel m;
  m.format = 0;
  m.num_features = 3;
  m.coef = {0.5, 1.5, -2, 0.25};  // 3 features + bias
  return m;
}

// One loader per model kind, returning the status of loading `path`.
struct Loader {
  const char* name;
  std::size_t first_count;  // payload offset of the model's first string or vector count
  std::function<Status(const std::string&)> save;  // writes a valid model
  std::function<Status(const std::string&)> load;
};

std::vector<Loader> Loaders() {
  return {
      {"lr", 0, [](const std::string& p) { return models::lr::SaveLrModel(p, SmallLr()); },
       [](const std::string& p) { return models::lr::LoadLrModel(p).status(); }},
      {"linreg", 1 + 4 + 8 + 1 + 1,  // format, hash_bits, num_features, bias, delimiter
       [](const std::string& p) {
         return models::SaveModel(p, models::lr::LinRegModel::kKind,
                                  models::lr::LinRegModel::kVersion, SmallLinReg());
       },
       [](const std::string& p) { return models::lr::LoadLinRegModel(p).status(); }},
      {"kmeans", 0,
       [](const std::string& p) { return models::kmeans::SaveKMeansModel(p, SmallKMeans()); },
       [](const std::string& p) { return models::kmeans::LoadKMeansModel(p).status(); }},
      {"usercf", 0, [](const std::string& p) { return models::cf::SaveCfModel(p, SmallUserCf()); },
       [](const std::string& p) {
         auto m = models::cf::LoadCfModel(p);
         if (!m.ok()) return m.status();
         // Use what was loaded as `ecps recommend` does: every user, every list.
         const auto pop = models::cf::Popularity::From(m->item_count);
         models::cf::ItemScores scores(static_cast<std::uint32_t>(m->item_ids.size()));
         std::vector<models::cf::Scored> out;
         for (std::uint32_t u = 0; u < m->user_ids.size(); ++u) {
           models::cf::RecommendForUser(*m, pop, u, 3, true, &scores, &out);
         }
         return Status::Ok();
       }},
  };
}

TEST(ModelTamper, EveryLoaderSurvivesEveryPayloadByteChangedWithAValidChecksum) {
  const auto dir = TempDir("bytes");
  for (const Loader& l : Loaders()) {
    const std::string path = (dir / l.name).string();
    ASSERT_TRUE(l.save(path).ok()) << l.name;
    ASSERT_TRUE(l.load(path).ok()) << l.name << ": the untouched model must load";
    const std::string good = ReadBytes(path);
    int refused = 0, tried = 0;
    for (std::size_t at = kPayloadAt; at < good.size(); ++at) {
      for (unsigned char mask : {0x01, 0xFF}) {
        std::string bad = good;
        bad[at] = static_cast<char>(bad[at] ^ mask);
        WriteBytes(path, WithChecksum(bad));
        const Status s = l.load(path);
        ++tried;
        if (s.ok()) continue;
        ++refused;
        EXPECT_EQ(s.code(), StatusCode::kDataError)
            << l.name << " byte " << at << ": " << s.ToString();
        EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
      }
    }
    EXPECT_GT(refused, tried / 4) << l.name;
  }
}

TEST(ModelTamper, EveryLoaderRefusesTrailingBytesAndAHugeCount) {
  const auto dir = TempDir("count");
  for (const Loader& l : Loaders()) {
    const std::string path = (dir / l.name).string();
    ASSERT_TRUE(l.save(path).ok());
    std::string good = ReadBytes(path);
    std::string longer = good + "xyz";
    Put(&longer, 28, static_cast<std::uint64_t>(longer.size() - kPayloadAt));
    WriteBytes(path, WithChecksum(longer));
    Status s = l.load(path);
    EXPECT_NE(s.message().find("3 bytes follow the model"), std::string::npos)
        << l.name << ": " << s.ToString();
    // A string's or vector's count of 2^40 must not be allocated.
    std::string huge = good;
    Put(&huge, kPayloadAt + l.first_count, std::uint64_t{1} << 40);
    WriteBytes(path, WithChecksum(huge));
    s = l.load(path);
    EXPECT_EQ(s.code(), StatusCode::kDataError) << l.name;
    EXPECT_NE(s.message().find("a count of 1099511627776 elements, but only"), std::string::npos)
        << l.name << ": " << s.ToString();
  }
}

TEST(ModelTamper, HeaderPaddingAfterTheKindIsChecked) {
  const auto dir = TempDir("padding");
  const std::string path = (dir / "model.bin").string();
  ASSERT_TRUE(models::lr::SaveLrModel(path, SmallLr()).ok());
  const std::string good = ReadBytes(path);
  for (std::size_t at = kKindAt + 3; at < kKindAt + 16; ++at) {  // "lr\0" then padding
    std::string bad = good;
    bad[at] = 'x';
    WriteBytes(path, bad);
    const Status s = models::lr::LoadLrModel(path).status();
    EXPECT_NE(s.message().find("bytes after the model kind are not zero"), std::string::npos)
        << "byte " << at << ": " << s.ToString();
  }
}

TEST(ModelTamper, ABoolThatIsNeitherZeroNorOneIsRefused) {
  const auto dir = TempDir("bool");
  const std::string path = (dir / "model.bin").string();
  const auto m = SmallLr();
  ASSERT_TRUE(models::lr::SaveLrModel(path, m).ok());
  std::string bad = ReadBytes(path);
  // algorithm (count + bytes), format u8, hash_bits i32, num_features u64, then bias.
  const std::size_t bias_at = kPayloadAt + 8 + m.algorithm.size() + 1 + 4 + 8;
  ASSERT_EQ(bad[bias_at], 1);
  bad[bias_at] = 2;
  WriteBytes(path, WithChecksum(bad));
  const Status s = models::lr::LoadLrModel(path).status();
  EXPECT_NE(s.message().find("a flag is 2, not 0 or 1"), std::string::npos) << s.ToString();
}

// `f` (a saver or loader whose last parameter is an optional EncryptionKey*) called without a key.
template <class F>
auto Plain(F f) {
  return [f](const auto&... args) { return f(args..., nullptr); };
}

// Saves `m` (so the checksum is right) and returns the loader's status.
template <class M, class Save, class Load>
Status SaveThenLoad(const fs::path& dir, const M& m, Save save, Load load) {
  const std::string path = (dir / "model").string();
  EXPECT_TRUE(save(path, m).ok());
  return load(path).status();
}

// Saves `m` and expects the loader to refuse it saying `why`.
template <class M, class Save, class Load>
void ExpectRefused(const fs::path& dir, const M& m, Save save, Load load, const std::string& why) {
  const Status s = SaveThenLoad(dir, m, save, load);
  EXPECT_EQ(s.code(), StatusCode::kDataError) << why;
  EXPECT_NE(s.message().find(why), std::string::npos) << s.ToString();
}

TEST(ModelTamper, LrFieldsAreCheckedBeforeUse) {
  const auto dir = TempDir("lr_fields");
  auto check = [&](const models::lr::LrModel& m, const std::string& why) {
    ExpectRefused(dir, m, Plain(models::lr::SaveLrModel), Plain(models::lr::LoadLrModel), why);
  };
  auto m = SmallLr();
  m.num_keys = std::uint64_t{3} << 30;  // DenseWeights() would allocate 12 GB
  check(m, "num_keys is 3221225472, but the feature space has 17 keys");
  m = SmallLr();
  m.hash_bits = 40;
  check(m, "hash_bits 40 is outside 1..30");
  m = SmallLr();
  m.format = 9;
  check(m, "data format 9 is unknown");
  m = SmallLr();
  m.keys = {5, 1, 16};
  check(m, "key 1 (entry 1) is out of order");
  m = SmallLr();
  m.weights.pop_back();
  check(m, "3 keys but 2 weights");
  m = SmallLr();
  m.weights[0] = std::nanf("");
  check(m, "the weight of key 1 is not finite");
  m = SmallLr();
  m.scaling.mean = {0};
  m.scaling.scale = {1};
  m.scaling.log = {0};
  check(m, "scaling for 1/1/1 columns, but the model has 0 numeric columns");
}

TEST(ModelTamper, LinRegFieldsAreCheckedBeforeUse) {
  const auto dir = TempDir("linreg_fields");
  auto save = [](const std::string& p, const models::lr::LinRegModel& m) {
    return models::SaveModel(p, models::lr::LinRegModel::kKind, models::lr::LinRegModel::kVersion,
                             m);
  };
  auto m = SmallLinReg();
  m.coef.pop_back();
  Status s = SaveThenLoad(dir, m, save, Plain(models::lr::LoadLinRegModel));
  EXPECT_NE(s.message().find("3 coefficients, but the feature space has 4 columns"),
            std::string::npos)
      << s.ToString();
  m = SmallLinReg();
  m.num_features = std::uint64_t{1} << 40;
  s = SaveThenLoad(dir, m, save, Plain(models::lr::LoadLinRegModel));
  EXPECT_NE(s.message().find("num_features 1099511627776 is too large"), std::string::npos)
      << s.ToString();
}

TEST(ModelTamper, KMeansFieldsAreCheckedBeforeUse) {
  const auto dir = TempDir("kmeans_fields");
  auto check = [&](const models::kmeans::KMeansModel& m, const std::string& why) {
    ExpectRefused(dir, m, Plain(models::kmeans::SaveKMeansModel),
                  Plain(models::kmeans::LoadKMeansModel), why);
  };
  auto m = SmallKMeans();
  m.k = std::uint64_t{1} << 62;  // k * d would overflow
  check(m, "parts do not fit together");
  m = SmallKMeans();
  m.centroids[2] = INFINITY;
  check(m, "is not finite");
  m = SmallKMeans();
  m.normalizer.scale[1] = 0;
  check(m, "a scale is 0");
  m = SmallKMeans();
  m.score = "other";
  check(m, "score kind");
  m = SmallKMeans();
  m.normalizer.kind = static_cast<models::kmeans::Normalize>(7);
  check(m, "unknown normalisation");
}

TEST(ModelTamper, KMeansOneHotWidthMustMatchTheFeatures) {
  // A one-hot column with more categories than the model's features would make `segment`
  // write past a row: the schema's encodings must add up to d.
  const auto dir = TempDir("kmeans_width");
  const std::string path = (dir / "model.bin").string();
  ASSERT_TRUE(models::kmeans::SaveKMeansModel(path, SmallKMeans()).ok());
  std::string file = ReadBytes(path);
  // The categories of plan=a|b: count 2, then "a" (count 1, 'a'). Claim 3 categories: the
  // later fields shift, and decoding must refuse without reading out of bounds.
  const std::string needle("\x02\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0a", 17);
  const std::size_t at = file.find(needle);
  ASSERT_NE(at, std::string::npos);
  file[at] = 3;
  WriteBytes(path, WithChecksum(file));
  const Status s = models::kmeans::LoadKMeansModel(path).status();
  EXPECT_EQ(s.code(), StatusCode::kDataError) << s.ToString();
}

TEST(ModelTamper, CfPointersMustStartAtZeroAndNeverDecrease) {
  const auto dir = TempDir("cf_fields");
  auto check = [&](const models::cf::CfModel& m, const std::string& why) {
    ExpectRefused(dir, m, Plain(models::cf::SaveCfModel), Plain(models::cf::LoadCfModel), why);
  };
  auto m = SmallUserCf();
  m.train_ptr = {0, 4, 1, 5};  // user 1's items would be 1 - 4 entries long: read past the buffer
  check(m, "the training pointer does not cover 3 users and 5 entries in order");
  m = SmallUserCf();
  m.train_ptr = {1, 2, 3, 5};
  check(m, "the training pointer does not cover");
  m = SmallUserCf();
  m.neighbors.ptr = {0, 3, 2, 4};
  check(m, "neighbour lists: the list pointer does not cover 3 entities of at most 2 neighbours");
  m = SmallUserCf();
  m.neighbors.id[1] = models::cf::NeighborLists::kNone;
  check(m, "neighbour index 4294967295 is not below 3");
  m = SmallUserCf();
  m.neighbors.score[0] = NAN;
  check(m, "a neighbour score is not finite");
  m = SmallUserCf();
  m.train_item[4] = 4;
  check(m, "training item index 4 is not below 4");
  m = SmallUserCf();
  m.scoring = "max";
  check(m, "scoring \"max\"");
  m = SmallUserCf();
  m.recency_decay = NAN;
  check(m, "recency decay outside (0, 1]");
  m = SmallUserCf();
  m.content.k = 1;
  m.content.Finish(2);
  check(m, "content neighbour lists: the list pointer does not cover 4 entities");
}

TEST(ModelTamper, AnOlderCfFormatIsRefusedWithAWordOnWhatToDo) {
  const auto dir = TempDir("cf_version");
  const std::string path = (dir / "model.ecps").string();
  ASSERT_TRUE(models::SaveModelFile(path, models::cf::CfModel::kKind, 1, "old").ok());
  const Status s = models::cf::LoadCfModel(path).status();
  EXPECT_NE(s.message().find(
                "model format version 1, but this ecps reads version 2 (train the model again"),
            std::string::npos)
      << s.ToString();
}

TEST(ModelFilePath, AFolderOrADeviceIsRefusedBeforeAnythingIsRead) {
  const auto dir = TempDir("paths");
  fs::create_directories(dir / "m" / "model.bin");
  auto path = models::ModelFileIn((dir / "m").string(), "model.bin");
  ASSERT_TRUE(path.ok());
  Status s = models::lr::LoadLrModel(*path).status();
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_NE(s.message().find("model.bin: is a folder, not a model file"), std::string::npos)
      << s.ToString();
  s = models::kmeans::LoadKMeansModel("/dev/zero").status();  // would never end if read whole
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_NE(s.message().find("/dev/zero: not a regular file"), std::string::npos) << s.ToString();
  EXPECT_EQ(models::ModelFileKind((dir / "m" / "model.bin").string()).status().code(),
            StatusCode::kDataError);
  EXPECT_EQ(models::ModelFileKind((dir / "none").string()).status().code(), StatusCode::kNotFound);
}

TEST(JsonText, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  nlohmann::json j;
  j["path"] = std::string("out\xff/x");
  j[std::string("col\xc3")] = std::string("b\xfe");
  std::string text;
  ASSERT_NO_THROW(text = util::DumpJson(j, 2));
  const auto back = nlohmann::json::parse(text);
  EXPECT_EQ(back["path"], "out\xef\xbf\xbd/x");
  EXPECT_EQ(back["col\xef\xbf\xbd"], "b\xef\xbf\xbd");
  const auto dir = TempDir("json");
  ASSERT_TRUE(util::WriteJsonFile((dir / "m.json").string(), j).ok());
  EXPECT_TRUE(nlohmann::json::accept(ReadBytes(dir / "m.json")));
}

}  // namespace
}  // namespace ecps
