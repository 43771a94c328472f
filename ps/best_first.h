// Lists of fixed-width entries kept best first, as top-k tables hold them on the servers
// (k-means' candidate lists, CF's neighbour lists): merging two such lists is the step every
// such table's rule or finalizer repeats.
#pragma once

#include <algorithm>
#include <cstddef>

namespace ecps::ps {

/// The number of leading entries of `list` (at most m entries of w values) that are
/// `valid(entry)`; a list keeps its invalid (empty) entries last.
template <class T, class Valid>
std::size_t CountLeading(const T* list, std::size_t m, std::size_t w, Valid valid) {
  std::size_t n = 0;
  while (n < m && valid(list + n * w)) ++n;
  return n;
}

/// Merges `a` (na entries) and `b` (nb entries) of w values each, both sorted best first by
/// `better(e, f)` (true when entry e ranks before entry f), into `out` (room for na + nb
/// entries), best first. On a tie the entry of `a` comes first. O(na + nb).
template <class T, class Better>
void MergeBestFirst(const T* a, std::size_t na, const T* b, std::size_t nb, std::size_t w,
                    Better better, T* out) {
  std::size_t i = 0, j = 0;
  while (i < na || j < nb) {
    const bool take_a = j == nb || (i < na && !better(b + j * w, a + i * w));
    const T* pick = take_a ? a + (i++) * w : b + (j++) * w;
    out = std::copy(pick, pick + w, out);
  }
}

}  // namespace ecps::ps
