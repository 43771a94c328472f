// The main() of every gtest binary: GoogleTest's, plus the removal of the temporary folders
// the tests made (`$TMPDIR/ecps_<name>_<pid>` of this process) once all have run. Kept when a
// test failed (their paths are printed) or when ECPS_KEEP_TEST_DIRS is set. Slurm clusters'
// folders (`ecps_slurm_<pid>`) are left to tests/slurm, which stops their daemons.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>

#include <gtest/gtest.h>

namespace {

class TempDirCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    namespace fs = std::filesystem;
    const std::string suffix = "_" + std::to_string(::getpid());
    const bool keep = std::getenv("ECPS_KEEP_TEST_DIRS") != nullptr || ::testing::UnitTest::GetInstance()->Failed();
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path(ec), ec)) {
      const std::string name = e.path().filename().string();
      if (!name.starts_with("ecps_") || !name.ends_with(suffix) || name.starts_with("ecps_slurm_")) continue;
      if (keep) {
        std::cerr << "kept " << e.path().string() << "\n";
        continue;
      }
      std::error_code rm;
      fs::remove_all(e.path(), rm);
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new TempDirCleanup);
  return RUN_ALL_TESTS();
}
