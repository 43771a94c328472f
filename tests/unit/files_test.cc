#include "util/files.h"

#include <filesystem>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "tests/common/files.h"
#include "util/crc32.h"
#include "util/output_folder.h"

namespace ecps::util {
namespace {
namespace fs = std::filesystem;

TEST(Output, AtomicWriterLeavesNothingHalfWritten) {
  auto dir = testing::FreshDir("files");
  const std::string path = (dir / "out.csv").string();
  {
    auto w = AtomicWriter::Open(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("a,b\n").ok());
    EXPECT_FALSE(fs::exists(path)) << "visible before commit";
  }  // dropped without commit: nothing left
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 0);
  ASSERT_TRUE(WriteFileAtomic(path, "x\n").ok());
  auto crc = FileCrc32(path);
  ASSERT_TRUE(crc.ok());
  EXPECT_EQ(crc->first, Crc32("x\n"));
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);  // the standard check value
  EXPECT_EQ(PrepareOutputDir("/proc/ecps_cannot").code(), StatusCode::kIoError);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ecps::util
