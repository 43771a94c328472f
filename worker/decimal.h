// The exact fast path of decimal parsing, shared by the readers that inline it (csv.cc's
// ParseDouble, the feature CSV parser).
#pragma once

#include <cstdint>
#include <string_view>

namespace ecps::worker {

// Clinger's fast path: [-]digits[.digits] with at most 15 digits is m / 10^f with m and 10^f
// exact doubles, so one division gives the correctly rounded value (as from_chars would).
inline bool SimpleDecimal(std::string_view s, double* out) {
  static constexpr double kPow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  const char* p = s.data();
  const char* e = p + s.size();
  const bool neg = p < e && *p == '-';
  p += neg;
  std::uint64_t m = 0;
  int digits = 0, frac = 0;
  for (; p < e && static_cast<unsigned>(*p - '0') < 10; ++p, ++digits) m = m * 10 + static_cast<unsigned>(*p - '0');
  if (p < e && *p == '.') {
    for (++p; p < e && static_cast<unsigned>(*p - '0') < 10; ++p, ++digits, ++frac) {
      m = m * 10 + static_cast<unsigned>(*p - '0');
    }
  }
  if (p != e || digits == 0 || digits > 15) return false;
  const double v = static_cast<double>(m) / kPow10[frac];
  *out = neg ? -v : v;
  return true;
}

}  // namespace ecps::worker
