// util/mapped_input: a mapped input file that another process truncates ends ecps with a
// message naming the file (exit code 3) instead of a bare SIGBUS; other SIGBUS keep their
// default action. Each case runs in a forked child (gtest death tests) with real files.
#include "util/mapped_input.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "scheduler/shard_plan.h"
#include "tests/common/files.h"
#include "util/files.h"
#include "worker/csv_scan.h"

namespace ecps::util {
namespace {

namespace fs = std::filesystem;

class MappedInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "fast");  // forked child: it sees the parent's dir_
    dir_ = testing::FreshDir("mapped");
    page_ = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A CSV file of `pages` pages of 16-byte records "0000000012,abcd\n".
  std::string WriteCsv(const std::string& name, std::size_t pages) {
    const std::string path = (dir_ / name).string();
    std::ofstream f(path);
    for (std::size_t i = 0; i < pages * page_ / 16; ++i) {
      const std::string n = std::to_string(i);
      f << std::string(10 - n.size(), '0') << n << ",abcd\n";
    }
    return path;
  }

  fs::path dir_;
  std::size_t page_ = 4096;
};

// Maps `path`, truncates it to nothing, and reads its last page: the process must not get here.
[[noreturn]] void ReadAfterTruncate(const std::string& path, std::size_t size, std::size_t page) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  auto m = MappedInput::Map(fd, size, 0, path);
  ::close(fd);
  if (!m.ok()) std::_Exit(10);
  if (m->data()[0] != '0') std::_Exit(11);
  if (::truncate(path.c_str(), 0) != 0) std::_Exit(12);
  volatile char c = m->data()[size - page];
  (void)c;
  std::_Exit(13);
}

TEST_F(MappedInputTest, ReadingPastAFileTruncatedWhileMappedNamesTheFileAndExitsWith3) {
  const std::string path = WriteCsv("clicks.csv", 3);
  EXPECT_EXIT(ReadAfterTruncate(path, 3 * page_, page_), ::testing::ExitedWithCode(3),
              "ecps: error: .*clicks.csv: the file shrank while ecps was reading it");
}

TEST_F(MappedInputTest, TheTemporaryFilesOfUnfinishedOutputsAreRemoved) {
  const std::string path = WriteCsv("clicks.csv", 3);
  const fs::path out = dir_ / "scores.csv";
  EXPECT_EXIT(
      {
        auto w = AtomicWriter::Open(out.string());
        if (!w.ok() || !(*w)->Write("half of a file\n").ok()) std::_Exit(10);
        ReadAfterTruncate(path, 3 * page_, page_);
      },
      ::testing::ExitedWithCode(3), "the file shrank");
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir_)) left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"clicks.csv"}) << "no .scores.csv.tmp* and no scores.csv";
}

// Reads the CSV records of `path` with CsvFields, truncating the file after the first one.
[[noreturn]] void ReadCsvAfterTruncate(const std::string& path, std::uint64_t size) {
  const sched::FileRange range{path, 0, size};
  auto csv = worker::CsvFields::Open(range, ',');
  if (!csv.ok()) std::_Exit(10);
  std::vector<std::string_view> fields;
  if (!(*csv)->Next(&fields).ok()) std::_Exit(11);
  if (::truncate(path.c_str(), 0) != 0) std::_Exit(12);
  while (true) {
    auto more = (*csv)->Next(&fields);
    if (!more.ok() || !*more) std::_Exit(13);
  }
}

TEST_F(MappedInputTest, CsvFieldsOverATruncatedFileNamesIt) {
  const std::string path = WriteCsv("users.csv", 4);
  EXPECT_EXIT(ReadCsvAfterTruncate(path, 4 * page_), ::testing::ExitedWithCode(3),
              "users.csv: the file shrank while ecps was reading it");
}

// Maps `mine` (installing the handler), maps and releases `other`, then reads `other` through
// a mapping of its own after truncating it.
[[noreturn]] void UnregisteredSigbus(const std::string& mine, const std::string& other, std::size_t page) {
  const int fd = ::open(mine.c_str(), O_RDONLY);
  auto registered = MappedInput::Map(fd, 2 * page, 0, mine);
  ::close(fd);
  if (!registered.ok()) std::_Exit(10);
  {
    const int fd2 = ::open(other.c_str(), O_RDONLY);
    auto gone = MappedInput::Map(fd2, 2 * page, 0, other);
    ::close(fd2);
    if (!gone.ok()) std::_Exit(11);
  }
  const int fd3 = ::open(other.c_str(), O_RDONLY);
  void* raw = ::mmap(nullptr, 2 * page, PROT_READ, MAP_PRIVATE, fd3, 0);
  ::close(fd3);
  if (raw == MAP_FAILED) std::_Exit(12);
  if (::truncate(other.c_str(), 0) != 0) std::_Exit(13);
  volatile char c = static_cast<const char*>(raw)[page];
  (void)c;
  std::_Exit(14);
}

TEST_F(MappedInputTest, ASigbusElsewhereKeepsItsDefaultAction) {
  const std::string mine = WriteCsv("clicks.csv", 2);
  const std::string other = WriteCsv("other.bin", 2);
  EXPECT_EXIT(UnregisteredSigbus(mine, other, page_), ::testing::KilledBySignal(SIGBUS), "");
}

TEST_F(MappedInputTest, MovesKeepOneOwnerAndAFailedMapNamesTheFile) {
  const std::string path = WriteCsv("clicks.csv", 1);
  const int fd = ::open(path.c_str(), O_RDONLY);
  auto m = MappedInput::Map(fd, page_, 0, path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  MappedInput a = std::move(m).value();
  MappedInput b = std::move(a);
  EXPECT_EQ(a.data(), nullptr);
  ASSERT_NE(b.data(), nullptr);
  EXPECT_EQ(std::string(b.data(), 11), "0000000000,");
  EXPECT_EQ(b.size(), page_);
  auto bad = MappedInput::Map(fd, page_, 1, path);  // offset not on a page
  ::close(fd);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kIoError);
  EXPECT_NE(bad.status().message().find("clicks.csv: cannot map"), std::string::npos);
}

}  // namespace
}  // namespace ecps::util
