#include "launch/option_checks.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "worker/csv.h"

namespace ecps::launch {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Parses `s` as a finite number ("+1.5", "2e3") into `v`; otherwise says what it is not.
std::string ParseFinite(std::string_view s, double* v) {
  const std::string text(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  const bool whole = !s.empty() && s.front() != '+' && end == s.data() + s.size();
  if (whole && ec == std::errc() && std::isfinite(*v)) return {};
  if (whole && (ec == std::errc::result_out_of_range || ec == std::errc())) {
    return fmt::format("must be a finite number, not {}", text);  // nan, inf, 1e999
  }
  return fmt::format("must be a number, not {}", text);
}

// A whole decimal number: its sign and its digits without leading zeros.
struct Whole {
  bool negative = false;
  std::string digits;
};

std::optional<Whole> WholeNumber(std::string_view s) {
  Whole w;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    w.negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const std::size_t first = std::min(s.find_first_not_of('0'), s.size() - 1);
  w.digits = std::string(s.substr(first));
  if (w.digits == "0") w.negative = false;
  return w;
}

std::string CheckFloat(std::string& s) {
  double v = 0;
  return ParseFinite(s, &v);
}

std::string CheckSigned(std::string& s) {
  const auto w = WholeNumber(s);
  if (!w) return fmt::format("must be a whole number, not {}", s);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(w->digits.data(), w->digits.data() + w->digits.size(), v);
  constexpr auto kMin = std::numeric_limits<int>::min(), kMax = std::numeric_limits<int>::max();
  if (ec != std::errc() || (w->negative ? -v < kMin : v > kMax)) {
    return fmt::format("must be a whole number from {} to {}, not {}", kMin, kMax, s);
  }
  s = (w->negative ? "-" : "") + w->digits;
  return {};
}

std::string CheckUnsigned(std::string& s) {
  const auto w = WholeNumber(s);
  if (!w || w->negative) return fmt::format("must be a non-negative integer, not {}", s);
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(w->digits.data(), w->digits.data() + w->digits.size(), v);
  if (ec != std::errc()) {
    return fmt::format("must be at most {}, not {}", std::numeric_limits<std::uint64_t>::max(), s);
  }
  s = w->digits;
  return {};
}

}  // namespace

CLI::Validator Interval(double lo, double hi, bool lo_open, bool hi_open) {
  std::string want;
  if (lo > -kInf && hi < kInf) {
    want = fmt::format("in {}{}, {}{}", lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']');
  } else if (lo > -kInf) {
    want = fmt::format("{} {}", lo_open ? ">" : ">=", lo);
  } else {
    want = fmt::format("{} {}", hi_open ? "<" : "<=", hi);
  }
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        double v = 0;
        if (auto error = ParseFinite(s, &v); !error.empty()) return error;
        const bool low = lo_open ? !(v > lo) : !(v >= lo);
        const bool high = hi_open ? !(v < hi) : !(v <= hi);
        return low || high ? fmt::format("must be {}, not {}", want, s) : std::string();
      },
      "");
}

CLI::Validator Positive() { return Interval(0, kInf, true); }
CLI::Validator NonNegative() { return Interval(0, kInf); }
CLI::Validator AtLeast(double lo) { return Interval(lo, kInf); }
CLI::Validator Fraction() { return Interval(0, 1, true, true); }
CLI::Validator Seconds() { return Interval(0, 1e6, true); }

CLI::Validator DelimiterCheck() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        const auto d = worker::ParseDelimiter(s, "--delimiter");
        if (d.ok()) return std::string();
        const std::string& m = d.status().message();
        return m.substr(m.find(": ") + 2);  // CLI11 names the option itself
      },
      "");
}

char DelimiterValue(const std::string& s) { return worker::ParseDelimiter(s, "--delimiter").value(); }

void CheckNumberTypes(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    if (opt->get_expected_min() == 0) continue;  // a switch
    // The type as CLI11 names it, before the descriptions of the option's validators. A
    // transform runs before the option's range checks and may rewrite the value.
    const std::string full = opt->get_type_name();
    const std::string type = full.substr(0, full.find(':'));
    if (type == "FLOAT") {
      opt->transform(CLI::Validator(CheckFloat, "", "number type"));
    } else if (type == "INT") {
      opt->transform(CLI::Validator(CheckSigned, "", "number type"));
    } else if (type == "UINT") {
      opt->transform(CLI::Validator(CheckUnsigned, "", "number type"));
    }
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) CheckNumberTypes(*sub);
}

}  // namespace ecps::launch
