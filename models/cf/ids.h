// Dense indices for string ids (users, items), built in a distributed way:
//   1. each worker interns the ids it reads into a local dictionary (IdDictionary) and sends
//      its distinct ids, in canonical order, to the scheduler;
//   2. the scheduler merges the lists into the sorted list of every distinct id (index =
//      position) and tells each worker the index of each id it sent (MergeIdLists);
//   3. workers translate their local indices.
// The canonical order (IdLess) puts decimal integers first, in numeric order, so integer ids
// 1..n keep their order; the mapping therefore does not depend on how the data was split.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ecps::models::cf {

/// Strict weak order of ids: decimal integers without sign or leading zeros ("0", "17")
/// first, by numeric value; then every other id, by bytes.
bool IdLess(std::string_view a, std::string_view b);

/// Local dictionary: id -> local index in order of first appearance. The last id found is
/// checked first (files often hold a user's rows together); a decimal integer id (IdLess's
/// kind) below a bound that grows with the ids (at most 4 slots per id, 64k at first) is
/// found by its value in an array; every other id in an open-addressing table of (id's first
/// bytes, hash tag, index) (an id of up to 8 bytes is compared in the table).
class IdDictionary {
 public:
  std::uint32_t Intern(std::string_view id);
  std::size_t size() const { return ids_.size(); }
  const std::vector<std::string>& ids() const { return ids_; }
  /// Local indices sorted by IdLess of their ids.
  std::vector<std::uint32_t> CanonicalOrder() const;

 private:
  struct Slot {
    std::uint64_t head = 0;   ///< the id's first 8 bytes, zero padded
    std::uint32_t tag = 0;    ///< the hash's high 24 bits, then the id's size (255: longer)
    std::uint32_t index = 0;  ///< local index + 1; 0: empty
  };
  void Grow();
  std::uint32_t FindHashed(std::string_view id, std::uint64_t h, std::uint64_t head,
                           std::uint32_t tag, std::size_t* at) const;
  std::vector<std::uint32_t> by_value_;  ///< integer id -> local index + 1; 0: not there
  std::vector<Slot> slots_ = std::vector<Slot>(1024);  ///< a power of two, at most half full
  std::vector<std::string> ids_;
  std::uint32_t last_ = 0;  ///< local index + 1 of the last id interned or found
};

/// Scheduler: `lists[w]` is worker w's distinct ids in IdLess order. Returns every distinct
/// id in IdLess order; (*indices)[w][i] is the global index of lists[w][i].
std::vector<std::string> MergeIdLists(const std::vector<std::vector<std::string>>& lists,
                                      std::vector<std::vector<std::uint32_t>>* indices);

/// Lookup from id to dense index (the saved model's ids, for `ecps recommend`).
class IdIndex {
 public:
  explicit IdIndex(const std::vector<std::string>& ids);
  /// The index of `id`, or -1.
  std::int64_t Find(std::string_view id) const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string_view, std::uint32_t, Hash, std::equal_to<>> index_;
};

}  // namespace ecps::models::cf
