// Item text pieces: the tokeniser (ASCII, accents, CJK bigrams, mixed text, bytes that are not
// UTF-8, stop words), TF-IDF weights against a hand computation, the join with attribute
// features, and the reader of the text file (quoted commas, a missing column).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "models/cf/text_features.h"
#include "models/cf/text_tokens.h"
#include "tests/common/files.h"

namespace ecps::models::cf {
namespace {

using Tokens = std::vector<std::string>;

Tokens Tok(std::string_view text, bool stop_words = false, TokenStats* stats = nullptr) {
  Tokens out;
  Tokenize(text, stop_words, &out, stats);
  return out;
}

TEST(TextTokens, AsciiLowercasedAndSplitAtNonAlphanumerics) {
  EXPECT_EQ(Tok("Hello, World! USB-C 4K\tcable_x"),
            (Tokens{"hello", "world", "usb", "c", "4k", "cable", "x"}));
  EXPECT_EQ(Tok(""), Tokens{});
  EXPECT_EQ(Tok(" ,;- "), Tokens{});
}

TEST(TextTokens, LatinAccentsFolded) {
  // Latin-1 Supplement and Latin Extended-A, upper and lower case, and the digraphs.
  EXPECT_EQ(Tok("Crème BRÛLÉE École Łódź Straße Æther Œuvre ÞORN Ĳssel"),
            (Tokens{"creme", "brulee", "ecole", "lodz", "strasse", "aether", "oeuvre", "thorn",
                    "ijssel"}));
  // × and ÷ separate; Greek is kept as written (no case folding outside the stated ranges).
  EXPECT_EQ(Tok("2×3÷4 Ωmega"), (Tokens{"2", "3", "4", "Ωmega"}));
}

TEST(TextTokens, CjkOverlappingBigrams) {
  EXPECT_EQ(Tok("手机壳"), (Tokens{"手机", "机壳"}));                 // Han
  EXPECT_EQ(Tok("茶"), (Tokens{"茶"}));                              // one character
  EXPECT_EQ(Tok("カメラ"), (Tokens{"カメ", "メラ"}));                // Katakana
  EXPECT_EQ(Tok("ひらがな"), (Tokens{"ひら", "らが", "がな"}));      // Hiragana
  EXPECT_EQ(Tok("한국어"), (Tokens{"한국", "국어"}));                // Hangul
  EXPECT_EQ(Tok("抹茶、ラテ。"), (Tokens{"抹茶", "ラテ"}));          // CJK punctuation separates
}

TEST(TextTokens, MixedScriptsEndEachOther) {
  EXPECT_EQ(Tok("iPhone手机壳 Case, café抹茶"),
            (Tokens{"iphone", "手机", "机壳", "case", "cafe", "抹茶"}));
}

TEST(TextTokens, BytesThatAreNotUtf8BecomeSeparatorsAndAreCounted) {
  TokenStats s;
  // A Latin-1 é (0xE9) followed by a space: an invalid lead byte.
  EXPECT_EQ(Tok("caf\xE9 ok", false, &s), (Tokens{"caf", "ok"}));
  EXPECT_EQ(s.invalid_bytes, 1u);
  s = {};
  // Overlong "/" (C0 AF), a surrogate (ED A0 80), a stray continuation byte, 0xFF, and a
  // truncated three-byte sequence at the end: every byte replaced.
  EXPECT_EQ(Tok("a\xC0\xAF" "b\xED\xA0\x80" "c\x80" "d\xFF" "e\xE6\x89", false, &s),
            (Tokens{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(s.invalid_bytes, 2u + 3u + 1u + 1u + 2u);
}

TEST(TextTokens, StopWordsOptional) {
  EXPECT_EQ(Tok("The cat and THE hat", true), (Tokens{"cat", "hat"}));
  EXPECT_EQ(Tok("The cat and THE hat", false), (Tokens{"the", "cat", "and", "the", "hat"}));
  EXPECT_TRUE(std::is_sorted(kEnglishStopWords.begin(), kEnglishStopWords.end()));
}

// Toy corpus, N = 4 items (stop words on):
//   a: "new red apple red"  b: "New green apple"  c: "new red car"  d: "the new red apple"
// df: new 4 (dropped: ln(4/4) = 0), red 3, apple 3, green 1, car 1; "the" is a stop word.
// idf(red) = idf(apple) = ln(4/3) = 0.2876821, idf(green) = idf(car) = ln 4 = 1.3862944.
// Terms in sorted order: apple 0, car 1, green 2, red 3.
//   a: apple 1 * 0.2876821, red 2 * 0.2876821 -> norm 0.2876821 * sqrt 5
//      -> apple 1/sqrt 5 = 0.4472136, red 2/sqrt 5 = 0.8944272
//   b: apple 0.2876821, green 1.3862944 -> norm sqrt(0.0827610 + 1.9218121) = 1.4158294
//      -> apple 0.2031898, green 0.9791394
//   c: car 1.3862944, red 0.2876821 -> the same norm -> car 0.9791394, red 0.2031898
//   d: apple, red 0.2876821 each -> 1/sqrt 2 = 0.7071068 each
// Item 4 ("e") has no text row: no vector.
TEST(TextVectors, TfIdfByHand) {
  const std::vector<std::string> ids{"a", "b", "c", "d", "e"};
  const std::vector<std::uint32_t> rows{2, 0, 3, 1};  // rows in another order than the items
  const std::vector<std::string> texts{"new red car", "new red apple red", "the new red apple",
                                       "New green apple"};
  auto f = BuildTextVectors(rows, texts, 5, true, ids, "text.csv");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->names, (std::vector<std::string>{"apple", "car", "green", "red"}));
  EXPECT_EQ(f->ptr, (std::vector<std::uint64_t>{0, 2, 4, 6, 8, 8}));
  EXPECT_EQ(f->feat, (std::vector<std::uint32_t>{0, 3, 0, 2, 1, 3, 0, 3}));
  const std::vector<double> want{0.4472136, 0.8944272, 0.2031898, 0.9791394,
                                 0.9791394, 0.2031898, 0.7071068, 0.7071068};
  ASSERT_EQ(f->val.size(), want.size());
  for (std::size_t p = 0; p < want.size(); ++p) EXPECT_NEAR(f->val[p], want[p], 1e-6) << p;
  EXPECT_EQ(f->items_with_text, 4u);
  EXPECT_EQ(f->invalid_utf8_bytes, 0u);
}

TEST(TextVectors, RepeatedItemNamed) {
  const std::vector<std::string> ids{"a", "b"};
  auto f = BuildTextVectors({0, 1, 0}, {"x", "y", "z"}, 2, true, ids, "text.csv");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("text.csv: item \"a\" appears more than once"),
            std::string::npos)
      << f.status().ToString();
}

// Attribute part (binary, 2 features) and text part (unit) joined with text weight 0.25:
// attribute entries 1/sqrt 2 * sqrt 0.75 = 0.6123724, text entries scaled by sqrt 0.25 = 0.5.
TEST(TextVectors, JoinedWithAttributesByWeight) {
  ItemFeatures attrs;
  attrs.ptr = {0, 2, 2};
  attrs.feat = {0, 1};
  attrs.names = {"brand=x", "colour=red"};
  ItemFeatures text;
  text.ptr = {0, 1, 3};
  text.feat = {0, 0, 1};
  text.val = {1.0f, 0.6f, 0.8f};
  text.names = {"apple", "car"};
  text.items_with_text = 2;
  const ItemFeatures j = JoinContent(attrs, text, 0.25);
  EXPECT_EQ(j.names, (std::vector<std::string>{"brand=x", "colour=red", "apple", "car"}));
  EXPECT_EQ(j.ptr, (std::vector<std::uint64_t>{0, 3, 5}));
  EXPECT_EQ(j.feat, (std::vector<std::uint32_t>{0, 1, 2, 2, 3}));
  const std::vector<double> want{0.6123724, 0.6123724, 0.5, 0.3, 0.4};
  for (std::size_t p = 0; p < want.size(); ++p) EXPECT_NEAR(j.val[p], want[p], 1e-6) << p;
  EXPECT_EQ(j.items_with_attributes, 2u);
  EXPECT_EQ(j.items_with_text, 2u);
  // Without attributes the text vectors are the content features as they are.
  EXPECT_EQ(JoinContent(ItemFeatures{}, text, 0.25).val, text.val);
}

class ItemTextFile : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::FreshDir("cf_text_file"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  sched::FileRange Range(const std::string& bytes) {
    const auto path = dir_ / "text.csv";
    testing::WriteBytes(path, bytes);
    return {path.string(), 0, bytes.size()};
  }
  std::filesystem::path dir_;
};

TEST_F(ItemTextFile, QuotedCommasAndChosenColumns) {
  const auto range = Range(
      "sku,price,title,description\n"
      "i1,3,\"Red, ripe apple\",\"A \"\"sweet\"\" one\"\n"
      "i2,4,Car,\n");
  AttributeRows rows;
  ASSERT_TRUE(ReadItemText(range, "sku", {"title", "description"}, &rows).ok());
  EXPECT_EQ(rows.item_ids, (std::vector<std::string>{"i1", "i2"}));
  EXPECT_EQ(rows.values, (std::vector<std::string>{"Red, ripe apple\nA \"sweet\" one", "Car\n"}));
  ASSERT_TRUE(ReadItemText(range, "", {}, &rows).ok());  // every column but the id
  EXPECT_EQ(rows.values[1], "4\nCar\n");
}

TEST_F(ItemTextFile, MissingColumnNamed) {
  const auto range = Range("item,title\ni1,x\n");
  AttributeRows rows;
  const Status s = ReadItemText(range, "", {"title", "description"}, &rows);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(range.path + ":1: no text column \"description\""),
            std::string::npos)
      << s.ToString();
  EXPECT_NE(s.message().find("\"title\""), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace ecps::models::cf
