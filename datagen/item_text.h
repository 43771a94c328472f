// Item text of the synthetic shop (item_text.csv), for itemcf --item-text: a title and a
// description per item, drawn from a small vocabulary per category (nouns, adjectives and a
// use), so that items of one category share words; one item in seven takes its noun from
// another category, and a few words carry accents or are CJK, so that the tokeniser's
// folding and bigrams are exercised. Descriptions hold commas and are quoted (RFC 4180).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ecps::datagen {

/// Categories with a vocabulary, in the order of the shop's categories (phones, gaming,
/// toys, grocery, watches, fashion, books, home).
inline constexpr int kTextCategories = 8;

/// "item_id,title,description\n" and one row per item: ids[i] of category[i] (in
/// [0, kTextCategories)). The same arguments give the same bytes; its own random stream, so
/// the shop's other files do not change with it.
std::string ItemTextCsv(const std::vector<std::string>& ids, const std::vector<int>& category,
                        std::uint64_t seed);

}  // namespace ecps::datagen
