// CSV training/prediction files for lr/linreg: column roles from the header (inferred by
// sniffing, or given), the header-bound parser, and LoadRows. The first input byte picks the
// options, the rest is the file.
#include "fuzz/fuzz_util.h"
#include "worker/example_parser.h"
#include "worker/line_reader.h"
#include "worker/sparse_data.h"

using namespace ecps;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::ScratchFile file("csv_examples");
  std::string_view in = fuzz::Bytes(data, size);
  const std::uint8_t opt = fuzz::TakeByte(&in);
  worker::ParserOptions o;
  o.format = worker::DataFormat::kCsv;
  o.hash_bits = 4 + (opt & 7);
  o.delimiter = (opt & 0x08) ? '\t' : ',';
  o.label_column = "y";
  o.label_kind = (opt & 0x10) ? worker::LabelKind::kReal : worker::LabelKind::kBinary;
  o.label_optional = (opt & 0x20) != 0;
  if (opt & 0x40) {  // roles given, as with --numeric-columns/--categorical-columns
    o.numeric_columns = {"a", "b"};
    o.categorical_columns = {"c"};
  } else {
    o.ignore_columns = {"id"};
  }
  const std::string& path = file.Write(in);
  auto columns = worker::ResolveCsvColumns(o, path, 50);
  if (!columns.ok()) return 0;
  auto header = worker::ReadFirstLine(path);
  if (!header.ok()) return 0;
  auto parser = worker::ExampleParser::MakeCsv(o, *columns, *header, path);
  if (!parser.ok()) return 0;

  worker::LoadOptions lo;
  lo.skip_bad_rows = (opt & 0x80) != 0;
  lo.piece_bytes = 2048;  // inputs of up to 4 KB: one to three pieces
  lo.max_categories = 8;
  worker::LoadStats stats;
  const worker::FileShard shard{sched::FileRange{path, 0, in.size()}, 0};
  auto rows = worker::LoadRows({shard}, *parser, lo, &stats);
  if (!rows.ok()) return 0;
  for (std::size_t r = 0; r < rows->rows(); ++r) {
    for (std::uint32_t k : rows->keys(r)) fuzz::Check(k < parser->num_keys(), "key inside the key space");
  }
  return 0;
}
