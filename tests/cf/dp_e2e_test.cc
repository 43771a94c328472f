// `ecps train itemcf --dp-epsilon` through the binary (--local, 2 servers and 2 workers): the
// budget in metrics.json and the log, only catalogue items in the outputs, no users in
// model.ecps, and the refusals of what a private run cannot do, each naming its option.
#include <unistd.h>

#include <cmath>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cf/cf_data.h"
#include "tests/common/run_ecps.h"

namespace ecps {
namespace {

using namespace testing_cf;
using testing::RunEcps;

// sku-0000 .. sku-0119 of MakeInteractions' 160 items.
std::string Catalogue(const fs::path& path, int items = 120) {
  std::ofstream f(path);
  for (int i = 0; i < items; ++i) f << fmt::format("sku-{:04d}\n", i);
  return path.string();
}

std::set<std::string> Column(const std::string& csv, std::size_t column) {
  std::set<std::string> out;
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::size_t b = 0;
    for (std::size_t c = 0; c < column; ++c) b = line.find(',', b) + 1;
    out.insert(line.substr(b, line.find(',', b) - b));
  }
  return out;
}

TEST(DpCfE2e, LocalRunReportsTheBudgetAndKeepsToTheCatalogue) {
  const auto dir = TempDir("dp_e2e");
  const auto train = WriteInteractions(dir / "i.csv", MakeInteractions(300, 160, 20, 5), false);
  const auto cat = Catalogue(dir / "cat.txt");
  const auto out = dir / "out";
  const auto r = RunEcps(fmt::format(
      "train itemcf --local --servers 2 --workers 2 --train {} --dp-epsilon 2 --dp-items {} "
      "--dp-seed 5 --split leave-last-out -n 5 --neighbors 8 --out {}",
      train, cat, out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("--dp-seed makes the noise replayable"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("DP run: epsilon 2 delta 1e-06"), std::string::npos) << r.err;
  const auto m = nlohmann::json::parse(Slurp(out / "metrics.json"));
  ASSERT_TRUE(m.contains("privacy")) << m.dump(2);
  const auto& p = m["privacy"];
  EXPECT_EQ(p["epsilon"].get<double>(), 2.0);
  EXPECT_EQ(p["delta"].get<double>(), 1e-6);
  EXPECT_EQ(p["max_items"].get<int>(), 50);
  EXPECT_EQ(p["catalogue_items"].get<int>(), 120);
  EXPECT_EQ(p["noisy_entries"].get<int>(), 120 * 121 / 2);
  EXPECT_EQ(p["accountant"].get<std::string>(), "rdp");
  EXPECT_GT(p["sigma"].get<double>(), 1.0);
  std::set<std::string> catalogue;
  for (int i = 0; i < 120; ++i) catalogue.insert(fmt::format("sku-{:04d}", i));
  const auto neighbours = Slurp(out / "neighbors.csv");
  const auto recs = Slurp(out / "recommendations.csv");
  for (const auto& item : Column(neighbours, 0)) EXPECT_TRUE(catalogue.count(item)) << item;
  for (const auto& item : Column(neighbours, 1)) EXPECT_TRUE(catalogue.count(item)) << item;
  const auto recommended = Column(recs, 1);
  EXPECT_GT(recommended.size(), 10u);
  for (const auto& item : recommended) EXPECT_TRUE(catalogue.count(item)) << item;
  // model.ecps names no user: no training row leaves the run but through recommendations.csv.
  EXPECT_EQ(Slurp(out / "model.ecps").find("user-1"), std::string::npos);

  // Still, it answers someone's items (recommend --history): one item's answer is its noisy
  // neighbour list, as `similar` prints it; two items add their lists.
  const std::string item = neighbours.substr(neighbours.find('\n') + 1, neighbours.find(',', neighbours.find('\n')) -
                                                                         neighbours.find('\n') - 1);
  std::string similar, history;
  ASSERT_EQ(RunEcps(fmt::format("similar --model {} --item {} -n 8", out.string(), item), &similar).exit_code, 0);
  const auto h = RunEcps(
      fmt::format("recommend --model {} --history {} -n 8 --fill-popular false", out.string(), item), &history);
  ASSERT_EQ(h.exit_code, 0) << h.err;
  EXPECT_EQ(h.err, "");
  ASSERT_GT(similar.size(), std::string("item,score\n").size()) << item << " has neighbours in neighbors.csv";
  EXPECT_EQ(history, similar) << item;
  const auto both = RunEcps(
      fmt::format("recommend --model {} --history {},nobody-knows -n 3", out.string(), item), &history);
  ASSERT_EQ(both.exit_code, 0) << both.err;
  EXPECT_NE(both.err.find("item \"nobody-knows\" is not in the model: skipped"), std::string::npos) << both.err;
  EXPECT_EQ(history.substr(0, 10), "item,score");
}

void ExpectRefused(const std::string& args, const std::vector<std::string>& words) {
  const auto r = RunEcps(args);
  EXPECT_NE(r.exit_code, 0) << args;
  for (const auto& w : words) EXPECT_NE(r.err.find(w), std::string::npos) << args << "\n" << r.err;
}

TEST(DpCfE2e, WhatAPrivateRunCannotDoIsRefusedByName) {
  const auto dir = TempDir("dp_refused");
  const auto train = WriteInteractions(dir / "i.csv", MakeInteractions(50, 40, 5, 2), false);
  const auto cat = Catalogue(dir / "cat.txt", 30);
  const std::string base = fmt::format("--local --train {} --out {}", train, (dir / "o").string());
  ExpectRefused(fmt::format("train usercf {} --dp-epsilon 1 --dp-items {}", base, cat),
                {"--dp-epsilon", "itemcf only"});
  ExpectRefused(fmt::format("train itemcf {} --dp-epsilon 1", base), {"--dp-items FILE"});
  ExpectRefused(fmt::format("train itemcf {} --dp-items {}", base, cat),
                {"--dp-items: only with --dp-epsilon"});
  ExpectRefused(fmt::format("train itemcf {} --dp-epsilon 1 --dp-items {} --min-support 2", base, cat),
                {"--min-support: not under --dp-epsilon"});
  ExpectRefused(fmt::format("train itemcf {} --dp-epsilon 1 --dp-items {} --dp-delta 1.5", base, cat),
                {"--dp-delta"});
  ExpectRefused(fmt::format("train itemcf {} --dp-epsilon 1 --dp-items {}", base,
                            (dir / "missing.txt").string()),
                {"--dp-items", "missing.txt"});
  // A catalogue whose noisy triangle would take more than half of this machine's memory.
  const double memory = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  const int oversize = static_cast<int>(std::sqrt(memory / 24)) + 2000;
  const auto big = Catalogue(dir / "big.txt", oversize);
  ExpectRefused(fmt::format("train itemcf {} --dp-epsilon 1 --dp-items {}", base, big),
                {"--dp-items " + big, fmt::format("{} items", oversize), "GiB"});
}

}  // namespace
}  // namespace ecps
