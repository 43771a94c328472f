// The shared real datasets (../shared/data beside the repository, see its README.md).
//
// Anyone who clones the project has no ../shared: tests that need it are skipped with a message
// naming the missing path. CI has it and sets ECPS_REQUIRE_SHARED_DATA=1, which turns that skip
// into a failure, so a data test can never pass in CI by skipping.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace ecps::testing {

// The path of `rel` inside the shared datasets folder (ECPS_SHARED_DATA, set by CMake).
inline std::filesystem::path SharedDataPath(const std::string& rel) {
  return std::filesystem::path(ECPS_SHARED_DATA) / rel;
}

// True when the environment asks for the shared datasets to be present (CI).
inline bool SharedDataRequired() {
  const char* v = std::getenv("ECPS_REQUIRE_SHARED_DATA");
  return v != nullptr && std::string(v) == "1";
}

inline std::string MissingSharedDataMessage(const std::filesystem::path& p) {
  return p.string() +
         " is missing: this test needs the shared datasets (../shared/data beside the repository, "
         "see its README.md)";
}

}  // namespace ecps::testing

// Declares `var` as the path of `rel` in the shared datasets; when it does not exist, skips the
// current test (or fails it under ECPS_REQUIRE_SHARED_DATA=1) naming the path. Use it in a TEST
// body: it returns from the enclosing function.
#define ECPS_SHARED_DATA_OR_SKIP(var, rel)                                                \
  const std::filesystem::path var = ::ecps::testing::SharedDataPath(rel);                 \
  if (!std::filesystem::exists(var)) {                                                    \
    if (::ecps::testing::SharedDataRequired()) {                                          \
      FAIL() << ::ecps::testing::MissingSharedDataMessage(var)                            \
             << " (ECPS_REQUIRE_SHARED_DATA=1)";                                          \
    }                                                                                     \
    GTEST_SKIP() << ::ecps::testing::MissingSharedDataMessage(var);                       \
  }
