// Tokens of item text (titles, descriptions) for text similarity.
//
// Rules, applied to UTF-8 text:
// - Decoding: a byte that does not start a valid UTF-8 sequence (a stray continuation byte,
//   an overlong form, a surrogate, a code point above U+10FFFF, a truncated sequence) is
//   replaced by U+FFFD, which separates tokens like punctuation, and is counted
//   (`TokenStats::invalid_bytes`). Nothing fails: one bad byte in a long description does
//   not stop a training run.
// - Words: maximal runs of letters and digits. ASCII letters are lowercased; letters of
//   Latin-1 Supplement (U+00C0–U+00FF) and Latin Extended-A (U+0100–U+017F) are lowercased
//   and their accents folded (É, é → e; Ł → l; ß → ss; Æ → ae; Œ → oe; Þ → th). Other
//   code points above U+007F that are not listed as separators below (Greek, Cyrillic, ...)
//   count as letters and are kept as written (no case folding).
// - Separators: ASCII other than letters and digits, U+0080–U+00BF (Latin-1 punctuation
//   and symbols, no-break space), × and ÷, U+2000–U+206F (general punctuation), U+3000–U+303F
//   (CJK symbols and punctuation), U+FF00–U+FF0F, U+FF1A–U+FF20, U+FF3B–U+FF40, U+FF5B–U+FF65
//   (full-width punctuation) and U+FFFD.
// - CJK: a run of Han (U+3400–U+4DBF, U+4E00–U+9FFF, U+F900–U+FAFF, U+20000–U+2FFFF),
//   Hiragana (U+3040–U+309F), Katakana (U+30A0–U+30FF, U+31F0–U+31FF) or Hangul (U+1100–
//   U+11FF, U+3130–U+318F, U+AC00–U+D7AF) characters gives its overlapping character
//   bigrams ("手机壳" → "手机", "机壳"); a run of one character gives that character. Such
//   a character also ends a word of other letters ("iphone手机" → "iphone", "手机").
// - Stop words (optional): a small English list (kEnglishStopWords) is dropped after
//   lowercasing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ecps::models::cf {

struct TokenStats {
  std::uint64_t invalid_bytes = 0;  ///< bytes replaced by U+FFFD
};

/// The English stop words dropped with `stop_words` (sorted, lowercase ASCII).
extern const std::vector<std::string_view> kEnglishStopWords;

/// Appends the tokens of `text` to `out`, in text order (repeats kept: term frequencies).
void Tokenize(std::string_view text, bool stop_words, std::vector<std::string>* out,
              TokenStats* stats = nullptr);

}  // namespace ecps::models::cf
