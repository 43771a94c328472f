// Body of the libsvm and libffm targets: the first input byte picks the parser options, the
// rest is the data file, read as `ecps train lr|linreg` and `ecps predict` read it.
#pragma once

#include "fuzz/fuzz_util.h"
#include "worker/example_parser.h"
#include "worker/sparse_data.h"

namespace ecps::fuzz {

inline void LoadSparseFile(worker::DataFormat format, ScratchFile* file, std::string_view in) {
  const std::uint8_t opt = TakeByte(&in);
  worker::ParserOptions o;
  o.format = format;
  o.hash_bits = 4 + (opt & 7);
  if (opt & 0x08) o.num_features = 1000;
  o.bias = (opt & 0x10) != 0;
  o.label_kind = (opt & 0x20) ? worker::LabelKind::kReal : worker::LabelKind::kBinary;
  o.label_optional = (opt & 0x40) != 0;
  auto parser = worker::ExampleParser::Make(o);
  Check(parser.ok(), "fixed parser options are valid");

  const std::string& path = file->Write(in);
  worker::LoadOptions lo;
  lo.skip_bad_rows = (opt & 0x80) != 0;
  lo.piece_bytes = 2048;  // inputs of up to 4 KB: one to three pieces
  worker::LoadStats stats;
  const worker::FileShard shard{sched::FileRange{path, 0, in.size()}, 0};
  auto data = worker::LoadRows({shard}, *parser, lo, &stats);
  if (!data.ok()) return;
  Check(data->rows() == stats.rows, "row count matches the stats");
  for (std::size_t r = 0; r < data->rows(); ++r) {
    for (std::uint32_t k : data->keys(r)) Check(k < parser->num_keys(), "key inside the key space");
    const float y = data->label(r);
    if (o.label_kind == worker::LabelKind::kBinary && y == y) Check(y == 0 || y == 1, "binary label");
  }
}

}  // namespace ecps::fuzz
