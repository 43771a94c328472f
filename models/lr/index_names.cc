#include "models/lr/index_names.h"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "util/hash.h"
#include "worker/line_reader.h"

namespace ecps::models::lr {
namespace {

using Pair = std::pair<std::uint64_t, std::uint64_t>;  // (field, index); field 0 for libsvm

// A set of (field, index) pairs: open addressing with linear probing, at most half full
// (a node-based set spends most of a naming pass walking its chains).
class PairSet {
 public:
  /// True when the pair was not in the set.
  bool Insert(const Pair& p) {
    if ((size_ + 1) * 2 > used_.size()) Grow();
    const std::size_t mask = used_.size() - 1;
    for (std::size_t i = Slot(p) & mask;; i = (i + 1) & mask) {
      if (!used_[i]) {
        used_[i] = 1;
        pairs_[i] = p;
        ++size_;
        return true;
      }
      if (pairs_[i] == p) return false;
    }
  }
  std::size_t size() const { return size_; }

 private:
  static std::size_t Slot(const Pair& p) {
    return static_cast<std::size_t>(util::MixId(util::MixId(p.first) ^ p.second));
  }
  void Grow() {
    std::vector<Pair> old;
    old.reserve(size_);
    for (std::size_t i = 0; i < used_.size(); ++i) {
      if (used_[i]) old.push_back(pairs_[i]);
    }
    const std::size_t n = std::max<std::size_t>(1024, used_.size() * 2);
    used_.assign(n, 0);
    pairs_.assign(n, {});
    size_ = 0;
    for (const auto& p : old) Insert(p);
  }
  std::vector<std::uint8_t> used_;
  std::vector<Pair> pairs_;
  std::size_t size_ = 0;
};

bool Blank(char c) { return c == ' ' || c == '\t'; }

// Reads the digits at line[*pos] up to `stop` (':'), leaving *pos on it; false when the run is
// empty, holds anything else or overflows 64 bits.
bool Digits(std::string_view line, std::size_t* pos, std::uint64_t* v) {
  const std::size_t start = *pos;
  std::uint64_t x = 0;
  std::size_t i = start;
  for (; i < line.size(); ++i) {
    const unsigned d = static_cast<unsigned char>(line[i]) - unsigned{'0'};
    if (d > 9) break;
    x = x * 10 + d;
  }
  *pos = i;
  if (i == start || i == line.size() || line[i] != ':') return false;
  if (i - start > 19) {  // may overflow: let from_chars decide
    const auto [p, ec] = std::from_chars(line.data() + start, line.data() + i, x);
    if (ec != std::errc() || p != line.data() + i) return false;
  }
  *v = x;
  return true;
}

// The pairs already met in one piece: a bitmap for the small ones (most data), a hash set
// for the rest.
class PieceSeen {
 public:
  bool Insert(const Pair& p) {
    if (p.first < kFields && p.second < (std::uint64_t{1} << kIndexBits)) {
      const std::uint64_t bit = p.first << kIndexBits | p.second;
      if (bits_.empty()) bits_.resize(std::size_t{1} << (kIndexBits + kFieldBits - 6));
      std::uint64_t& word = bits_[bit >> 6];
      const std::uint64_t mask = std::uint64_t{1} << (bit & 63);
      if (word & mask) return false;
      word |= mask;
      return true;
    }
    return rest_.Insert(p);
  }

 private:
  static constexpr int kFieldBits = 4, kIndexBits = 22;  // an 8 MiB bitmap
  static constexpr std::uint64_t kFields = std::uint64_t{1} << kFieldBits;
  std::vector<std::uint64_t> bits_;
  PairSet rest_;
};

// The distinct pairs of one piece in the order of their first appearance in it, at most
// `max_distinct` (a pair later than that in a piece is later than that in the file too).
struct PieceNames {
  std::vector<Pair> first_seen;
  Status error;
};

// Tokens are separated by blanks; '#' starts a comment; a feature token is "index:value"
// (libsvm) or "field:index:value" (libffm) with decimal field and index; anything else (the
// label, a malformed token) is passed over.
void ScanPiece(const sched::FileRange& range, bool ffm, std::uint64_t num_features, std::size_t max_distinct,
               PieceNames* out) {
  auto opened = worker::LineReader::Open(range);
  if (!opened.ok()) {
    out->error = opened.status();
    return;
  }
  auto& reader = *opened;
  PieceSeen seen;
  std::string_view line;
  while (true) {
    auto got = reader->Next(&line);
    if (!got.ok()) {
      out->error = got.status();
      return;
    }
    if (!*got) return;
    const std::size_t n = line.size();
    for (std::size_t pos = 0; pos < n;) {
      while (pos < n && Blank(line[pos])) ++pos;
      if (pos == n || line[pos] == '#') break;
      Pair p{0, 0};
      bool ok = ffm ? Digits(line, &pos, &p.first) && Digits(line, &++pos, &p.second)
                    : Digits(line, &pos, &p.second);
      while (pos < n && !Blank(line[pos])) ++pos;
      ok = ok && (num_features == 0 || p.second < num_features);
      if (ok && seen.Insert(p)) {
        out->first_seen.push_back(p);
        if (out->first_seen.size() >= max_distinct) return;
      }
    }
  }
}

}  // namespace

Status AddIndexNames(const std::vector<std::string>& files, const worker::ExampleParser& parser,
                     std::size_t max_distinct, FeatureNames* names, std::uint64_t piece_bytes) {
  const auto& o = parser.options();
  if (o.format == worker::DataFormat::kCsv) return Status::Ok();
  const bool ffm = o.format == worker::DataFormat::kLibffm;
  if (o.num_features > 0 && !ffm) return Status::Ok();  // the key is the index (DirectIndexName)
  std::vector<sched::FileRange> pieces;
  for (const auto& file : files) {
    ECPS_ASSIGN_OR_RETURN(auto cut, worker::CutIntoPieces({file, 0, UINT64_MAX}, piece_bytes, {}));
    pieces.insert(pieces.end(), cut.begin(), cut.end());
  }
  PairSet seen;  // across pieces, in file order
  std::unordered_map<std::uint32_t, int> per_key;
  // Waves of a few pieces per thread bound the memory of the per-piece lists; merging them in
  // file order gives the names of one sequential pass.
  const std::size_t wave = 2 * static_cast<std::size_t>(std::max(1, tbb::this_task_arena::max_concurrency()));
  for (std::size_t begin = 0; begin < pieces.size() && seen.size() < max_distinct; begin += wave) {
    const std::size_t end = std::min(pieces.size(), begin + wave);
    std::vector<PieceNames> found(end - begin);
    tbb::parallel_for(begin, end, [&](std::size_t i) {
      ScanPiece(pieces[i], ffm, o.num_features, max_distinct, &found[i - begin]);
    });
    for (auto& f : found) {
      if (!f.error.ok()) return f.error;
      for (const Pair& p : f.first_seen) {
        if (seen.size() >= max_distinct) break;
        if (!seen.Insert(p)) continue;
        const std::uint32_t key = ffm ? parser.FieldIndexKey(p.first, p.second) : parser.IndexKey(p.second);
        const int n = ++per_key[key];
        if (n <= 4) names->Add(key, ffm ? fmt::format("{}:{}", p.first, p.second) : std::to_string(p.second));
        if (n == 5) names->Add(key, "...");
      }
    }
  }
  return Status::Ok();
}

}  // namespace ecps::models::lr
