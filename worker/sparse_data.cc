#include "worker/sparse_data.h"

#include <algorithm>
#include <set>
#include <unordered_set>

#include <fmt/format.h>
#include <tbb/parallel_for.h>

#include "worker/csv.h"
#include "worker/line_reader.h"

namespace ecps::worker {

SparseData SparseData::FromBlocks(std::vector<std::shared_ptr<RowBlock>> blocks, bool keep_values) {
  SparseData d;
  bool ones = !keep_values;
  std::size_t rows = 0;
  for (const auto& b : blocks) {
    ones = ones && b->all_ones;
    rows += b->labels.size();
  }
  d.row_keys_.reserve(rows);
  d.row_len_.reserve(rows);
  d.labels_.reserve(rows);
  d.ids_.reserve(rows);
  if (!ones) d.row_vals_.reserve(rows);
  for (const auto& b : blocks) {
    if (ones) {
      b->values = {};  // one-hot data: the values are implied
      b->values.shrink_to_fit();
    } else if (b->all_ones && b->values.size() != b->keys.size()) {
      b->values.assign(b->keys.size(), 1.0f);
    }
    for (std::size_t r = 0; r < b->labels.size(); ++r) {
      d.row_keys_.push_back(b->keys.data() + b->row_ptr[r]);
      d.row_len_.push_back(static_cast<std::uint32_t>(b->row_ptr[r + 1] - b->row_ptr[r]));
      if (!ones) d.row_vals_.push_back(b->values.data() + b->row_ptr[r]);
    }
    d.labels_.insert(d.labels_.end(), b->labels.begin(), b->labels.end());
    d.ids_.insert(d.ids_.end(), b->ids.begin(), b->ids.end());
    d.nnz_ += b->keys.size();
  }
  d.blocks_ = std::move(blocks);
  return d;
}

SparseData SparseData::Select(const std::function<bool(std::size_t)>& keep) const {
  SparseData d;
  d.blocks_ = blocks_;
  for (std::size_t r = 0; r < rows(); ++r) {
    if (!keep(r)) continue;
    d.row_keys_.push_back(row_keys_[r]);
    d.row_len_.push_back(row_len_[r]);
    if (!binary()) d.row_vals_.push_back(row_vals_[r]);
    d.labels_.push_back(labels_[r]);
    d.ids_.push_back(ids_[r]);
    d.nnz_ += row_len_[r];
  }
  return d;
}

void SparseData::TransformValues(const std::function<float(std::uint32_t, float)>& f) {
  assert(!binary());
  for (std::size_t r = 0; r < rows(); ++r) {
    for (std::uint32_t i = 0; i < row_len_[r]; ++i) row_vals_[r][i] = f(row_keys_[r][i], row_vals_[r][i]);
  }
}

namespace {

struct Piece {
  FileShard shard;  // the piece's own sub-range
  std::shared_ptr<RowBlock> block;
  Status error;
  LoadStats stats;
  std::vector<std::unordered_set<std::string>> categories;
};

// CSV: records whose quoted fields may span lines; pieces begin at record starts.
ReadOptions PieceReading(const ExampleParser& parser) {
  if (!parser.has_header()) return {};
  ReadOptions o = CsvRecords(parser.options().delimiter);
  o.begin_is_record = true;
  return o;
}

void ParsePiece(const ExampleParser& parser, const LoadOptions& options, Piece* piece) {
  auto opened = LineReader::Open(piece->shard.range, PieceReading(parser));
  if (!opened.ok()) {
    piece->error = opened.status();
    return;
  }
  auto& reader = *opened;
  // The piece's rows are parsed into this thread's scratch arrays, which keep their memory
  // from piece to piece, and copied once into a block of the exact size: no growing arrays
  // (each doubling a copy, and fresh memory a page fault per 4 KiB) and no shrinking copy.
  // Nothing inside the loop runs parallel work, so no other piece can use the scratch
  // before this one is done with it.
  static thread_local RowBlock scratch_rows;
  RowBlock& rows = scratch_rows;
  rows.keys.clear();
  rows.values.clear();
  rows.row_ptr.assign(1, 0);
  rows.labels.clear();
  rows.ids.clear();
  rows.all_ones = !options.keep_values;
  ParseScratch scratch;
  std::vector<float> row_values;
  std::string_view line;
  while (true) {
    auto got = reader->Next(&line);
    if (!got.ok()) {
      piece->error = got.status();
      return;
    }
    if (!*got) break;
    if (parser.has_header() && reader->offset() == 0) continue;
    if (Trim(line).empty()) continue;  // a blank line holds no row (as in every reader)
    const std::size_t mark = rows.keys.size();
    float label = 0;
    row_values.clear();
    Status s = parser.Parse(line, &label, &rows.keys, &row_values, &scratch);
    if (!s.ok()) {
      rows.keys.resize(mark);
      std::string msg = fmt::format("{}: {}", reader->Where(), s.message());
      if (!options.skip_bad_rows) {
        piece->error = DataError(std::move(msg));
        return;
      }
      ++piece->stats.bad_rows;
      if (piece->stats.bad_messages.size() < options.max_bad_messages) {
        piece->stats.bad_messages.push_back(std::move(msg));
      }
      continue;
    }
    // Values are stored only once a value other than 1 appears (one-hot data needs none).
    if (rows.all_ones && !std::all_of(row_values.begin(), row_values.end(), [](float v) { return v == 1.0f; })) {
      rows.all_ones = false;
      rows.values.assign(mark, 1.0f);
    }
    if (!rows.all_ones) rows.values.insert(rows.values.end(), row_values.begin(), row_values.end());
    if (options.max_categories > 0) {
      const std::size_t nc = parser.csv_columns().categorical.size();
      piece->categories.resize(nc);
      for (std::size_t j = 0; j < nc; ++j) {
        if (piece->categories[j].size() < options.max_categories) {
          piece->categories[j].emplace(parser.CategoryValue(scratch, j));
        }
      }
    }
    rows.row_ptr.push_back(rows.keys.size());
    rows.labels.push_back(label);
    rows.ids.push_back(ExampleId(piece->shard.file_index, reader->offset()));
  }
  auto block = std::make_shared<RowBlock>();
  block->keys.assign(rows.keys.begin(), rows.keys.end());
  block->values.assign(rows.values.begin(), rows.values.end());
  block->row_ptr.assign(rows.row_ptr.begin(), rows.row_ptr.end());
  block->labels.assign(rows.labels.begin(), rows.labels.end());
  block->ids.assign(rows.ids.begin(), rows.ids.end());
  block->all_ones = rows.all_ones;
  piece->stats.rows = block->labels.size();
  piece->block = std::move(block);
}

}  // namespace

Result<SparseData> LoadRows(const std::vector<FileShard>& shards, const ExampleParser& parser,
                            const LoadOptions& options, LoadStats* stats) {
  std::vector<Piece> pieces;
  ReadOptions cutting = PieceReading(parser);
  cutting.begin_is_record = false;
  for (const auto& s : shards) {
    // Open once up front, so that a missing file is reported even for an empty range.
    ECPS_ASSIGN_OR_RETURN(auto probe, LineReader::Open({s.range.path, 0, 0}));
    probe.reset();
    ECPS_ASSIGN_OR_RETURN(auto cut, CutIntoPieces(s.range, options.piece_bytes, cutting));
    for (auto& range : cut) {
      Piece p;
      p.shard = s;
      p.shard.range = std::move(range);
      pieces.push_back(std::move(p));
    }
  }
  tbb::parallel_for(std::size_t{0}, pieces.size(), [&](std::size_t i) { ParsePiece(parser, options, &pieces[i]); });
  std::vector<std::shared_ptr<RowBlock>> blocks;
  LoadStats total;
  for (auto& p : pieces) {
    if (!p.error.ok()) return p.error;
    total.rows += p.stats.rows;
    total.bad_rows += p.stats.bad_rows;
    for (auto& m : p.stats.bad_messages) {
      if (total.bad_messages.size() < options.max_bad_messages) total.bad_messages.push_back(std::move(m));
    }
    blocks.push_back(std::move(p.block));
  }
  if (options.max_categories > 0 && parser.has_header()) {
    const std::size_t nc = parser.csv_columns().categorical.size();
    std::vector<std::set<std::string>> merged(nc);
    for (auto& p : pieces) {
      for (std::size_t j = 0; j < p.categories.size(); ++j) {
        for (const auto& v : p.categories[j]) {
          if (merged[j].size() < options.max_categories) merged[j].insert(v);
        }
      }
    }
    for (auto& m : merged) total.categories.emplace_back(m.begin(), m.end());
  }
  if (stats) *stats = std::move(total);
  return SparseData::FromBlocks(std::move(blocks), options.keep_values);
}

}  // namespace ecps::worker
