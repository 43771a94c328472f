// `ecps serve --encrypt-key` through the real binary: a sealed model folder is served with the
// key and answers as `ecps predict --encrypt-key`; without the key, with another key or after a
// changed byte the start fails (exit 2, naming the model); a reload that meets a changed file
// keeps the old model serving and counts the failure, and a good sealed model swaps in; sealed
// k-means and item-CF folders answer as segment and recommend do.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/common/files.h"
#include "tests/common/run_ecps.h"
#include "tests/serve/serve_client.h"

namespace ecps::testing {
namespace {

using nlohmann::json;

class ServeSealed : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir("serve_sealed");
    ASSERT_EQ(RunEcps(fmt::format("generate --out '{}' --users 200 --items 40 --seed 5",
                                  (dir_ / "data").string()))
                  .exit_code,
              0);
    key1_ = dir_ / "key1";
    key2_ = dir_ / "key2";
    WriteBytes(key1_, "serve test key number one, 32 b");
    WriteBytes(key2_, "serve test key number two, 32 b");
    ::chmod(key1_.c_str(), 0600);
    ::chmod(key2_.c_str(), 0600);
    // Two sealed LR models that answer differently (hash bits 10 and 8).
    for (const auto& [out, bits] : {std::pair{"m1", 10}, {"m2", 8}}) {
      const auto r = RunEcps(fmt::format(
          "train lr --local -q --train '{}' --hash-bits {} --encrypt-key '{}' --out '{}'",
          (dir_ / "data/impressions.libsvm").string(), bits, key1_.string(),
          (dir_ / out).string()));
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    const std::string test = ReadBytes(dir_ / "data/impressions_test.libsvm");
    line_ = test.substr(0, test.find('\n'));
    WriteBytes(dir_ / "one.libsvm", line_ + "\n");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Replaces the folder `live` by a copy of `from`.
  void Put(const std::string& from) {
    fs::remove_all(dir_ / "live");
    fs::copy(dir_ / from, dir_ / "live", fs::copy_options::recursive);
  }
  // Flips one bit in the middle of live/model.bin.
  void Damage() {
    std::string bytes = ReadBytes(dir_ / "live/model.bin");
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x04);
    WriteBytes(dir_ / "live/model.bin", bytes);
  }
  std::string Serve(const fs::path& key) const {
    return fmt::format("serve --port 0 --model ctr='{}' --encrypt-key '{}'",
                       (dir_ / "live").string(), key.string());
  }
  // `ecps predict --encrypt-key` of the one-line file with the model in `model`.
  std::string Predicted(const std::string& model) const {
    const auto out = dir_ / "predicted.txt";
    const auto r = RunEcps(
        fmt::format("predict --model '{}' --data '{}' --out '{}' --encrypt-key '{}'",
                    (dir_ / model).string(), (dir_ / "one.libsvm").string(), out.string(),
                    key1_.string()));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    // "id,probability" then "1,<score>": the score of the file's one line.
    const std::string p = ReadBytes(out);
    EXPECT_TRUE(p.starts_with("id,probability\n1,")) << p;
    const std::size_t from = p.find("\n1,") + 3;
    return p.substr(from, p.find('\n', from) - from);
  }

  fs::path dir_, key1_, key2_;
  std::string line_;
};

TEST_F(ServeSealed, StartRefusesAModelItCannotOpenNamingIt) {
  Put("m1");
  auto r = RunEcps(fmt::format("serve --port 0 --model ctr='{}'", (dir_ / "live").string()));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("model \"ctr\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--encrypt-key"), std::string::npos) << r.err;

  r = RunEcps(Serve(key2_));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("model \"ctr\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("wrong key, or the file was modified"), std::string::npos) << r.err;

  Damage();
  r = RunEcps(Serve(key1_));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("model \"ctr\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("wrong key, or the file was modified"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("listening on"), std::string::npos) << r.err;
}

TEST_F(ServeSealed, ServesWithTheKeyAndAFailedReloadKeepsTheOldModel) {
  Put("m1");
  Background server(fmt::format("{} {}", ECPS_BINARY, Serve(key1_)), dir_ / "serve.log");
  const int port = ListeningPort(server);
  ASSERT_NE(port, 0);
  const std::string body = json{{"instances", {line_}}}.dump();
  const auto score = [&] {
    const auto [status, text] = Http(port, http::verb::post, "/v1/models/ctr:predict", body);
    EXPECT_EQ(status, 200) << text;
    return json::parse(text)["predictions"][0].dump();
  };
  const std::string p1 = Predicted("m1"), p2 = Predicted("m2");
  ASSERT_NE(p1, p2);
  EXPECT_EQ(score(), p1) << "the sealed model answers as predict --encrypt-key";

  // A changed byte: the reload fails for ctr, is counted, and m1 keeps answering.
  Damage();
  auto [status, text] = Http(port, http::verb::post, "/v1/admin/reload");
  ASSERT_EQ(status, 200) << text;
  auto report = json::parse(text);
  EXPECT_EQ(report["reloaded"].size(), 0u) << text;
  ASSERT_EQ(report["failed"].size(), 1u) << text;
  EXPECT_EQ(report["failed"][0]["name"], "ctr");
  const std::string error = report["failed"][0]["error"];
  EXPECT_NE(error.find("wrong key, or the file was modified"), std::string::npos) << text;
  const std::string metrics = Http(port, http::verb::get, "/metrics").body;
  EXPECT_NE(metrics.find("\necps_serve_reload_failures_total 1\n"), std::string::npos) << metrics;
  EXPECT_EQ(score(), p1) << "the old model keeps serving";

  // Another sealed model under the same key: the reload opens it with the key and swaps it in.
  Put("m2");
  {
    const Answer again = Http(port, http::verb::post, "/v1/admin/reload");
    status = again.status;
    text = again.body;
  }
  ASSERT_EQ(status, 200) << text;
  report = json::parse(text);
  EXPECT_EQ(report["reloaded"], json::array({"ctr"})) << text;
  EXPECT_EQ(score(), p2);

  ASSERT_EQ(kill(server.pid(), SIGTERM), 0);
  const auto ended = server.Wait(30);
  EXPECT_TRUE(ended.exited && ended.code == 0) << server.log();
}

TEST_F(ServeSealed, SealedKMeansAndItemCfFoldersAnswerWithTheKey) {
  const std::string d = dir_.string();
  for (const std::string& train :
       {fmt::format("train kmeans --local -q --data {0}/data/users.csv --id-column user_id "
                    "--features age,rating --k 3 --out {0}/seg",
                    d),
        fmt::format("train itemcf --local -q --train {0}/data/interactions.csv --out {0}/rec",
                    d)}) {
    const auto r = RunEcps(fmt::format("{} --encrypt-key '{}'", train, key1_.string()));
    ASSERT_EQ(r.exit_code, 0) << train << "\n" << r.err;
  }
  const std::string serve =
      fmt::format("serve --port 0 --model seg={0}/seg --model rec={0}/rec", d);
  const auto refused = RunEcps(serve);
  EXPECT_EQ(refused.exit_code, 2) << "sealed folders without the key";
  Background server(fmt::format("{} {} --encrypt-key '{}'", ECPS_BINARY, serve, key1_.string()),
                    dir_ / "serve.log");
  const int port = ListeningPort(server);
  ASSERT_NE(port, 0);
  // The answers of the command-line tools, which open the same sealed files.
  const std::string user = "u000001";
  WriteBytes(dir_ / "one.csv", "user_id,age,rating\n" + user + ",37,4.3\n");
  const auto r = RunEcps(fmt::format("segment --model {0}/seg --data {0}/one.csv --out {0}/one.out "
                                     "--encrypt-key '{1}'",
                                     d, key1_.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string row = ReadBytes(dir_ / "one.out");
  const std::string cluster = row.substr(row.find('\n') + 1 + user.size() + 1, 1);
  const Answer seg = Http(port, http::verb::post, "/v1/models/seg:segment",
                          R"({"instances": [{"age": 37, "rating": 4.3}]})");
  ASSERT_EQ(seg.status, 200) << seg.body;
  EXPECT_EQ(std::to_string(json::parse(seg.body)["predictions"][0]["segment"].get<int>()),
            cluster)
      << seg.body << " vs " << row;
  const Answer rec =
      Http(port, http::verb::post, "/v1/models/rec:recommend", R"({"user": "u000001", "n": 3})");
  ASSERT_EQ(rec.status, 200) << rec.body;
  EXPECT_EQ(json::parse(rec.body)["items"].size(), 3u) << rec.body;
}

}  // namespace
}  // namespace ecps::testing
