// The weight names that libsvm/libffm indices give (AddIndexNames): the files read in
// parallel pieces give the names of one sequential pass, whatever the piece size.
#include "models/lr/index_names.h"

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/lr/lr_test_util.h"

namespace ecps {
namespace {

using models::lr::AddIndexNames;
using models::lr::FeatureNames;
using testing::TempDir;
using testing::WriteText;

// A file with labels, comments, blank lines, CRLF and tokens that are not features.
std::string RandomFile(bool ffm, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s;
  for (int r = 0; r < 3000; ++r) {
    s += rng() % 2 ? "1" : "0";
    const int n = static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      // Zipf-like indices: most repeat, a few are new late in the file.
      const unsigned idx = static_cast<unsigned>(std::pow(rng() % 1000 / 1000.0, 3) * 400);
      s += rng() % 2 ? " " : "\t";
      if (ffm) s += fmt::format("{}:", rng() % 4);
      s += fmt::format("{}:1", idx);
    }
    switch (rng() % 12) {
      case 0: s += " # 5:5:1 77:1"; break;  // a comment
      case 1: s += " junk x:1:2"; break;     // not features
      case 2: s += "\n"; break;              // a blank line
      case 3: s += "\r"; break;              // CRLF
      default: break;
    }
    s += "\n";
  }
  return s;
}

// The names a plain sequential pass gives: key -> names in first-appearance order.
std::map<std::uint32_t, std::vector<std::string>> Reference(const std::string& text, bool ffm,
                                                            const worker::ExampleParser& parser,
                                                            std::size_t max_distinct) {
  std::map<std::uint32_t, std::vector<std::string>> out;
  std::set<std::pair<std::uint64_t, std::uint64_t>> seen;
  auto digits = [](const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
  };
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line) && seen.size() < max_distinct) {
    std::istringstream tokens(line);
    std::string tok;
    while (tokens >> tok && seen.size() < max_distinct) {
      if (tok[0] == '#') break;
      const auto c1 = tok.find(':');
      if (c1 == std::string::npos) continue;
      const auto c2 = ffm ? tok.find(':', c1 + 1) : c1;
      if (c2 == std::string::npos) continue;
      const std::string f = ffm ? tok.substr(0, c1) : "0";
      const std::string i = ffm ? tok.substr(c1 + 1, c2 - c1 - 1) : tok.substr(0, c1);
      if (!digits(f) || !digits(i)) continue;
      if (!seen.insert({std::stoull(f), std::stoull(i)}).second) continue;
      const std::uint32_t key =
          ffm ? parser.FieldIndexKey(std::stoull(f), std::stoull(i)) : parser.IndexKey(std::stoull(i));
      auto& names = out[key];
      if (names.size() < 4) names.push_back(ffm ? f + ":" + i : i);
      else if (names.size() == 4) names.push_back("...");
    }
  }
  return out;
}

std::string Joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& n : v) s += (s.empty() ? "" : " | ") + n;
  return s;
}

void ExpectSameNames(bool ffm) {
  TempDir dir("index_names");
  worker::ParserOptions o;
  o.format = ffm ? worker::DataFormat::kLibffm : worker::DataFormat::kLibsvm;
  o.hash_bits = 6;  // 64 buckets: most keys get several names, many reach "..."
  auto parser = *worker::ExampleParser::Make(o);
  const std::string a = RandomFile(ffm, 7), b = RandomFile(ffm, 8);
  WriteText(dir / "a.txt", a);
  WriteText(dir / "b.txt", b);
  const std::vector<std::string> files = {dir / "a.txt", dir / "b.txt"};
  for (std::size_t cap : {std::size_t{1} << 20, std::size_t{150}, std::size_t{1}}) {
    const auto expected = Reference(a + b, ffm, parser, cap);
    std::size_t dotted = 0;
    for (const auto& [key, names] : expected) dotted += names.size() == 5;
    if (cap > 1000) {
      EXPECT_GT(dotted, 10u) << "the test should reach the 4-name limit";
    }
    for (std::uint64_t piece : {std::uint64_t{1} << 30, std::uint64_t{4096}, std::uint64_t{333}, std::uint64_t{61}}) {
      FeatureNames names;
      ASSERT_TRUE(AddIndexNames(files, parser, cap, &names, piece).ok());
      EXPECT_EQ(names.size(), expected.size()) << "cap " << cap << ", pieces of " << piece << " bytes";
      for (const auto& [key, list] : expected) {
        EXPECT_EQ(names.Get(key), Joined(list)) << "key " << key << ", cap " << cap << ", pieces of " << piece;
      }
    }
  }
}

TEST(IndexNames, LibffmPiecesGiveTheSequentialNames) { ExpectSameNames(true); }
TEST(IndexNames, LibsvmPiecesGiveTheSequentialNames) { ExpectSameNames(false); }

TEST(IndexNames, DirectIndicesAndCsvGetNoNamesAndAMissingFileIsNamed) {
  TempDir dir("index_names_misc");
  WriteText(dir / "a.svm", "1 3:1 4:1\n");
  worker::ParserOptions o;
  o.num_features = 10;  // libsvm indices used as keys: DirectIndexName names them
  FeatureNames names;
  ASSERT_TRUE(AddIndexNames({dir / "a.svm"}, *worker::ExampleParser::Make(o), 100, &names).ok());
  EXPECT_EQ(names.size(), 0u);
  worker::ParserOptions hashed;
  const auto s = AddIndexNames({dir / "missing.svm"}, *worker::ExampleParser::Make(hashed), 100, &names);
  EXPECT_NE(s.message().find(dir / "missing.svm"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace ecps
