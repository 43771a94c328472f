#include "datagen/item_text.h"

#include <array>
#include <random>

#include <fmt/format.h>

namespace ecps::datagen {
namespace {

struct Vocabulary {
  std::array<const char*, 6> nouns;
  std::array<const char*, 6> adjectives;
  const char* use;
};

constexpr std::array<Vocabulary, kTextCategories> kVocabulary{{
    {{"smartphone", "charger", "phone case", "earbuds", "screen protector", "USB-C cable"},
     {"wireless", "unlocked", "fast-charging", "dual-SIM", "5G", "slim"},
     "calls, photos and travel"},
    {{"controller", "console", "gaming headset", "keyboard", "gaming mouse", "gamepad"},
     {"RGB", "mechanical", "pro", "ergonomic", "low-latency", "retro"},
     "long gaming sessions"},
    {{"puzzle", "robot kit", "doll", "building blocks", "plush bear", "kite"},
     {"educational", "colourful", "wooden", "giant", "musical", "magnetic"},
     "kids aged 3 to 10"},
    {{"coffee beans", "green tea", "olive oil", "chocolate", "pasta", "抹茶 powder"},
     {"organic", "fair-trade", "dark", "roasted", "Italian", "gluten-free"},
     "the kitchen and crème brûlée lovers"},
    {{"chronograph", "smartwatch", "diver watch", "watch strap", "pocket watch", "bracelet"},
     {"automatic", "titanium", "sapphire", "leather", "water-resistant", "Swiss"},
     "every wrist and occasion"},
    {{"jacket", "sneakers", "dress", "scarf", "jeans", "handbag"},
     {"denim", "cotton", "woollen", "vintage", "slim-fit", "linen"},
     "city style and the weekend"},
    {{"novel", "cookbook", "biography", "atlas", "thriller", "poetry collection"},
     {"bestselling", "illustrated", "hardcover", "signed", "classic", "annotated"},
     "readers and book clubs"},
    {{"lamp", "café table", "cushion", "rug", "vase", "kettle"},
     {"Scandinavian", "ceramic", "handmade", "minimalist", "velvet", "bamboo"},
     "a cosy living room"},
}};

constexpr std::array<const char*, 6> kGeneric{"new",  "premium", "everyday",
                                              "gift", "edition", "best"};

}  // namespace

std::string ItemTextCsv(const std::vector<std::string>& ids, const std::vector<int>& category,
                        std::uint64_t seed) {
  std::mt19937_64 rng(seed ^ 0x9E3779B97F4A7C15ULL);
  const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  std::string csv = "item_id,title,description\n";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto& v = kVocabulary[static_cast<std::size_t>(category[i])];
    const auto& noun_of = pick(7) == 0 ? kVocabulary[pick(kTextCategories)] : v;
    const char* noun = noun_of.nouns[pick(6)];
    const char* a1 = v.adjectives[pick(6)];
    const char* a2 = v.adjectives[pick(6)];
    csv += fmt::format("{},{} {} {},\"A {} {}, {} and {}, for {}\"\n", ids[i], kGeneric[pick(6)],
                       a1, noun, a2, noun, kGeneric[pick(6)], a1, v.use);
  }
  return csv;
}

}  // namespace ecps::datagen
