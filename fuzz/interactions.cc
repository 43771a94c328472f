// Interaction/rating files for item- and user-based CF: format detection from the first line
// and the reader over the whole file. The first input byte picks the options, the rest is the
// file.
#include <cmath>

#include "fuzz/fuzz_util.h"
#include "worker/interactions.h"

using namespace ecps;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::ScratchFile file("interactions");
  std::string_view in = fuzz::Bytes(data, size);
  const std::uint8_t opt = fuzz::TakeByte(&in);
  const worker::HeaderMode mode =
      (opt & 3) == 1 ? worker::HeaderMode::kYes : (opt & 3) == 2 ? worker::HeaderMode::kNo : worker::HeaderMode::kAuto;
  const std::string& path = file.Write(in);
  auto format = worker::DetectInteractionFormat(path, mode);
  if (!format.ok()) return 0;
  fuzz::Check(format->columns >= 2 && format->columns <= 4, "2 to 4 columns");
  (void)format->Describe();
  const bool skip = (opt & 4) != 0;
  // A byte range that starts after the first line, as a second worker's range does.
  const std::uint64_t begin = (opt & 8) ? std::min<std::uint64_t>(in.size(), opt >> 4) : 0;
  auto reader = worker::InteractionReader::Open(sched::FileRange{path, begin, in.size()}, *format, skip);
  if (!reader.ok()) return 0;
  worker::InteractionRow row;
  while (true) {
    auto more = (*reader)->Next(&row);
    if (!more.ok() || !*more) break;
    fuzz::Check(std::isfinite(row.rating) && std::isfinite(row.timestamp), "finite rating and time");
  }
  fuzz::Check((*reader)->skipped_examples().size() <= worker::InteractionReader::kMaxExamples,
              "bounded examples");
  return 0;
}
