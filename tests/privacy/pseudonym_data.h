// A small generated shop, key files and output checks for the pseudonymisation tests.
#pragma once

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/common/files.h"
#include "tests/common/run_ecps.h"

namespace ecps::testing {

namespace fs = std::filesystem;

/// `ecps generate` output (users.csv, interactions.csv) in `dir`/shop, two keys and the
/// users.csv ids; made once per test binary.
struct Shop {
  fs::path dir, users, interactions, key1, key2;
  std::vector<std::string> user_ids;  ///< raw ids of users.csv, in file order

  static const Shop& Get() {
    static const Shop shop = Make();
    return shop;
  }

 private:
  static Shop Make() {
    Shop s;
    s.dir = FreshDir("pseudonym_e2e");
    const auto gen = RunEcps(fmt::format("generate --out '{}' --users 300 --items 60 --seed 7",
                                         (s.dir / "shop").string()));
    EXPECT_EQ(gen.exit_code, 0) << gen.err;
    s.users = s.dir / "shop" / "users.csv";
    s.interactions = s.dir / "shop" / "interactions.csv";
    s.key1 = s.dir / "key1";
    s.key2 = s.dir / "key2";
    WriteBytes(s.key1, "first test key, 32 bytes long..");
    WriteBytes(s.key2, "second test key, 32 bytes long.");
    ::chmod(s.key1.c_str(), 0600);
    ::chmod(s.key2.c_str(), 0600);
    std::istringstream lines(ReadBytes(s.users));
    std::string line;
    std::getline(lines, line);  // header
    while (std::getline(lines, line)) s.user_ids.push_back(line.substr(0, line.find(',')));
    return s;
  }
};

/// Removes the shop's folder after the last test (each test binary registers one).
class RemoveShop : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(Shop::Get().dir, ec);
  }
};

/// Standard output of `ecps args` (standard error dropped).
inline std::string EcpsOut(const std::string& args) {
  std::string out;
  FILE* p = ::popen(fmt::format("{} {} 2>/dev/null", ECPS_BINARY, args).c_str(), "r");
  if (!p) return out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ::pclose(p);
  return out;
}

/// Every regular file below `dir`, as (relative path, bytes).
inline std::vector<std::pair<std::string, std::string>> FilesBelow(const fs::path& dir) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files.emplace_back(fs::relative(e.path(), dir).string(), ReadBytes(e.path()));
  }
  return files;
}

/// Fails for each of `ids` found in a file below `dir` or in `log`.
inline void ExpectNoneOf(const std::vector<std::string>& ids, const fs::path& dir,
                         const std::string& log) {
  auto files = FilesBelow(dir);
  ASSERT_FALSE(files.empty()) << dir;
  files.emplace_back("<log>", log);
  for (const auto& [name, bytes] : files) {
    for (const auto& id : ids) {
      if (bytes.find(id) != std::string::npos) ADD_FAILURE() << id << " found in " << name;
    }
  }
}

/// The first field of each data line of a CSV file (header skipped).
inline std::vector<std::string> FirstColumn(const fs::path& csv) {
  std::vector<std::string> out;
  std::istringstream lines(ReadBytes(csv));
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) out.push_back(line.substr(0, line.find(',')));
  return out;
}

/// `csv` without the data lines whose first field is in `ids` (the opt-outs removed by hand).
inline std::string WithoutUsers(const fs::path& csv, const std::set<std::string>& ids) {
  std::istringstream lines(ReadBytes(csv));
  std::string line, out;
  std::getline(lines, line);
  out = line + "\n";
  while (std::getline(lines, line)) {
    if (!ids.contains(line.substr(0, line.find(',')))) out += line + "\n";
  }
  return out;
}

}  // namespace ecps::testing
