// Checks of numeric option values, defined once for every command.
//
// CLI11 alone accepts "nan" and "inf" for floating-point options, wraps "-1" for unsigned
// ones and reads "010" as octal. BuildCommandTree gives every numeric option of every command
// the check of its type (CheckNumberTypes); commands add the range of an option where they
// declare it (`->check(AtLeast(1))`). A value that fails is a usage error:
// `ecps: error: --k: must be in [1, 1048576], not -1` (exit code 2).
#pragma once

#include <CLI/CLI.hpp>

namespace ecps::launch {

/// A range check for a numeric option: the value is a finite number within [lo, hi] (an open
/// end excludes the bound; an infinite bound is no bound). Its message says
/// "must be >= 1, not 0" or "must be in (0, 1), not 1.5".
CLI::Validator Interval(double lo, double hi, bool lo_open = false, bool hi_open = false);
CLI::Validator Positive();          ///< > 0
CLI::Validator NonNegative();       ///< >= 0
CLI::Validator AtLeast(double lo);  ///< >= lo
CLI::Validator Fraction();          ///< in (0, 1)
/// Seconds of a timeout or an interval: > 0 and at most 1e6 (11.5 days; a larger deadline
/// would not fit the clocks the parameter server uses).
CLI::Validator Seconds();

/// Adds --delimiter to `group`: one character ("tab" for a tab) or "::" (worker::ParseDelimiter),
/// stored in *value; a value of another shape is a usage error naming the option.
template <class Group, class Target>
CLI::Option* AddDelimiterOption(Group& group, Target* value, const std::string& help);

/// Gives every option of `app` and of its subcommands (option groups included) whose value is
/// a number the check of its type: floating point: a finite number; signed integers: a whole
/// decimal number that fits an int (every signed option of ecps is an int); unsigned
/// integers: a whole decimal number from 0 to 2^64 - 1, a negative one refused as "must be a
/// non-negative integer". It runs before the option's range check, and passes whole numbers on
/// in plain decimal ("+010" becomes "10").
void CheckNumberTypes(CLI::App& app);

/// The check behind AddDelimiterOption.
CLI::Validator DelimiterCheck();
/// ParseDelimiter for a value DelimiterCheck accepted.
char DelimiterValue(const std::string& s);

template <class Group, class Target>
CLI::Option* AddDelimiterOption(Group& group, Target* value, const std::string& help) {
  return group
      .template add_option_function<std::string>(
          "--delimiter", [value](const std::string& s) { *value = DelimiterValue(s); }, help)
      ->check(DelimiterCheck());
}

}  // namespace ecps::launch
