// Request bodies of `ecps serve` turned into the text rows the models' parsers read, so that
// an instance is parsed exactly as the same row of a file given to the command-line tools.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ps/status.h"

namespace ecps::serve {

/// body["instances"], which must be a non-empty array; InvalidArgument naming the field.
Result<const nlohmann::json*> InstancesOf(const nlohmann::json& body);

/// A header line of `fields` (quoted where the delimiter or a quote needs it).
std::string CsvHeaderLine(const std::vector<std::string>& fields, char delimiter);

/// The CSV row of `instance` (an object) for the header `fields`: each value quoted (RFC 4180);
/// strings as they are, numbers in the shortest form that reads back to the same double
/// (integers as integers), booleans as true/false. Other keys are not read (as the tools
/// read a file's other columns). A field missing, or a value that is null, an array or an
/// object, is an InvalidArgument naming "<where>.<key>".
Status CsvLine(const nlohmann::json& instance, const std::vector<std::string>& fields,
               char delimiter, const std::string& where, std::string* line);

/// body[key] as a string; InvalidArgument naming the field when missing or not a string.
Result<std::string> StringField(const nlohmann::json& body, const std::string& key);
/// body[key] as an integer in [lo, hi], `fallback` when absent.
Result<long long> IntField(const nlohmann::json& body, const std::string& key, long long fallback,
                           long long lo, long long hi);

}  // namespace ecps::serve
