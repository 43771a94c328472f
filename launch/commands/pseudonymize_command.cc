// `ecps pseudonymize`: rewrites named columns of a CSV file with the pseudonyms that
// --pseudonymize-key gives during training (privacy/pseudonym.h), so that new files join the
// pseudonymised outputs only for whoever holds the key.
#include <cstdio>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "launch/command.h"
#include "models/common/csv_field.h"
#include "privacy/pseudonym.h"
#include "util/files.h"
#include "util/input_file.h"
#include "worker/csv.h"

namespace ecps::launch {
namespace {

struct PseudonymizeOptions {
  std::string key_file, data, out;
  std::vector<std::string> columns;
};

// Appends `fields` to `out` as one CSV record (comma-separated, quoted where needed).
void AppendRecord(std::string* out, const std::vector<std::string_view>& fields) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) *out += ',';
    models::AppendCsvField(out, fields[i]);
  }
  *out += '\n';
}

// Rewrites o.data into o.out (atomically); returns the number of data rows.
Result<std::uint64_t> PseudonymizeCsv(const PseudonymizeOptions& o) {
  ECPS_ASSIGN_OR_RETURN(const auto key, privacy::PseudonymKey::Load(o.key_file));
  ECPS_ASSIGN_OR_RETURN(const std::string local, util::LocalInputPath(o.data));  // gzip, stdin
  std::ifstream in(local, std::ios::binary);
  if (!in) return NotFound(fmt::format("{}: cannot open", o.data));
  std::string line;
  if (!std::getline(in, line)) return DataError(fmt::format("{}:1: empty file (a header is needed)", o.data));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;
  ECPS_RETURN_IF_ERROR(worker::SplitCsv(line, ',', &fields, &scratch).WithContext(o.data + ":1"));
  ECPS_ASSIGN_OR_RETURN(const auto header, worker::CsvHeader::Parse(line, ',', o.data));
  std::vector<bool> replace(header.names().size(), false);
  for (const auto& c : o.columns) {
    auto at = header.Find(c);
    if (!at.ok()) return at.status().WithContext("--columns");
    replace[*at] = true;
  }
  ECPS_ASSIGN_OR_RETURN(auto file, util::AtomicWriter::Open(o.out));
  std::string buf;
  AppendRecord(&buf, fields);
  std::uint64_t line_no = 1, rows = 0;
  std::vector<std::string> pseudonyms(replace.size());
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (worker::Trim(line).empty()) continue;  // blank lines carry no record
    scratch.clear();
    const std::string where = fmt::format("{}:{}", o.data, line_no);
    ECPS_RETURN_IF_ERROR(worker::SplitCsv(line, ',', &fields, &scratch).WithContext(where));
    if (fields.size() != replace.size()) {
      return DataError(fmt::format("{}: expected {} fields (as in the header), found {}", where,
                                   replace.size(), fields.size()));
    }
    for (std::size_t f = 0; f < fields.size(); ++f) {
      if (!replace[f]) continue;
      pseudonyms[f] = privacy::Pseudonymize(key, fields[f]);
      fields[f] = pseudonyms[f];
    }
    AppendRecord(&buf, fields);
    ++rows;
    if (buf.size() > (1 << 20)) {
      ECPS_RETURN_IF_ERROR(file->Write(buf));
      buf.clear();
    }
  }
  if (in.bad()) return IoError(fmt::format("{}: read error", o.data));
  ECPS_RETURN_IF_ERROR(file->Write(buf));
  ECPS_RETURN_IF_ERROR(file->Commit());
  return rows;
}

}  // namespace

void AddPseudonymizeCommand(CommandTree& tree) {
  auto o = std::make_shared<PseudonymizeOptions>();
  auto* sub = tree.root->add_subcommand(
      "pseudonymize",
      "Replace the ids in named columns of a CSV file by their pseudonyms under a key (the "
      "ones that train --pseudonymize-key gives), so that new files join pseudonymised "
      "outputs");
  sub->add_option("--key", o->key_file, "Secret key file (>= 16 bytes, mode 600)")->required();
  sub->add_option("--data", o->data, "CSV file with a header (comma-separated, RFC 4180 quoting)")
      ->required();
  sub->add_option("--columns", o->columns, "Columns to pseudonymise, comma-separated (e.g. user_id)")
      ->required()
      ->delimiter(',');
  sub->add_option("--out", o->out, "Output CSV, written atomically (the other columns as they are)")
      ->required();
  AddConfigOption(*sub);
  sub->callback([o, sel = tree.selected] {
    *sel = [o]() -> Status {
      ECPS_ASSIGN_OR_RETURN(const std::uint64_t rows, PseudonymizeCsv(*o));
      std::fprintf(stderr, "pseudonymize: %llu rows -> %s\n",
                   static_cast<unsigned long long>(rows), o->out.c_str());
      return Status::Ok();
    };
  });
}

}  // namespace ecps::launch
