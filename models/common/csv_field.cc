#include "models/common/csv_field.h"

namespace ecps::models {

void AppendCsvField(std::string* out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

std::string CsvField(std::string_view s) {
  std::string out;
  AppendCsvField(&out, s);
  return out;
}

}  // namespace ecps::models
