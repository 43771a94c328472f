#include "serve/instances.h"

#include <fmt/format.h>

namespace ecps::serve {

using nlohmann::json;

Result<const json*> InstancesOf(const json& body) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  auto it = body.find("instances");
  if (it == body.end()) return InvalidArgument("\"instances\" is missing");
  if (!it->is_array()) return InvalidArgument("\"instances\" must be an array");
  if (it->empty()) return InvalidArgument("\"instances\" is empty");
  return &*it;
}

namespace {
bool NeedsQuotes(const std::string& s, char delimiter) {
  return s.find(delimiter) != std::string::npos || s.find('"') != std::string::npos;
}

void AppendQuoted(const std::string& s, std::string* out) {
  *out += '"';
  for (char c : s) {
    if (c == '"') *out += '"';
    *out += c;
  }
  *out += '"';
}
}  // namespace

std::string CsvHeaderLine(const std::vector<std::string>& fields, char delimiter) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) line += delimiter;
    if (NeedsQuotes(fields[i], delimiter)) {
      AppendQuoted(fields[i], &line);
    } else {
      line += fields[i];
    }
  }
  return line;
}

Status CsvLine(const json& instance, const std::vector<std::string>& fields, char delimiter,
               const std::string& where, std::string* line) {
  line->clear();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) *line += delimiter;
    auto it = instance.find(fields[i]);
    if (it == instance.end())
      return InvalidArgument(fmt::format("{}.{}: missing", where, fields[i]));
    std::string text;
    if (it->is_string()) {
      text = it->get<std::string>();
      if (text.find_first_of("\r\n") != std::string::npos) {
        return InvalidArgument(fmt::format("{}.{}: a line break in a value", where, fields[i]));
      }
    } else if (it->is_number_integer()) {
      text = it->dump();
    } else if (it->is_number_float()) {
      text = fmt::format("{}", it->get<double>());  // shortest text of the same double
    } else if (it->is_boolean()) {
      text = it->get<bool>() ? "true" : "false";
    } else {
      return InvalidArgument(fmt::format("{}.{}: must be a number or a string, not {}", where,
                                         fields[i], it->type_name()));
    }
    AppendQuoted(text, line);
  }
  return Status::Ok();
}

Result<std::string> StringField(const json& body, const std::string& key) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  auto it = body.find(key);
  if (it == body.end()) return InvalidArgument(fmt::format("\"{}\" is missing", key));
  if (!it->is_string()) return InvalidArgument(fmt::format("\"{}\" must be a string", key));
  return it->get<std::string>();
}

Result<long long> IntField(const json& body, const std::string& key, long long fallback,
                           long long lo, long long hi) {
  auto it = body.find(key);
  if (it == body.end()) return fallback;
  if (!it->is_number_integer())
    return InvalidArgument(fmt::format("\"{}\" must be an integer", key));
  const long long v = it->get<long long>();
  if (v < lo || v > hi) {
    return InvalidArgument(fmt::format("\"{}\" must be in [{}, {}], not {}", key, lo, hi, v));
  }
  return v;
}

}  // namespace ecps::serve
