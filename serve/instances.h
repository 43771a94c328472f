// Request bodies of `ecps serve`: JSON read into a flat, read-only document, and instances
// turned into the text rows the models' parsers read, so that an instance is parsed exactly as
// the same row of a file given to the command-line tools.
#pragma once

#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ps/status.h"

namespace ecps::serve {

class JsonDoc;

/// A value of a JsonDoc (valid while the document, and the text it was parsed from, live).
/// Type names and integer conversions are nlohmann::json's. Containers nested kDepth deep may
/// keep their type only (size 0): the answers never read inside them.
class JsonValue {
 public:
  enum class Type : std::uint8_t { kNull, kBool, kInt, kUint, kFloat, kString, kArray, kObject };
  JsonValue(const JsonDoc* doc, std::uint32_t index) : doc_(doc), i_(index) {}

  Type type() const;
  bool is_object() const { return type() == Type::kObject; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_string() const { return type() == Type::kString; }
  bool is_boolean() const { return type() == Type::kBool; }
  bool is_number_integer() const { return type() == Type::kInt || type() == Type::kUint; }
  bool is_number_float() const { return type() == Type::kFloat; }
  /// "null", "boolean", "number", "string", "array" or "object".
  const char* type_name() const;

  std::string_view str() const;  ///< a string's bytes (escapes resolved)
  bool boolean() const;
  /// An integer as nlohmann's get<long long>() gives it (an unsigned one converted).
  long long integer() const;
  std::uint64_t unsigned_integer() const;
  double number() const;  ///< a float's value
  /// A float's text when it is what fmt's "{}" prints for its value (the shortest form that
  /// reads back to the same double), else empty.
  std::string_view shortest_text() const;

  /// Elements of an array, members of an object.
  std::size_t size() const;
  bool empty() const { return size() == 0; }
  /// An array's elements in order: `for (JsonValue x : v.elements())`.
  class Iterator {
   public:
    Iterator(const JsonDoc* doc, std::uint32_t i) : doc_(doc), i_(i) {}
    JsonValue operator*() const { return {doc_, i_}; }
    Iterator& operator++();
    bool operator!=(const Iterator& o) const { return i_ != o.i_; }

   private:
    const JsonDoc* doc_;
    std::uint32_t i_;
  };
  struct Range {
    Iterator b, e;
    Iterator begin() const { return b; }
    Iterator end() const { return e; }
  };
  Range elements() const;
  /// An object's member called `key` (the last one when a key repeats, as nlohmann keeps), or
  /// nullopt (also when this is not an object).
  std::optional<JsonValue> find(std::string_view key) const;
  bool contains(std::string_view key) const { return find(key).has_value(); }
  /// An object's keys in the order of the text (a repeated key as often as it appears).
  std::vector<std::string_view> keys() const;

 private:
  const JsonDoc* doc_;
  std::uint32_t i_;
};

/// A parsed JSON text. Accepts exactly what nlohmann::json::parse accepts and reads values as
/// it does; a common body (ASCII strings without escapes, numbers that convert exactly) is
/// read without building nlohmann's tree, any other text goes through nlohmann.
class JsonDoc {
 public:
  /// Containers at this depth (the root has depth 0) or deeper may keep their type only.
  static constexpr int kDepth = 3;

  /// Parses `text` (which must outlive the document); on malformed JSON answers nlohmann's
  /// parse_error text, else nullopt.
  std::optional<std::string> Parse(std::string_view text);
  /// The document of an nlohmann value.
  static JsonDoc From(const nlohmann::json& j);
  JsonValue root() const { return {this, 0}; }

  JsonDoc() = default;
  JsonDoc(const JsonDoc&) = delete;
  JsonDoc& operator=(const JsonDoc&) = delete;
  JsonDoc(JsonDoc&&) = default;
  JsonDoc& operator=(JsonDoc&&) = default;

 private:
  friend class JsonValue;
  struct Node {
    JsonValue::Type type = JsonValue::Type::kNull;
    bool b = false;           // bool: the value; float: `s` is its shortest form (d not set)
    std::uint32_t next = 0;   // the index after this value (and its elements)
    std::uint32_t count = 0;  // elements or members
    union {
      std::int64_t i;
      std::uint64_t u;
      double d = 0;
    };
    std::string_view s;  // string bytes, a float's text; an object's members: key, value...
  };
  class FastReader;
  void Add(const nlohmann::json& j, int depth);

  std::vector<Node> nodes_;
  std::deque<std::string> strings_;  // bytes of strings read through nlohmann
};

/// "instances[i]", the name error messages give an instance, formatted without allocating.
class InstanceName {
 public:
  explicit InstanceName(std::size_t i);
  std::string_view view() const { return {text_, size_}; }

 private:
  char text_[32];
  std::size_t size_;
};

/// body["instances"], which must be a non-empty array; InvalidArgument naming the field.
Result<JsonValue> InstancesOf(JsonValue body);

/// A header line of `fields` (quoted where the delimiter or a quote needs it).
std::string CsvHeaderLine(const std::vector<std::string>& fields, char delimiter);

/// Appends the CSV row of `instance` (an object) for the header `fields` to `*line`: each value
/// quoted (RFC 4180); strings as they are, numbers in the shortest form that reads back to the
/// same double (integers as integers), booleans as true/false. Other keys are not read (as the
/// tools read a file's other columns). A field missing, or a value that is null, an array or
/// an object, is an InvalidArgument naming "<where>.<key>".
Status AppendCsvLine(JsonValue instance, const std::vector<std::string>& fields, char delimiter,
                     std::string_view where, std::string* line);
/// The same into a cleared `*line`.
Status CsvLine(JsonValue instance, const std::vector<std::string>& fields, char delimiter,
               std::string_view where, std::string* line);

/// body[key] as a string; InvalidArgument naming the field when missing or not a string.
Result<std::string> StringField(JsonValue body, std::string_view key);
/// body[key] as an integer in [lo, hi], `fallback` when absent.
Result<long long> IntField(JsonValue body, std::string_view key, long long fallback, long long lo,
                           long long hi);

}  // namespace ecps::serve
