// serve/ in-process: the CSV rows built from JSON instances, the request router, /metrics.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "serve/api.h"
#include "serve/instances.h"
#include "serve/metrics.h"
#include "serve/tokens.h"

namespace ecps::serve {
namespace {

using nlohmann::json;

// The request functions on an nlohmann value (read into a JsonDoc first, as a body is).
Status InstancesOf(const json& body) { return serve::InstancesOf(JsonDoc::From(body).root()).status(); }
Status CsvLine(const json& instance, const std::vector<std::string>& fields, char delimiter,
               std::string_view where, std::string* line) {
  return serve::CsvLine(JsonDoc::From(instance).root(), fields, delimiter, where, line);
}
Result<std::string> StringField(const json& body, std::string_view key) {
  return serve::StringField(JsonDoc::From(body).root(), key);
}
Result<long long> IntField(const json& body, std::string_view key, long long fallback, long long lo,
                           long long hi) {
  return serve::IntField(JsonDoc::From(body).root(), key, fallback, lo, hi);
}

TEST(CsvLine, QuotesEveryValueAndKeepsTheHeaderOrder) {
  std::string line;
  const json x = {{"b", "x,\"y\""}, {"a", 31}, {"c", 0.1}, {"d", true}};
  ASSERT_TRUE(CsvLine(x, {"a", "b", "c", "d"}, ',', "instances[0]", &line).ok());
  EXPECT_EQ(line, "\"31\",\"x,\"\"y\"\"\",\"0.1\",\"true\"");
  EXPECT_EQ(CsvHeaderLine({"a", "b,c", "d"}, ','), "a,\"b,c\",d");
}

TEST(CsvLine, NamesTheFieldThatDoesNotFit) {
  std::string line;
  Status s = CsvLine(json{{"a", 1}}, {"a", "b"}, ',', "instances[2]", &line);
  EXPECT_NE(s.message().find("instances[2].b: missing"), std::string::npos) << s.message();
  // Other keys are not read, as the tools do not read a file's other columns.
  ASSERT_TRUE(CsvLine(json{{"a", 1}, {"b", 2}, {"z", 3}}, {"a", "b"}, ',', "i", &line).ok());
  EXPECT_EQ(line, "\"1\",\"2\"");
  s = CsvLine(json{{"a", json::array({1})}, {"b", 2}}, {"a", "b"}, ',', "instances[0]", &line);
  EXPECT_NE(s.message().find("instances[0].a: must be a number or a string"), std::string::npos);
  s = CsvLine(json{{"a", nullptr}, {"b", 2}}, {"a", "b"}, ',', "instances[0]", &line);
  EXPECT_FALSE(s.ok());
  s = CsvLine(json{{"a", "x\ny"}, {"b", 2}}, {"a", "b"}, ',', "instances[0]", &line);
  EXPECT_FALSE(s.ok());
}

TEST(Instances, MustBeANonEmptyArrayInAnObject) {
  EXPECT_TRUE(InstancesOf(json{{"instances", json::array({1})}}).ok());
  for (const json& bad : {json::array(), json{{"x", 1}}, json{{"instances", 3}},
                          json{{"instances", json::array()}}}) {
    EXPECT_FALSE(InstancesOf(bad).ok()) << bad.dump();
  }
  EXPECT_EQ(*IntField(json{{"n", 5}}, "n", 10, 1, 100), 5);
  EXPECT_EQ(*IntField(json::object(), "n", 10, 1, 100), 10);
  EXPECT_FALSE(IntField(json{{"n", 0}}, "n", 10, 1, 100).ok());
  EXPECT_FALSE(IntField(json{{"n", "5"}}, "n", 10, 1, 100).ok());
  EXPECT_FALSE(StringField(json{{"user", 5}}, "user").ok());
}

TEST(HandleRequest, RoutesAndRefuses) {
  ModelRegistry models;
  ServeMetrics metrics;
  std::string endpoint;
  Reply r = HandleRequest(models, metrics, "GET", "/healthz", "", &endpoint);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(endpoint, "healthz");
  EXPECT_EQ(HandleRequest(models, metrics, "POST", "/healthz", "", &endpoint).status, 405);
  r = HandleRequest(models, metrics, "POST", "/v1/models/nope:predict", "{}", &endpoint);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(endpoint, "predict");
  EXPECT_NE(r.body.find("\"error\": \"model \\\"nope\\\" is not served\""), std::string::npos)
      << r.body;
  EXPECT_EQ(HandleRequest(models, metrics, "GET", "/nothing", "", &endpoint).status, 404);
  EXPECT_EQ(HandleRequest(models, metrics, "GET", "/v1/admin/reload", "", &endpoint).status, 405);
  EXPECT_EQ(endpoint, "admin");
  r = HandleRequest(models, metrics, "POST", "/v1/admin/reload", "", &endpoint);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"failed\":[],\"reloaded\":[]}\n");
  r = HandleRequest(models, metrics, "GET", "/v1/models?x=1", "", &endpoint);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"models\": []}\n");
}

TEST(JsonString, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  // Ids come from training files and may hold any bytes; an answer is still valid JSON.
  EXPECT_EQ(JsonString("a\"\xff"), "\"a\\\"\xEF\xBF\xBD\"");
  EXPECT_EQ(ErrorReply(404, "x").body, "{\"error\": \"x\"}\n");
}

TEST(ServeMetrics, PrometheusText) {
  ServeMetrics m;
  m.Record("predict", 200, 0.0003);
  m.Record("predict", 200, 2.0);
  m.Record("predict", 400, 0.00001);
  const std::string t = m.Text(3, 4, 1);
  EXPECT_NE(t.find("ecps_serve_requests_total{endpoint=\"predict\",code=\"200\"} 2\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("ecps_serve_requests_total{endpoint=\"predict\",code=\"400\"} 1\n"),
            std::string::npos);
  EXPECT_NE(t.find("ecps_serve_request_duration_seconds_bucket{le=\"0.0001\"} 1\n"),
            std::string::npos);
  EXPECT_NE(t.find("ecps_serve_request_duration_seconds_bucket{le=\"0.0005\"} 2\n"),
            std::string::npos);
  EXPECT_NE(t.find("ecps_serve_request_duration_seconds_bucket{le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("ecps_serve_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(t.find("ecps_serve_request_duration_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(t.find("ecps_serve_models_loaded 3\n"), std::string::npos);
  EXPECT_NE(t.find("ecps_serve_reloads_total 4\n"), std::string::npos);
  EXPECT_NE(t.find("ecps_serve_reload_failures_total 1\n"), std::string::npos);
}

TEST(Tokens, RefusalByPathAndToken) {
  const Tokens t{"s3cret", "adm1n"};
  EXPECT_FALSE(Refusal(t, "/healthz", ""));
  EXPECT_EQ(Refusal(t, "/v1/models", "")->status, 401);
  EXPECT_EQ(Refusal(t, "/v1/models", "Bearer s3cre")->status, 401);
  EXPECT_EQ(Refusal(t, "/v1/models", "Bearer s3cret ")->status, 401);
  EXPECT_FALSE(Refusal(t, "/v1/models/x:predict", "Bearer s3cret"));
  EXPECT_EQ(Refusal(t, "/v1/admin/reload", "Bearer s3cret")->status, 403);
  EXPECT_EQ(Refusal(t, "/v1/admin/reload", "Bearer nope")->status, 401);
  EXPECT_FALSE(Refusal(t, "/v1/admin/reload", "Bearer adm1n"));
  const Tokens scoring_only{"s3cret", ""};
  EXPECT_EQ(Refusal(scoring_only, "/v1/admin/reload", "Bearer s3cret")->status, 403);
  EXPECT_EQ(Refusal(scoring_only, "/v1/admin/reload", "Bearer ")->status, 403);
  EXPECT_EQ(Refusal(scoring_only, "/metrics", "Bearer ")->status, 401);
  EXPECT_TRUE(ConstantTimeEqual("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "ab"));
}

TEST(Tokens, LoadChecksTheFile) {
  namespace fs = std::filesystem;
  const fs::path p = fs::temp_directory_path() / ("ecps_tokens_" + std::to_string(getpid()));
  { std::ofstream(p) << "score\r\nadmin\n"; }
  fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write);
  auto t = LoadTokens(p.string());
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->scoring, "score");
  EXPECT_EQ(t->admin, "admin");
  fs::permissions(p, fs::perms::others_read, fs::perm_options::add);
  EXPECT_FALSE(LoadTokens(p.string()).ok());
  fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write);
  { std::ofstream(p) << "same\nsame\n"; }
  EXPECT_FALSE(LoadTokens(p.string()).ok());
  { std::ofstream(p) << "\nadmin\n"; }
  EXPECT_FALSE(LoadTokens(p.string()).ok());
  fs::remove(p);
  EXPECT_FALSE(LoadTokens(p.string()).ok());
}


// `v` as text, objects by sorted key with each key once (its last value, as nlohmann keeps it).
std::string Canon(JsonValue v, int depth = 0) {
  using T = JsonValue::Type;
  switch (v.type()) {
    case T::kNull: return "null";
    case T::kBool: return v.boolean() ? "true" : "false";
    case T::kInt: return fmt::format("i{}", v.integer());
    case T::kUint: return fmt::format("u{}", v.unsigned_integer());
    case T::kFloat: return fmt::format("f{}", v.number());
    case T::kString: return "s" + json(std::string(v.str())).dump();
    case T::kArray: {
      if (depth >= JsonDoc::kDepth) return "[...]";
      std::string out = "[";
      for (JsonValue e : v.elements()) out += Canon(e, depth + 1) + ",";
      return out + "]";
    }
    case T::kObject: {
      if (depth >= JsonDoc::kDepth) return "{...}";
      auto keys = v.keys();
      std::sort(keys.begin(), keys.end());
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
      std::string out = "{";
      for (auto k : keys) out += std::string(k) + ":" + Canon(*v.find(k), depth + 1) + ",";
      return out + "}";
    }
  }
  return "?";
}

// JsonDoc::Parse reads a text as nlohmann::json::parse does, or fails with the message of
// what nlohmann throws (a parse error, or a number overflow such as 1e309).
// Answers whether the text is valid JSON.
bool ExpectParsedAsNlohmann(const std::string& text) {
  std::string expected, got;
  try {
    expected = "value " + Canon(JsonDoc::From(json::parse(text)).root());
  } catch (const json::exception& e) {
    expected = std::string("error ") + e.what();
  }
  JsonDoc doc;
  try {
    const auto error = doc.Parse(text);
    got = error ? "error " + *error : "value " + Canon(doc.root());
  } catch (const json::exception& e) {
    got = std::string("throws ") + e.what();
  }
  EXPECT_EQ(got, expected) << text;
  return expected.starts_with("value ");
}

TEST(JsonDoc, ReadsAsNlohmann) {
  for (const std::string& text : std::vector<std::string>{
           R"({"instances": [{"age": 31, "gender": "F", "r": 4.5, "b": true, "n": null}]})",
           R"({"a": 1, "a": 2, "b": {"a": [1, {"x": [2]}], "a": 3}})", R"([[[[[[1]]]]], []])",
           "9223372036854775807", "9223372036854775808", "18446744073709551615",
           "18446744073709551616", "-9223372036854775808", "-9223372036854775809", "-0", "-0.0",
           "0.1", "1e308", "1e309", "-1e309", "1e-320", "1e-400", "1E+2", "2.5e-3", "01", "1.",
           ".5", "-", "--1", "+1", "1e", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{1:2}", "[1 2]", "",
           " \t\r\n[ 1 , \"x\" ] \n", "\"a\\\"b\\u00e9\\n\"", "\"\xc3\xa9\"", "\"\xff\"",
           "\"a\tb\"", "\"\x7f\"", "\xef\xbb\xbf[1]", "nul", "true false", "NaN", "Infinity",
           "[true, false, null]", "{\"\": \"\"}", std::string("[1]\0", 4), "[\"x\"", "{"}) {
    ExpectParsedAsNlohmann(text);
  }
  ExpectParsedAsNlohmann(std::string(200, '[') + std::string(200, ']'));
  // Bodies with random bytes changed, inserted or removed (fixed seed).
  const std::string body =
      R"({"instances": [{"age": 31, "gender": "F", "rating": 4.75, "x": -2e-3}, "1:1 5:0.5"],)"
      R"( "user": "u01", "n": 10, "fill_popular": false, "z": [[1], {"a": [null]}]})";
  std::mt19937 rng(20261206);
  const std::string alphabet = "{}[]\":,-+.eE0123456789 \\untrfalsex\x01\x80";
  int valid = 0;  // mutated bodies that are still JSON (most of them read by the direct reader)
  for (int trial = 0; trial < 3000; ++trial) {
    std::string t = body;
    for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
      const std::size_t at = rng() % t.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: t[at] = c; break;
        case 1: t.insert(t.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        default: t.erase(at, 1);
      }
    }
    valid += ExpectParsedAsNlohmann(t);
  }
  EXPECT_GT(valid, 300);
}

// A float's text goes into the CSV row as fmt's shortest form of its double, whether the text
// is copied (when it is that form) or the double printed (fixed seed).
TEST(JsonDoc, FloatsReachTheRowAsTheShortestFormOfTheirDouble) {
  std::mt19937 rng(6122026);
  auto digits = [&](std::size_t n, bool lead_nonzero) {
    std::string d;
    for (std::size_t i = 0; i < n; ++i)
      d += static_cast<char>('0' + (i == 0 && lead_nonzero ? 1 + rng() % 9 : rng() % 10));
    return d;
  };
  std::string line;
  for (int trial = 0; trial < 20000; ++trial) {
    std::string text = rng() % 2 ? "-" : "";
    const std::size_t whole = rng() % 18;
    text += whole == 0 ? "0" : digits(whole, true);
    text += "." + std::string(rng() % 3 ? 0 : rng() % 7, '0') + digits(1 + rng() % 18, false);
    if (rng() % 8 == 0) text += fmt::format("e{}", static_cast<int>(rng() % 40) - 20);
    const std::string body = "{\"a\": " + text + "}";
    JsonDoc doc;
    ASSERT_FALSE(doc.Parse(body)) << body;
    ASSERT_TRUE(CsvLine(doc.root(), {"a"}, ',', "i", &line).ok());
    EXPECT_EQ(line, "\"" + fmt::format("{}", json::parse(text).get<double>()) + "\"") << text;
  }
}

// cf_served.cc prints scores with fmt's {:.6g} for the %.6g of `ecps recommend` (fixed seed).
TEST(Scores, FmtGeneral6IsPrintfs) {
  std::mt19937_64 rng(61226);
  char buf[64];
  for (int trial = 0; trial < 20000; ++trial) {
    const double v = trial % 2 ? std::ldexp(static_cast<double>(rng() >> 11), -52) *
                                     std::pow(10.0, static_cast<int>(rng() % 30) - 15)
                               : static_cast<double>(rng() % 2000000) / 1000.0;
    std::snprintf(buf, sizeof buf, "%.6g", trial % 3 ? v : -v);
    EXPECT_EQ(fmt::format("{:.6g}", trial % 3 ? v : -v), buf);
  }
  for (const double v : {0.0, 1e-300, 5e-324, 1e300, 999999.5, 9.999995, 0.0001, 123456789.0}) {
    std::snprintf(buf, sizeof buf, "%.6g", v);
    EXPECT_EQ(fmt::format("{:.6g}", v), buf);
  }
}

TEST(JsonString, EqualsNlohmannsText) {
  for (const std::string s : {"u001", "", "a\"b", "a\\b", "tab\there", "\x7f", "caf\xc3\xa9",
                              "\xff", "x\x01y", "ok with spaces ~!"}) {
    EXPECT_EQ(JsonString(s), json(s).dump(-1, ' ', false, json::error_handler_t::replace)) << s;
  }
}
}  // namespace
}  // namespace ecps::serve
