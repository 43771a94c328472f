#include "util/hash.h"

namespace ecps::util {

std::uint64_t HashFeature(std::string_view feature, std::uint64_t seed) {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ MixId(seed + 0x9e3779b97f4a7c15ULL);
  for (unsigned char c : feature) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return MixId(h);
}

}  // namespace ecps::util
