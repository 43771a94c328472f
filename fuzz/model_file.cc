// The model-file container (models/common/model_file.*): header, kind, version, size and
// checksum checks on arbitrary bytes. The input is the whole file.
#include "fuzz/fuzz_util.h"
#include "models/common/model_file.h"

using namespace ecps;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::ScratchFile file("model_file");
  const std::string& path = file.Write(fuzz::Bytes(data, size));
  auto kind = models::ModelFileKind(path);
  (void)models::ModelFileIn(path, "model.bin");
  for (const char* k : {"lr", "kmeans", "cf"}) {
    auto payload = models::LoadModelFile(path, k, 1);
    if (payload.ok()) fuzz::Check(kind.ok() && *kind == k, "a loaded file has the kind it was asked for");
  }
  return 0;
}
