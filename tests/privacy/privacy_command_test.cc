// `ecps privacy epsilon` and `ecps privacy noise` through the real binary: the reference
// values as printed, the noise search's answer read back, and bad values as usage errors.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "tests/pipeline/pipeline_support.h"

namespace ecps::testing {
namespace {

CommandRun Ecps(const std::string& args) { return InRepo(fmt::format("{} {}", ECPS_BINARY, args)); }

// The number after `key=` at the start of a line of `out` (NaN, and a failure, without one).
double Value(const std::string& out, const std::string& key) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(key + "=", 0) == 0) return std::stod(line.substr(key.size() + 1));
  }
  ADD_FAILURE() << "no line " << key << "= in:\n" << out;
  return NAN;
}

void ExpectUsageError(const std::string& args, const std::string& message) {
  CommandRun r = Ecps(args);
  EXPECT_EQ(r.rc, 2) << args << "\n" << r.out;
  EXPECT_NE(r.out.find(message), std::string::npos) << args << "\n" << r.out;
}

const char* const kOpacus = "--sample-rate 0.04 --steps 2250 --delta 1e-5";

TEST(PrivacyCommand, EpsilonPrintsTheReferenceValues) {
  CommandRun r = Ecps(fmt::format("privacy epsilon --noise-multiplier 1.5 {}", kOpacus));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out.rfind("epsilon=7.3291111714", 0), 0u) << r.out;
  EXPECT_NEAR(Value(r.out, "epsilon"), 7.32911117143, 1e-6);
  EXPECT_EQ(Value(r.out, "order"), 3.9);

  CommandRun tf = Ecps("privacy epsilon --noise-multiplier 4 --sample-rate 0.01 --steps 10000 "
                       "--delta 1e-5 --conversion classic");
  ASSERT_EQ(tf.rc, 0) << tf.out;
  EXPECT_NEAR(Value(tf.out, "epsilon"), 1.2585747, 1e-6);
  EXPECT_EQ(Value(tf.out, "order"), 20);
}

TEST(PrivacyCommand, NoiseFindsTheSmallestMultiplierThatMeetsTheBudget) {
  CommandRun r = Ecps(fmt::format("privacy noise --epsilon 8 {}", kOpacus));
  ASSERT_EQ(r.rc, 0) << r.out;
  ASSERT_EQ(r.out.rfind("noise_multiplier=", 0), 0u) << r.out;
  const std::string sigma = r.out.substr(r.out.find('=') + 1, r.out.find('\n') - r.out.find('=') - 1);
  EXPECT_NEAR(std::stod(sigma), 1.41579, 1e-5);
  // The printed value reads back as the same number: it meets the budget.
  CommandRun back = Ecps(fmt::format("privacy epsilon --noise-multiplier {} {}", sigma, kOpacus));
  ASSERT_EQ(back.rc, 0) << back.out;
  EXPECT_LE(Value(back.out, "epsilon"), 8);
  EXPECT_GT(Value(back.out, "epsilon"), 8 - 1e-4);

  CommandRun classic = Ecps(fmt::format("privacy noise --epsilon 8 {} --conversion classic", kOpacus));
  ASSERT_EQ(classic.rc, 0) << classic.out;
  EXPECT_GT(Value(classic.out, "noise_multiplier"), std::stod(sigma));
}

TEST(PrivacyCommand, BadValuesAreUsageErrorsNamingTheOption) {
  const std::string eps = "privacy epsilon --noise-multiplier 1.5 --sample-rate 0.04 --steps 10";
  ExpectUsageError(eps + " --delta 0", "ecps: error: --delta: must be in (0, 1), not 0");
  ExpectUsageError(eps + " --delta nan", "ecps: error: --delta: must be a finite number, not nan");
  ExpectUsageError(eps + " --delta 1e-5 --conversion opacus", "--conversion");
  ExpectUsageError("privacy epsilon --noise-multiplier 0 --sample-rate 0.04 --steps 10 --delta 1e-5",
                   "ecps: error: --noise-multiplier: must be in [0.001, 10000], not 0");
  ExpectUsageError("privacy epsilon --noise-multiplier 1 --sample-rate 1.5 --steps 10 --delta 1e-5",
                   "ecps: error: --sample-rate: must be in [0, 1], not 1.5");
  ExpectUsageError("privacy epsilon --noise-multiplier 1 --sample-rate 0.1 --steps 0 --delta 1e-5",
                   "ecps: error: --steps: must be >= 1, not 0");
  ExpectUsageError("privacy epsilon --noise-multiplier 1 --sample-rate 0.1 --delta 1e-5",
                   "--steps is required");
  const std::string noise = "privacy noise --delta 1e-5 --sample-rate 0.04 --steps 10";
  ExpectUsageError(noise + " --epsilon 0", "ecps: error: --epsilon: must be > 0, not 0");
  ExpectUsageError(noise + " --epsilon inf", "ecps: error: --epsilon: must be a finite number, not inf");
  ExpectUsageError("privacy noise --epsilon 1 --delta 1e-5 --sample-rate 0 --steps 10",
                   "ecps: error: --sample-rate: must be in (0, 1], not 0");
  // A budget that no noise meets: the accountant's own message, exit 2.
  ExpectUsageError(noise + " --epsilon 0.01", "cannot be met by any noise");
  ExpectUsageError("privacy", "a command is needed: epsilon, noise");
}

TEST(PrivacyCommand, HelpExplainsEpsilonAndDelta) {
  CommandRun r = Ecps("privacy --help");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("Epsilon bounds how much one record"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("delta is the probability"), std::string::npos) << r.out;
  CommandRun e = Ecps("privacy epsilon --help");
  for (const char* option : {"--noise-multiplier", "--sample-rate", "--steps", "--delta",
                             "--conversion"}) {
    EXPECT_NE(e.out.find(option), std::string::npos) << option << "\n" << e.out;
  }
  CommandRun n = Ecps("privacy noise --help");
  EXPECT_NE(n.out.find("--epsilon"), std::string::npos) << n.out;
}

}  // namespace
}  // namespace ecps::testing
