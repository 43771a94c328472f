// readers_bench: one reader of worker/ alone on one file, timed; prints MB/s per run (wall
// clock), the median, the median per CPU-second of the process (all threads: the rate per
// core, which a loaded machine changes less), and a checksum of what was parsed (the same before and after a change that must
// not change results). bench/readers/bench_readers.py makes the files and runs the peers.
//   readers_bench --kind features --file users.csv --runs 5 --threads 1
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <tbb/task_arena.h>

#include "models/cf/attributes.h"
#include "worker/example_parser.h"
#include "worker/feature_csv.h"
#include "worker/interactions.h"
#include "worker/line_reader.h"
#include "worker/sparse_data.h"
#include "worker/user_shard.h"

namespace ecps {
namespace {

// The reading ends here: the checksum after it is not timed.
std::chrono::steady_clock::time_point g_stop;
double g_cpu_stop = 0;

double CpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

void Stop() {
  g_stop = std::chrono::steady_clock::now();
  g_cpu_stop = CpuSeconds();
}

// FNV-1a over bytes, chained.
struct Checksum {
  std::uint64_t h = 1469598103934665603ULL;
  void Add(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ULL;
  }
  void Add(std::string_view s) { Add(s.data(), s.size()); }
  template <class T>
  void AddValue(T v) { Add(&v, sizeof v); }
};

Result<std::uint64_t> Lines(const std::string& path) {
  ECPS_ASSIGN_OR_RETURN(auto r, worker::LineReader::OpenFile(path));
  std::string_view line;
  Checksum c;
  std::uint64_t n = 0, bytes = 0;
  while (true) {
    ECPS_ASSIGN_OR_RETURN(bool more, r->Next(&line));
    if (!more) break;
    ++n;
    bytes += line.size();
  }
  Stop();
  c.AddValue(n);
  c.AddValue(bytes);
  return c.h;
}

// Feature CSV: the first column is the id, every other column a numeric feature.
Result<std::uint64_t> Features(const std::string& path) {
  ECPS_ASSIGN_OR_RETURN(std::string first, worker::ReadFirstLine(path));
  ECPS_ASSIGN_OR_RETURN(auto header, worker::CsvHeader::Parse(first, ',', path));
  worker::FeatureColumnsOptions o;
  o.id_column = header.names()[0];
  o.features.assign(header.names().begin() + 1, header.names().end());
  ECPS_ASSIGN_OR_RETURN(auto schema, worker::FeatureSchema::Make(o));
  worker::ShardLoadOptions lo;
  worker::LoadReport report;
  ECPS_ASSIGN_OR_RETURN(
      worker::UserTable t,
      worker::ParseUserRows({sched::FileRange{path, 0, UINT64_MAX}}, schema, lo, &report));
  Stop();
  Checksum c;
  c.Add(t.features.data(), t.features.size() * sizeof(double));
  c.Add(t.id_bytes);
  c.Add(t.offsets.data(), t.offsets.size() * sizeof(std::uint64_t));
  return c.h;
}

// LoadRows with `parser` on the whole file; the checksum of the rows.
Result<std::uint64_t> LoadAndSum(const std::string& path, const worker::ExampleParser& parser) {
  worker::LoadOptions lo;
  worker::LoadStats stats;
  ECPS_ASSIGN_OR_RETURN(auto data, worker::LoadRows({{sched::FileRange{path, 0, UINT64_MAX}, 0}},
                                                    parser, lo, &stats));
  Stop();
  Checksum c;
  for (std::size_t r = 0; r < data.rows(); ++r) {
    auto k = data.keys(r);
    c.Add(k.data(), k.size() * 4);
    if (!data.binary()) c.Add(data.values(r), k.size() * 4);
    c.AddValue(data.label(r));
    c.AddValue(data.id(r));
  }
  return c.h;
}

Result<std::uint64_t> Sparse(const std::string& path, worker::DataFormat format) {
  worker::ParserOptions po;
  po.format = format;
  ECPS_ASSIGN_OR_RETURN(auto parser, worker::ExampleParser::Make(po));
  return LoadAndSum(path, parser);
}

// LR's CSV reader (train lr --format csv): the last column is a real label, the others
// inferred (the first, all distinct, is left out as an identifier).
Result<std::uint64_t> LrCsv(const std::string& path) {
  ECPS_ASSIGN_OR_RETURN(std::string first, worker::ReadFirstLine(path));
  ECPS_ASSIGN_OR_RETURN(auto header, worker::CsvHeader::Parse(first, ',', path));
  worker::ParserOptions po;
  po.format = worker::DataFormat::kCsv;
  po.label_kind = worker::LabelKind::kReal;
  po.label_column = header.names().back();
  ECPS_ASSIGN_OR_RETURN(auto columns, worker::ResolveCsvColumns(po, path));
  ECPS_ASSIGN_OR_RETURN(auto parser, worker::ExampleParser::MakeCsv(po, columns, first, path));
  return LoadAndSum(path, parser);
}

Result<std::uint64_t> Interactions(const std::string& path) {
  ECPS_ASSIGN_OR_RETURN(auto format, worker::DetectInteractionFormat(path, worker::HeaderMode::kAuto));
  ECPS_ASSIGN_OR_RETURN(auto r, worker::InteractionReader::Open({path, 0, UINT64_MAX}, format, false));
  worker::InteractionRow row;
  // A light sink (a caller interns the ids, which is its own cost): a hash of every field.
  std::uint64_t h = 0;
  const std::hash<std::string_view> hash;
  while (true) {
    ECPS_ASSIGN_OR_RETURN(bool more, r->Next(&row));
    if (!more) break;
    std::uint64_t rb = 0, tb = 0;
    std::memcpy(&rb, &row.rating, 8);
    std::memcpy(&tb, &row.timestamp, 8);
    h = (h ^ hash(row.user)) * 0x9e3779b97f4a7c15ULL;
    h = (h ^ hash(row.item) ^ rb ^ (tb << 1)) * 0x9e3779b97f4a7c15ULL;
  }
  Stop();
  return h;
}

Result<std::uint64_t> Attributes(const std::string& path) {
  models::cf::AttributeRows rows;
  ECPS_RETURN_IF_ERROR(models::cf::ReadAttributes({path, 0, UINT64_MAX}, "", &rows));
  Stop();
  Checksum c;
  for (const auto& s : rows.item_ids) c.Add(s);
  for (const auto& s : rows.values) c.Add(s);
  return c.h;
}

}  // namespace
}  // namespace ecps

int main(int argc, char** argv) {
  std::string kind, file;
  int runs = 5, threads = 1;
  CLI::App app{"Times one reader of worker/ on one file"};
  app.add_option("--kind", kind, "lines, features, csv (LR's CSV), libsvm, libffm, interactions or attributes")->required();
  app.add_option("--file", file, "Input file")->required();
  app.add_option("--runs", runs, "Timed runs (after one warm-up)")->capture_default_str();
  app.add_option("--threads", threads, "oneTBB threads")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  using namespace ecps;
  auto once = [&]() -> Result<std::uint64_t> {
    if (kind == "lines") return Lines(file);
    if (kind == "features") return Features(file);
    if (kind == "csv") return LrCsv(file);
    if (kind == "libsvm") return Sparse(file, worker::DataFormat::kLibsvm);
    if (kind == "libffm") return Sparse(file, worker::DataFormat::kLibffm);
    if (kind == "interactions") return Interactions(file);
    if (kind == "attributes") return Attributes(file);
    return InvalidArgument("unknown --kind " + kind);
  };
  const double mb = static_cast<double>(std::filesystem::file_size(file)) / 1e6;
  tbb::task_arena arena(threads);
  std::vector<double> rates, cpu_rates;
  std::uint64_t sum = 0;
  for (int r = 0; r <= runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = CpuSeconds();
    Result<std::uint64_t> got = InvalidArgument("not run");
    arena.execute([&] { got = once(); });
    const double s = std::chrono::duration<double>(g_stop - t0).count();
    if (r > 0) cpu_rates.push_back(mb / (g_cpu_stop - cpu0));
    if (!got.ok()) {
      std::fprintf(stderr, "readers_bench: %s\n", got.status().ToString().c_str());
      return 1;
    }
    if (r > 0 && *got != sum) {
      std::fprintf(stderr, "readers_bench: checksum changed between runs\n");
      return 1;
    }
    sum = *got;
    if (r > 0) rates.push_back(mb / s);  // run 0 warms the page cache
  }
  std::sort(rates.begin(), rates.end());
  std::sort(cpu_rates.begin(), cpu_rates.end());
  std::printf("%s %s %.1f MB threads=%d median=%.1f MB/s cpu=%.1f MB/s-per-cpu-second runs=", kind.c_str(),
              file.c_str(), mb, threads, rates[rates.size() / 2], cpu_rates[cpu_rates.size() / 2]);
  for (double v : rates) std::printf("%.1f ", v);
  std::printf("checksum=%016llx\n", static_cast<unsigned long long>(sum));
  return 0;
}
