#include "models/cf/text_tokens.h"

#include <algorithm>
#include <string_view>

namespace ecps::models::cf {
namespace {

constexpr char32_t kInvalid = 0xFFFFFFFF;

// Folded letters of U+00C0–U+00FF and U+0100–U+017F, one character per code point;
// ' ' marks a separator, capitals mark two-letter foldings (Digraph).
constexpr std::string_view kLatin1 =
    "aaaaaaAceeeeiiiidnooooo ouuuuyTSaaaaaaAceeeeiiiidnooooo ouuuuyTy";
constexpr std::string_view kExtendedA =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiJJjjkkkllllllllllnnnnnnnnnooooooEE"
    "rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";
static_assert(kLatin1.size() == 0x100 - 0xC0);
static_assert(kExtendedA.size() == 0x180 - 0x100);
std::string_view Digraph(char mark) {
  switch (mark) {
    case 'A': return "ae";
    case 'T': return "th";
    case 'S': return "ss";
    case 'J': return "ij";
    default: return "oe";  // 'E'
  }
}

// The code point at s[i] and its length in bytes; kInvalid (length 1) for a byte that does
// not start a well-formed sequence.
char32_t Decode(std::string_view s, std::size_t i, std::size_t* len) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  *len = 1;
  const unsigned char b0 = b(0);
  if (b0 < 0x80) return b0;
  char32_t cp = 0;
  std::size_t n = 0;
  if (b0 < 0xC2) return kInvalid;  // continuation byte, or an overlong two-byte form
  if (b0 < 0xE0) {
    cp = b0 & 0x1F;
    n = 2;
  } else if (b0 < 0xF0) {
    cp = b0 & 0x0F;
    n = 3;
  } else if (b0 < 0xF5) {
    cp = b0 & 0x07;
    n = 4;
  } else {
    return kInvalid;
  }
  for (std::size_t k = 1; k < n; ++k) {
    if (!cont(k)) return kInvalid;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
    return kInvalid;
  }
  *len = n;
  return cp;
}

bool IsCjk(char32_t c) {
  return (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FFFF) ||  // Han
         (c >= 0x3040 && c <= 0x30FF) || (c >= 0x31F0 && c <= 0x31FF) ||    // kana
         (c >= 0x1100 && c <= 0x11FF) || (c >= 0x3130 && c <= 0x318F) ||
         (c >= 0xAC00 && c <= 0xD7AF);  // Hangul
}

bool IsSeparator(char32_t c) {
  if (c < 0x80) {
    return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
  }
  return c <= 0xBF || c == 0xD7 || c == 0xF7 || (c >= 0x2000 && c <= 0x206F) ||
         (c >= 0x3000 && c <= 0x303F) || (c >= 0xFF00 && c <= 0xFF0F) ||
         (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) ||
         (c >= 0xFF5B && c <= 0xFF65) || c == 0xFFFD;
}

// Appends the folded form of the letter or digit `c` (bytes `raw` in the text) to `word`.
void AppendFolded(char32_t c, std::string_view raw, std::string* word) {
  if (c < 0x80) {
    word->push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
    return;
  }
  char f = 0;
  if (c >= 0xC0 && c < 0x100) {
    f = kLatin1[c - 0xC0];
  } else if (c >= 0x100 && c < 0x180) {
    f = kExtendedA[c - 0x100];
  } else {
    word->append(raw);
    return;
  }
  if (f >= 'A' && f <= 'Z') {
    word->append(Digraph(f));
  } else {
    word->push_back(f);
  }
}

}  // namespace

const std::vector<std::string_view> kEnglishStopWords = {
    "a",  "an", "and", "are", "as",   "at",   "be",  "by",   "for",  "from", "has",  "in",
    "is", "it", "its", "of",  "on",   "or",   "that", "the", "this", "to",   "was",  "were",
    "will", "with"};

void Tokenize(std::string_view text, bool stop_words, std::vector<std::string>* out,
              TokenStats* stats) {
  std::string word;
  std::vector<std::string_view> run;  // the current run of CJK characters (their bytes)
  const auto end_word = [&] {
    if (word.empty()) return;
    if (!stop_words ||
        !std::binary_search(kEnglishStopWords.begin(), kEnglishStopWords.end(), word)) {
      out->push_back(word);
    }
    word.clear();
  };
  const auto end_run = [&] {
    if (run.size() == 1) out->emplace_back(run[0]);
    for (std::size_t k = 0; k + 1 < run.size(); ++k) {
      std::string bigram(run[k]);
      bigram.append(run[k + 1]);
      out->push_back(std::move(bigram));
    }
    run.clear();
  };
  for (std::size_t i = 0; i < text.size();) {
    std::size_t len = 1;
    const char32_t c = Decode(text, i, &len);
    const std::string_view raw = text.substr(i, len);
    i += len;
    if (c == kInvalid || IsSeparator(c)) {
      if (c == kInvalid && stats != nullptr) ++stats->invalid_bytes;
      end_word();
      end_run();
    } else if (IsCjk(c)) {
      end_word();
      run.push_back(raw);
    } else {
      end_run();
      AppendFolded(c, raw, &word);
    }
  }
  end_word();
  end_run();
}

}  // namespace ecps::models::cf
