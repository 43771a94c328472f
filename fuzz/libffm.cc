// libffm training/prediction files through LoadRows (LineReader + ExampleParser).
#include "fuzz/sparse_rows.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ecps::fuzz::ScratchFile file("libffm");
  ecps::fuzz::LoadSparseFile(ecps::worker::DataFormat::kLibffm, &file, ecps::fuzz::Bytes(data, size));
  return 0;
}
