// Pseudonymised ids and opt-outs through the real binary (--local): no raw user id in any
// output file or log line, the same key gives the same outputs (and `ecps pseudonymize` the
// same ids), another key other pseudonyms, and opted-out users change nothing but their own
// absence: the outputs equal a run on the input with their rows removed by hand.
#include <cstdio>
#include <set>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "privacy/pseudonym.h"
#include "tests/privacy/pseudonym_data.h"

namespace ecps::testing {
namespace {

[[maybe_unused]] const auto* const kRemoveShop = ::testing::AddGlobalTestEnvironment(new RemoveShop);

nlohmann::json Metrics(const fs::path& out) {
  return nlohmann::json::parse(ReadBytes(out / "metrics.json"));
}

std::set<std::string> Pseudonyms(const fs::path& key, const std::vector<std::string>& ids) {
  const auto k = privacy::PseudonymKey::Load(key.string()).value();
  std::set<std::string> out;
  for (const auto& id : ids) out.insert(privacy::Pseudonymize(k, id));
  return out;
}

// `ecps train kmeans` on `data` into `out` with `extra` options; returns the log.
std::string KMeans(const fs::path& data, const fs::path& out, const std::string& extra) {
  const auto r = RunEcps(fmt::format(
      "train kmeans --local --workers 2 --data '{}' --id-column user_id "
      "--features age,purchase_frequency,rating,duration --k 4 --anomaly-scores --seed 3 "
      "--out '{}' {}",
      data.string(), out.string(), extra));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.err;
}

// `ecps train <kind>` on `data` into `out` with `extra` options; returns the log.
std::string Cf(const std::string& kind, const fs::path& data, const fs::path& out,
               const std::string& extra) {
  const auto r = RunEcps(fmt::format("train {} --local --workers 2 --train '{}' --neighbors 5 -n 5 "
                                     "--out '{}' {}",
                                     kind, data.string(), out.string(), extra));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.err;
}

std::string KeyOption(const fs::path& key) { return fmt::format("--pseudonymize-key '{}'", key.string()); }

TEST(PseudonymE2e, KMeansOutputsAndLogHoldPseudonymsOnly) {
  const auto& shop = Shop::Get();
  const auto a = shop.dir / "km_a", b = shop.dir / "km_b", c = shop.dir / "km_key2";
  const std::string log = KMeans(shop.users, a, KeyOption(shop.key1) + " --log-level debug");
  ExpectNoneOf(shop.user_ids, a, log);
  const auto ids = FirstColumn(a / "assignments.csv");
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), Pseudonyms(shop.key1, shop.user_ids));
  EXPECT_EQ(Metrics(a)["pseudonymized"], true);
  EXPECT_EQ(Metrics(a)["excluded_rows"], 0);

  KMeans(shop.users, b, KeyOption(shop.key1));
  EXPECT_EQ(ReadBytes(a / "assignments.csv"), ReadBytes(b / "assignments.csv"));
  EXPECT_EQ(ReadBytes(a / "profiles.csv"), ReadBytes(b / "profiles.csv"));

  KMeans(shop.users, c, KeyOption(shop.key2));
  const auto other = FirstColumn(c / "assignments.csv");
  const std::set<std::string> first(ids.begin(), ids.end());
  std::size_t common = 0;
  for (const auto& id : other) common += first.contains(id);
  EXPECT_EQ(common, 0u) << "pseudonyms shared by two keys";
  EXPECT_EQ(std::set<std::string>(other.begin(), other.end()), Pseudonyms(shop.key2, shop.user_ids));
}

TEST(PseudonymE2e, PseudonymizeCommandMapsFilesAsTrainingDoes) {
  const auto& shop = Shop::Get();
  const auto mapped = shop.dir / "users_pseudo.csv";
  const auto r = RunEcps(fmt::format("pseudonymize --key '{}' --data '{}' --columns user_id --out '{}'",
                                     shop.key1.string(), shop.users.string(), mapped.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The other columns are untouched; the ids are the training run's pseudonyms.
  const auto plain = shop.dir / "km_pre", keyed = shop.dir / "km_keyed";
  KMeans(mapped, plain, "");
  KMeans(shop.users, keyed, KeyOption(shop.key1));
  EXPECT_EQ(ReadBytes(plain / "assignments.csv"), ReadBytes(keyed / "assignments.csv"));
  EXPECT_EQ(ReadBytes(plain / "profiles.csv"), ReadBytes(keyed / "profiles.csv"));
  ExpectNoneOf(shop.user_ids, plain, r.err);
}

TEST(PseudonymE2e, PseudonymizeCommandKeepsQuotingAndRefusesBadInput) {
  const auto& shop = Shop::Get();
  const auto in = shop.dir / "quoted.csv", out = shop.dir / "quoted_out.csv";
  WriteBytes(in, "id,note\r\n\"u,1\",\"say \"\"hi\"\"\"\n");
  auto r = RunEcps(fmt::format("pseudonymize --key '{}' --data '{}' --columns note --out '{}'",
                               shop.key1.string(), in.string(), out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto k = privacy::PseudonymKey::Load(shop.key1.string()).value();
  EXPECT_EQ(ReadBytes(out), "id,note\n\"u,1\"," + privacy::Pseudonymize(k, "say \"hi\"") + "\n");

  r = RunEcps(fmt::format("pseudonymize --key '{}' --data '{}' --columns user_id,nope --out '{}'",
                          shop.key1.string(), shop.users.string(), out.string()));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("\"nope\""), std::string::npos) << r.err;
  WriteBytes(in, "id,note\nu1,a\nu2,\"b\n");
  fs::remove(out);
  r = RunEcps(fmt::format("pseudonymize --key '{}' --data '{}' --columns id --out '{}'",
                          shop.key1.string(), in.string(), out.string()));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(in.string() + ":3:"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out)) << "a refused run leaves no output";
}

TEST(PseudonymE2e, OpenKeysAndUnknownMaskColumnsAreRefused) {
  const auto& shop = Shop::Get();
  const auto open_key = shop.dir / "open_key";
  WriteBytes(open_key, "a key that others may read......");
  ::chmod(open_key.c_str(), 0644);
  auto r = RunEcps(fmt::format("train kmeans --local --data '{}' --id-column user_id --features age "
                               "--out '{}' {}",
                               shop.users.string(), (shop.dir / "refused").string(),
                               KeyOption(open_key)));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  r = RunEcps(fmt::format("train kmeans --local --data '{}' --id-column user_id --features age "
                          "--out '{}' --mask-columns age",
                          shop.users.string(), (shop.dir / "refused").string()));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("\"age\""), std::string::npos) << r.err;
}

TEST(PseudonymE2e, MaskedIdsLeaveAssignmentsInInputOrder) {
  const auto& shop = Shop::Get();
  const auto full = shop.dir / "km_full", masked = shop.dir / "km_masked";
  KMeans(shop.users, full, "");
  const std::string log = KMeans(shop.users, masked, "--mask-columns user_id");
  ExpectNoneOf(shop.user_ids, masked, "");
  // Row i of the masked file is row i of the full one without its id.
  std::istringstream a(ReadBytes(full / "assignments.csv")), b(ReadBytes(masked / "assignments.csv"));
  std::string la, lb;
  std::getline(a, la);
  std::getline(b, lb);
  EXPECT_EQ(lb, "cluster,distance,score,anomaly");
  std::size_t rows = 0;
  while (std::getline(a, la) && std::getline(b, lb)) {
    EXPECT_EQ(la.substr(la.find(',') + 1), lb);
    ++rows;
  }
  EXPECT_EQ(rows, shop.user_ids.size());
}

TEST(PseudonymE2e, KMeansOptOutsEqualARunWithoutTheirRows) {
  const auto& shop = Shop::Get();
  const std::set<std::string> opted{shop.user_ids[1], shop.user_ids[4], shop.user_ids[250]};
  const auto list = shop.dir / "opt_outs.txt";
  WriteBytes(list, fmt::format("{}\n\n  {}\r\n{}\n", shop.user_ids[1], shop.user_ids[4], shop.user_ids[250]));
  const auto removed = shop.dir / "users_removed.csv";
  WriteBytes(removed, WithoutUsers(shop.users, opted));
  const auto out = shop.dir / "km_opt", ref = shop.dir / "km_removed";
  const std::string log =
      KMeans(shop.users, out, KeyOption(shop.key1) + fmt::format(" --exclude-users '{}'", list.string()));
  KMeans(removed, ref, KeyOption(shop.key1));
  EXPECT_EQ(ReadBytes(out / "assignments.csv"), ReadBytes(ref / "assignments.csv"));
  EXPECT_EQ(ReadBytes(out / "profiles.csv"), ReadBytes(ref / "profiles.csv"));
  const auto m = Metrics(out), mr = Metrics(ref);
  EXPECT_EQ(m["excluded_rows"], 3);
  EXPECT_EQ(m["users"], shop.user_ids.size() - 3);
  EXPECT_EQ(m["sizes"], mr["sizes"]);
  EXPECT_EQ(m["inertia"], mr["inertia"]);
  const auto gone = Pseudonyms(shop.key1, {opted.begin(), opted.end()});
  ExpectNoneOf({gone.begin(), gone.end()}, out, log);
  ExpectNoneOf(shop.user_ids, out, log);
}

TEST(PseudonymE2e, SegmentWritesTheTrainingsPseudonymsAndDropsOptOuts) {
  const auto& shop = Shop::Get();
  const auto model = shop.dir / "km_for_segment", seg = shop.dir / "segment_out";
  KMeans(shop.users, model, KeyOption(shop.key1));
  fs::create_directories(seg);
  const auto segment = [&](const std::string& file, const std::string& extra) {
    return RunEcps(fmt::format("segment --model '{}' --data '{}' --out '{}' {}", model.string(),
                               shop.users.string(), (seg / file).string(), extra));
  };
  // The same key: the ids are the training's, row for row, so the two outputs join.
  auto r = segment("all.csv", KeyOption(shop.key1));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(FirstColumn(seg / "all.csv"), FirstColumn(model / "assignments.csv"));
  std::string log = r.err;

  // Opt-outs (raw ids in the list) are dropped and counted; the others keep their rows.
  const std::set<std::string> opted{shop.user_ids[2], shop.user_ids[99]};
  const auto list = shop.dir / "segment_opt_outs.txt";
  WriteBytes(list, fmt::format("{}\n{}\n", shop.user_ids[2], shop.user_ids[99]));
  r = segment("kept.csv",
              KeyOption(shop.key1) + fmt::format(" --exclude-users '{}'", list.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(fmt::format("{} users assigned (0 bad rows skipped, 2 rows of opted-out "
                                   "users dropped)",
                                   shop.user_ids.size() - 2)),
            std::string::npos)
      << r.err;
  log += r.err;
  const auto gone = Pseudonyms(shop.key1, {opted.begin(), opted.end()});
  std::vector<std::string> want;
  for (const auto& id : FirstColumn(seg / "all.csv")) {
    if (!gone.contains(id)) want.push_back(id);
  }
  EXPECT_EQ(FirstColumn(seg / "kept.csv"), want);
  EXPECT_EQ(want.size(), shop.user_ids.size() - 2);

  // The same to standard output; no raw id in any file or log line.
  const std::string out = EcpsOut(fmt::format("segment --model '{}' --data '{}' --out - {}",
                                              model.string(), shop.users.string(),
                                              KeyOption(shop.key1)));
  EXPECT_EQ(out, ReadBytes(seg / "all.csv"));
  ExpectNoneOf(shop.user_ids, seg, log + out);
}

class CfPseudonyms : public ::testing::TestWithParam<const char*> {};

TEST_P(CfPseudonyms, OutputsAndLogHoldPseudonymsOnly) {
  const std::string kind = GetParam();
  const auto& shop = Shop::Get();
  const auto a = shop.dir / (kind + "_a"), b = shop.dir / (kind + "_b"), c = shop.dir / (kind + "_key2");
  const std::string log = Cf(kind, shop.interactions, a, KeyOption(shop.key1) + " --log-level debug");
  ExpectNoneOf(shop.user_ids, a, log);
  const auto users = FirstColumn(a / "recommendations.csv");
  const auto all = Pseudonyms(shop.key1, shop.user_ids);
  for (const auto& u : users) EXPECT_TRUE(all.contains(u)) << u;
  EXPECT_GT(users.size(), 100u);
  Cf(kind, shop.interactions, b, KeyOption(shop.key1));
  EXPECT_EQ(ReadBytes(a / "recommendations.csv"), ReadBytes(b / "recommendations.csv"));
  EXPECT_EQ(ReadBytes(a / "neighbors.csv"), ReadBytes(b / "neighbors.csv"));
  Cf(kind, shop.interactions, c, KeyOption(shop.key2));
  for (const auto& u : FirstColumn(c / "recommendations.csv")) EXPECT_FALSE(all.contains(u)) << u;

  // `recommend --user <raw id> --pseudonymize-key` finds the user's pseudonymised rows.
  const std::string raw = shop.user_ids[0];
  const std::string pseudonym = *Pseudonyms(shop.key1, {raw}).begin();
  std::string expected = "item,score\n";
  std::istringstream lines(ReadBytes(a / "recommendations.csv"));
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(pseudonym + ",", 0) == 0) expected += line.substr(pseudonym.size() + 1) + "\n";
  }
  ASSERT_GT(expected.size(), 20u);
  EXPECT_EQ(EcpsOut(fmt::format("recommend --model '{}' --user {} -n 5 {}", a.string(), raw,
                                KeyOption(shop.key1))),
            expected);
}

TEST_P(CfPseudonyms, OptOutsEqualARunWithoutTheirRows) {
  const std::string kind = GetParam();
  const auto& shop = Shop::Get();
  const std::set<std::string> opted{shop.user_ids[0], shop.user_ids[7]};
  const auto list = shop.dir / (kind + "_opt_outs.txt");
  WriteBytes(list, fmt::format("{}\n{}\n", shop.user_ids[0], shop.user_ids[7]));
  const auto removed = shop.dir / (kind + "_removed.csv");
  WriteBytes(removed, WithoutUsers(shop.interactions, opted));
  const auto out = shop.dir / (kind + "_opt"), ref = shop.dir / (kind + "_ref");
  const auto plain = shop.dir / (kind + "_opt_plain");
  const std::string log = Cf(kind, shop.interactions, out,
                             KeyOption(shop.key1) + fmt::format(" --exclude-users '{}'", list.string()));
  Cf(kind, removed, ref, KeyOption(shop.key1));
  EXPECT_EQ(ReadBytes(out / "recommendations.csv"), ReadBytes(ref / "recommendations.csv"));
  EXPECT_EQ(ReadBytes(out / "neighbors.csv"), ReadBytes(ref / "neighbors.csv"));
  const auto d = Metrics(out)["data"], dr = Metrics(ref)["data"];
  const auto all_rows = FirstColumn(shop.interactions).size();
  EXPECT_EQ(d["excluded_rows"], all_rows - FirstColumn(removed).size());
  EXPECT_GT(d["excluded_rows"].get<std::size_t>(), 0u);
  EXPECT_EQ(d["excluded_users"], 2);
  for (const char* key : {"rows", "users", "items", "train_interactions"}) EXPECT_EQ(d[key], dr[key]) << key;
  const auto gone = Pseudonyms(shop.key1, {opted.begin(), opted.end()});
  ExpectNoneOf({gone.begin(), gone.end()}, out, log);
  // Without a key the list holds the ids as they are in the file, and they leave no trace.
  const std::string plain_log =
      Cf(kind, shop.interactions, plain, fmt::format("--exclude-users '{}'", list.string()));
  ExpectNoneOf({opted.begin(), opted.end()}, plain, plain_log);
}

INSTANTIATE_TEST_SUITE_P(Kinds, CfPseudonyms, ::testing::Values("itemcf", "usercf"));

}  // namespace
}  // namespace ecps::testing
