// Interaction/rating files for item- and user-based CF: format detection from the first line
// and the reader over the whole file. The first input byte picks the options; the second the
// separator and whether the next line is a --columns value; the rest is the file (gzip when it
// starts with the magic bytes).
#include <cmath>

#include "fuzz/fuzz_util.h"
#include "worker/csv.h"
#include "worker/interactions.h"

using namespace ecps;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::ScratchFile file("interactions");
  std::string_view in = fuzz::Bytes(data, size);
  const std::uint8_t opt = fuzz::TakeByte(&in);
  const worker::HeaderMode mode =
      (opt & 3) == 1 ? worker::HeaderMode::kYes : (opt & 3) == 2 ? worker::HeaderMode::kNo : worker::HeaderMode::kAuto;
  const std::uint8_t opt2 = fuzz::TakeByte(&in);
  worker::InteractionOptions options;
  options.header = mode;
  constexpr char kSeparators[] = {0, ';', worker::kDoubleColon, '|'};
  if (opt2 & 3) options.delimiter = kSeparators[opt2 & 3];
  if (opt2 & 4) {
    const auto nl = in.find('\n');
    options.columns = std::string(in.substr(0, nl));
    in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  }
  const std::string& path = file.Write(in);
  auto format = worker::DetectInteractionFormat(path, options);
  if (!format.ok()) return 0;
  fuzz::Check(format->columns >= 2 && (!options.columns.empty() || format->columns <= 4),
              "2 to 4 columns without --columns");
  for (int c : {format->user_column, format->item_column}) {
    fuzz::Check(c >= 0 && c < format->columns, "user and item are columns of the file");
  }
  fuzz::Check(format->rating_column < format->columns && format->timestamp_column < format->columns,
              "rating and timestamp within the file");
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
