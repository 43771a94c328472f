#include "serve/instances.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <iterator>

namespace ecps::serve {

using nlohmann::json;
using Type = JsonValue::Type;

// --- JsonValue -------------------------------------------------------------------------------

Type JsonValue::type() const { return doc_->nodes_[i_].type; }

const char* JsonValue::type_name() const {
  switch (type()) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "boolean";
    case Type::kString:
      return "string";
    case Type::kArray:
      return "array";
    case Type::kObject:
      return "object";
    default:
      return "number";
  }
}

std::string_view JsonValue::str() const { return doc_->nodes_[i_].s; }
bool JsonValue::boolean() const { return doc_->nodes_[i_].b; }
long long JsonValue::integer() const {
  const auto& n = doc_->nodes_[i_];
  return n.type == Type::kUint ? static_cast<long long>(n.u) : n.i;
}
std::uint64_t JsonValue::unsigned_integer() const {
  const auto& n = doc_->nodes_[i_];
  return n.type == Type::kUint ? n.u : static_cast<std::uint64_t>(n.i);
}
double JsonValue::number() const {
  const auto& n = doc_->nodes_[i_];
  if (!n.b) return n.d;
  double d = 0;
  std::from_chars(n.s.data(), n.s.data() + n.s.size(), d);
  return d;
}
std::string_view JsonValue::shortest_text() const {
  const auto& n = doc_->nodes_[i_];
  return n.b ? n.s : std::string_view();
}
std::size_t JsonValue::size() const { return doc_->nodes_[i_].count; }

JsonValue::Iterator& JsonValue::Iterator::operator++() {
  i_ = doc_->nodes_[i_].next;
  return *this;
}

JsonValue::Range JsonValue::elements() const {
  return {{doc_, i_ + 1}, {doc_, doc_->nodes_[i_].next}};
}

std::optional<JsonValue> JsonValue::find(std::string_view key) const {
  if (!is_object()) return std::nullopt;
  std::optional<JsonValue> found;
  std::uint32_t k = i_ + 1;
  for (std::uint32_t m = 0; m < size(); ++m) {
    const std::string_view s = doc_->nodes_[k].s;
    if (s.size() == key.size() && (s.empty() || s[0] == key[0]) && s == key)
      found.emplace(doc_, k + 1);
    k = doc_->nodes_[k + 1].next;
  }
  return found;
}

std::vector<std::string_view> JsonValue::keys() const {
  std::vector<std::string_view> keys;
  if (!is_object()) return keys;
  std::uint32_t k = i_ + 1;
  for (std::uint32_t m = 0; m < size(); ++m) {
    keys.push_back(doc_->nodes_[k].s);
    k = doc_->nodes_[k + 1].next;
  }
  return keys;
}

// --- JsonDoc ---------------------------------------------------------------------------------

// Reads the JSON texts whose strings are printable ASCII without escapes and whose numbers
// convert exactly (no overflow); any other text (valid or not) is refused, for nlohmann.
class JsonDoc::FastReader {
 public:
  FastReader(std::string_view text, std::vector<Node>* nodes)
      : p_(text.data()), end_(text.data() + text.size()), nodes_(*nodes) {}

  bool Document() {
    Space();
    if (!Value(0)) return false;
    Space();
    return p_ == end_;
  }

 private:
  static constexpr int kMaxDepth = 64;

  void Space() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool Next(char c) {
    Space();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  bool String(std::string_view* s) {
    const char* b = ++p_;  // after the opening quote
    const auto* q =
        static_cast<const char*>(std::memchr(b, '"', static_cast<std::size_t>(end_ - b)));
    if (q == nullptr) return false;
    bool plain = true;  // no escape, control character or byte beyond ASCII
    for (const char* c = b; c < q; ++c) {
      const auto u = static_cast<unsigned char>(*c);
      plain &= u >= 0x20 && u < 0x80 && u != '\\';
    }
    if (!plain) return false;
    *s = {b, static_cast<std::size_t>(q - b)};
    p_ = q + 1;
    return true;
  }
  bool Word(std::string_view w) {
    if (static_cast<std::size_t>(end_ - p_) < w.size() || std::memcmp(p_, w.data(), w.size()))
      return false;
    p_ += w.size();
    return true;
  }
  bool Digits() {
    const char* b = p_;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    return p_ > b;
  }
  // JSON's number grammar; integers as nlohmann keeps them (negative: int64, else uint64).
  bool Number(Node* n) {
    const char* b = p_;
    if (*p_ == '-') ++p_;
    if (p_ < end_ && *p_ == '0') {
      ++p_;
    } else if (!Digits()) {
      return false;
    }
    bool is_float = false;
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (!Digits()) return false;
      is_float = true;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!Digits()) return false;
      is_float = true;
    }
    std::from_chars_result r;
    if (is_float) {
      n->type = Type::kFloat;
      n->s = {b, static_cast<std::size_t>(p_ - b)};
      n->b = ShortestForm(n->s);  // then converted when asked
      if (n->b) return true;
      r = std::from_chars(b, p_, n->d);
    } else if (*b == '-') {
      n->type = Type::kInt;
      r = std::from_chars(b, p_, n->i);
    } else {
      n->type = Type::kUint;
      r = std::from_chars(b, p_, n->u);
    }
    return r.ec == std::errc() && r.ptr == p_;
  }

  // True when fmt's "{}" prints the double nearest to `t` (a JSON number with a fraction) as
  // `t`: no exponent, at most 15 significant digits (so no other such decimal has the same
  // double), the last one not 0, and |value| >= 1e-4 (fmt's fixed notation).
  static bool ShortestForm(std::string_view t) {
    if (t.front() == '-') t.remove_prefix(1);
    const auto dot = t.find('.');
    if (t.find_first_of("eE") != std::string_view::npos || t.back() == '0') return false;
    const std::string_view whole = t.substr(0, dot), frac = t.substr(dot + 1);
    std::size_t significant = whole.size() + frac.size();
    if (whole == "0") {
      const std::size_t zeros = frac.find_first_not_of('0');
      if (zeros > 3) return false;
      significant = frac.size() - zeros;
    }
    return significant <= 15;
  }

  bool Value(int depth) {
    if (p_ == end_ || depth > kMaxDepth) return false;
    const auto at = static_cast<std::uint32_t>(nodes_.size());
    nodes_.emplace_back();
    std::uint32_t count = 0;
    switch (*p_) {
      case '{':
      case '[': {
        const bool object = *p_++ == '{';
        nodes_[at].type = object ? Type::kObject : Type::kArray;
        Space();
        if (p_ < end_ && *p_ == (object ? '}' : ']')) {
          ++p_;
          break;
        }
        do {
          if (object) {
            Space();
            if (p_ == end_ || *p_ != '"') return false;
            Node key;
            key.type = Type::kString;
            if (!String(&key.s)) return false;
            key.next = static_cast<std::uint32_t>(nodes_.size() + 1);
            nodes_.push_back(key);
            if (!Next(':')) return false;
          }
          Space();
          if (!Value(depth + 1)) return false;
          ++count;
        } while (Next(','));
        if (!Next(object ? '}' : ']')) return false;
        break;
      }
      case '"': {
        std::string_view s;
        if (!String(&s)) return false;
        nodes_[at].type = Type::kString;
        nodes_[at].s = s;
        break;
      }
      case 't':
      case 'f':
        nodes_[at].type = Type::kBool;
        nodes_[at].b = *p_ == 't';
        if (!Word(nodes_[at].b ? "true" : "false")) return false;
        break;
      case 'n':
        if (!Word("null")) return false;
        break;
      default:
        if (!Number(&nodes_[at])) return false;
    }
    nodes_[at].count = count;
    nodes_[at].next = static_cast<std::uint32_t>(nodes_.size());
    return true;
  }

  const char* p_;
  const char* const end_;
  std::vector<Node>& nodes_;
};

std::optional<std::string> JsonDoc::Parse(std::string_view text) {
  nodes_.clear();
  strings_.clear();
  nodes_.reserve(text.size() / 8 + 1);
  if (FastReader(text, &nodes_).Document()) return std::nullopt;
  nodes_.clear();
  try {
    Add(json::parse(text), 0);
  } catch (const json::exception& e) {  // parse errors, and numbers beyond double (1e309)
    return std::string(e.what());
  }
  return std::nullopt;
}

JsonDoc JsonDoc::From(const json& j) {
  JsonDoc doc;
  doc.Add(j, 0);
  return doc;
}

void JsonDoc::Add(const json& j, int depth) {
  const auto at = static_cast<std::uint32_t>(nodes_.size());
  nodes_.emplace_back();
  auto keep = [&](const std::string& s) { return std::string_view(strings_.emplace_back(s)); };
  switch (j.type()) {
    case json::value_t::boolean:
      nodes_[at].type = Type::kBool;
      nodes_[at].b = j.get<bool>();
      break;
    case json::value_t::number_integer:
      nodes_[at].type = Type::kInt;
      nodes_[at].i = j.get<std::int64_t>();
      break;
    case json::value_t::number_unsigned:
      nodes_[at].type = Type::kUint;
      nodes_[at].u = j.get<std::uint64_t>();
      break;
    case json::value_t::number_float:
      nodes_[at].type = Type::kFloat;
      nodes_[at].d = j.get<double>();
      break;
    case json::value_t::string:
      nodes_[at].type = Type::kString;
      nodes_[at].s = keep(j.get_ref<const std::string&>());
      break;
    case json::value_t::array:
      nodes_[at].type = Type::kArray;
      if (depth >= kDepth) break;
      for (const auto& e : j) Add(e, depth + 1);
      nodes_[at].count = static_cast<std::uint32_t>(j.size());
      break;
    case json::value_t::object:
      nodes_[at].type = Type::kObject;
      if (depth >= kDepth) break;
      for (const auto& [k, v] : j.items()) {
        Node key;
        key.type = Type::kString;
        key.s = keep(k);
        key.next = static_cast<std::uint32_t>(nodes_.size() + 1);
        nodes_.push_back(key);
        Add(v, depth + 1);
      }
      nodes_[at].count = static_cast<std::uint32_t>(j.size());
      break;
    default:  // null (a parsed text holds no other kind)
      break;
  }
  nodes_[at].next = static_cast<std::uint32_t>(nodes_.size());
}

// --- Instances -------------------------------------------------------------------------------

InstanceName::InstanceName(std::size_t i)
    : size_(fmt::format_to_n(text_, sizeof text_, "instances[{}]", i).size) {}

Result<JsonValue> InstancesOf(JsonValue body) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  auto it = body.find("instances");
  if (!it) return InvalidArgument("\"instances\" is missing");
  if (!it->is_array()) return InvalidArgument("\"instances\" must be an array");
  if (it->empty()) return InvalidArgument("\"instances\" is empty");
  return *it;
}

namespace {
bool NeedsQuotes(std::string_view s, char delimiter) {
  return s.find(delimiter) != std::string_view::npos || s.find('"') != std::string_view::npos;
}

void AppendQuoted(std::string_view s, std::string* out) {
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

Status AppendCsvLine(JsonValue instance, const std::vector<std::string>& fields, char delimiter,
                     std::string_view where, std::string* line) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) *line += delimiter;
    auto v = instance.find(fields[i]);
    if (!v) return InvalidArgument(fmt::format("{}.{}: missing", where, fields[i]));
    if (v->is_string()) {
      if (v->str().find_first_of("\r\n") != std::string_view::npos) {
        return InvalidArgument(fmt::format("{}.{}: a line break in a value", where, fields[i]));
      }
      AppendQuoted(v->str(), line);
    } else if (v->is_number_integer()) {
      char buf[24];
      const auto r = v->type() == Type::kUint
                         ? std::to_chars(buf, buf + sizeof buf, v->unsigned_integer())
                         : std::to_chars(buf, buf + sizeof buf, v->integer());
      (*line += '"').append(buf, r.ptr) += '"';
    } else if (v->is_number_float()) {
      *line += '"';
      if (const auto text = v->shortest_text(); !text.empty()) {
        *line += text;
      } else {
        fmt::format_to(std::back_inserter(*line), FMT_COMPILE("{}"), v->number());
      }
      *line += '"';
    } else if (v->is_boolean()) {
      *line += v->boolean() ? "\"true\"" : "\"false\"";
    } else {
      return InvalidArgument(fmt::format("{}.{}: must be a number or a string, not {}", where,
                                         fields[i], v->type_name()));
    }
  }
  return Status::Ok();
}

Status CsvLine(JsonValue instance, const std::vector<std::string>& fields, char delimiter,
               std::string_view where, std::string* line) {
  line->clear();
  return AppendCsvLine(instance, fields, delimiter, where, line);
}

Result<std::string> StringField(JsonValue body, std::string_view key) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  auto it = body.find(key);
  if (!it) return InvalidArgument(fmt::format("\"{}\" is missing", key));
  if (!it->is_string()) return InvalidArgument(fmt::format("\"{}\" must be a string", key));
  return std::string(it->str());
}

Result<long long> IntField(JsonValue body, std::string_view key, long long fallback, long long lo,
                           long long hi) {
  auto it = body.find(key);
  if (!it) return fallback;
  if (!it->is_number_integer())
    return InvalidArgument(fmt::format("\"{}\" must be an integer", key));
  const long long v = it->integer();
  if (v < lo || v > hi) {
    return InvalidArgument(fmt::format("\"{}\" must be in [{}, {}], not {}", key, lo, hi, v));
  }
  return v;
}

}  // namespace ecps::serve
