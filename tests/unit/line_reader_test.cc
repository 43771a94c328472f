#include "worker/line_reader.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "scheduler/shard_plan.h"
#include "worker/csv.h"

namespace ecps::worker {
namespace {

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    path_ = (std::filesystem::temp_directory_path() /
             ("ecps_lr_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++) + ".txt"))
                .string();
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

std::vector<std::pair<std::string, std::uint64_t>> ReadAll(const sched::FileRange& r) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  auto reader = LineReader::Open(r);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  std::string_view line;
  while (true) {
    auto got = (*reader)->Next(&line);
    EXPECT_TRUE(got.ok());
    if (!*got) break;
    out.emplace_back(std::string(line), (*reader)->LineNumber());
  }
  return out;
}

TEST(LineReader, CrLfAndMissingFinalNewline) {
  TempFile f("a,b\r\nc\n\nlast");
  auto lines = ReadAll({f.path(), 0, UINT64_MAX});
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].first, "a,b");
  EXPECT_EQ(lines[1].first, "c");
  EXPECT_EQ(lines[2].first, "");
  EXPECT_EQ(lines[3].first, "last");
  EXPECT_EQ(lines[3].second, 4u);
}

TEST(LineReader, MissingFileNamesPath) {
  auto r = LineReader::OpenFile("/nonexistent/ecps.txt");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/ecps.txt"), std::string::npos);
}

// Every line is read exactly once, with its true line number, for 1..8 workers, whatever the
// line lengths (including lines longer than the reader's buffer).
TEST(LineReader, ByteRangesGiveEveryLineToExactlyOneReader) {
  std::mt19937 rng(7);
  std::string content;
  std::vector<std::string> expected;
  for (int i = 0; i < 3000; ++i) {
    std::size_t len = rng() % 40;
    if (i == 1234) len = (5 << 20) + 17;  // longer than the 1 MiB buffer
    std::string line = "L" + std::to_string(i) + std::string(len, 'x');
    expected.push_back(line);
    content += line + (i % 7 == 0 ? "\r\n" : "\n");
  }
  TempFile f(content);
  for (int workers = 1; workers <= 8; ++workers) {
    auto plan = sched::PlanFiles({f.path()}, workers);
    ASSERT_TRUE(plan.ok());
    std::vector<int> seen(expected.size(), 0);
    for (int w = 0; w < workers; ++w) {
      for (const auto& range : plan->file_ranges[static_cast<std::size_t>(w)]) {
        for (const auto& [line, number] : ReadAll(range)) {
          ASSERT_GE(number, 1u);
          ASSERT_LE(number, expected.size());
          EXPECT_EQ(line, expected[number - 1]) << "workers=" << workers;
          ++seen[number - 1];
        }
      }
    }
    for (std::size_t i = 0; i < seen.size(); ++i) {
      ASSERT_EQ(seen[i], 1) << "line " << i + 1 << " read " << seen[i] << " times with " << workers << " workers";
    }
  }
}

TEST(LineReader, AFileCutWhileItIsReadIsAnErrorNamingIt) {
  // More lines than one buffer holds, so that the reader reads again after the cut.
  std::string content;
  for (int i = 0; i < 200000; ++i) content += fmt::format("{},row\n", i);
  TempFile f(content);
  const std::uint64_t size = content.size();
  auto reader = LineReader::Open({f.path(), 0, size});
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  std::string_view line;
  ASSERT_TRUE(*(*reader)->Next(&line));
  EXPECT_EQ(line, "0,row");
  std::filesystem::resize_file(f.path(), size / 2);
  Status s;
  std::uint64_t lines = 1;
  while (true) {
    auto got = (*reader)->Next(&line);
    if (!got.ok()) {
      s = got.status();
      break;
    }
    if (!*got) break;
    ++lines;
  }
  EXPECT_EQ(s.code(), StatusCode::kIoError) << "read " << lines << " lines without an error";
  EXPECT_NE(s.message().find(f.path() + ": the file is now " + std::to_string(size / 2) +
                             " bytes, and this part of it was planned to end at byte " + std::to_string(size)),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("shrank while ecps was reading it"), std::string::npos);

  // A range that ends where the file now ends reads to the end without an error; so does the
  // whole file (no planned end).
  EXPECT_EQ(ReadAll({f.path(), 0, size / 2}).size(), ReadAll({f.path(), 0, UINT64_MAX}).size());
  // A reader opened after the cut, on a range planned before it, gets the error too.
  auto late = LineReader::Open({f.path(), size * 3 / 4, size});
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), StatusCode::kIoError);
  EXPECT_NE(late.status().message().find("shrank"), std::string::npos) << late.status().message();
}

TEST(LineReader, FirstLine) {
  TempFile f("user,age\r\n1,2\n");
  auto h = ReadFirstLine(f.path());
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, "user,age");
  TempFile empty("");
  EXPECT_EQ(ReadFirstLine(empty.path()).status().code(), StatusCode::kDataError);
}

// CSV records whose quoted fields span lines (csv_records), split among readers by byte
// ranges and pieces; numbers parsed as std::from_chars parses them.

ReadOptions Records(char delim = ',') {
  ReadOptions o;
  o.csv_records = true;
  o.delimiter = delim;
  return o;
}

struct Rec {
  std::string text;
  std::uint64_t line;
};

std::vector<Rec> ReadRecords(const sched::FileRange& r, const ReadOptions& o) {
  std::vector<Rec> out;
  auto reader = LineReader::Open(r, o);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return out;
  std::string_view rec;
  while (true) {
    auto got = (*reader)->Next(&rec);
    EXPECT_TRUE(got.ok());
    if (!got.ok() || !*got) break;
    out.push_back({std::string(rec), (*reader)->LineNumber()});
  }
  return out;
}

TEST(CsvRecords, QuotedLineBreaksStayInTheirRecord) {
  TempFile f("id,note\r\n1,\"two\nlines\"\r\n2,\"say \"\"hi\"\",\nthen, \"\"bye\"\"\"\n3,5\" screen\n4,\"a\"\n");
  const auto recs = ReadRecords({f.path(), 0, UINT64_MAX}, Records());
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[1].text, "1,\"two\nlines\"");
  EXPECT_EQ(recs[1].line, 2u);
  EXPECT_EQ(recs[2].text, "2,\"say \"\"hi\"\",\nthen, \"\"bye\"\"\"");
  EXPECT_EQ(recs[2].line, 4u);
  EXPECT_EQ(recs[3].text, "3,5\" screen");  // a quote inside an unquoted field is text
  EXPECT_EQ(recs[3].line, 6u);
  EXPECT_EQ(recs[4].line, 7u);
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;
  ASSERT_TRUE(SplitCsv(recs[2].text, ',', &fields, &scratch).ok());
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[1], "say \"hi\",\nthen, \"bye\"");
  // Read as lines, the same file keeps refusing the line break inside quotes.
  const auto lines = ReadRecords({f.path(), 0, UINT64_MAX}, {});
  Status s = SplitCsv(lines[1].text, ',', &fields, &scratch);
  EXPECT_NE(s.message().find("field 2: unterminated quote (a quoted field must close on its line"),
            std::string::npos)
      << s.message();
}

TEST(CsvRecords, UnterminatedQuoteRunsToTheEndAtItsFirstLine) {
  TempFile f("id,note\n1,ok\n2,\"open\n3,x\n4,y\n");
  const auto recs = ReadRecords({f.path(), 0, UINT64_MAX}, Records());
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[2].line, 3u);
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;
  Status s = SplitCsv(recs[2].text, ',', &fields, &scratch);
  EXPECT_EQ(s.message(), "field 2: unterminated quote (the quoted field runs to the end of the file)");
}

// A quote left open after a quoted field with line breaks: the message says how far below the
// record's first line it opened.
TEST(CsvRecords, UnterminatedQuoteBelowTheRecordsFirstLine) {
  TempFile f("id,note,more\n1,\"a\nb, c\",\"open\n2,x,y\n");
  const auto recs = ReadRecords({f.path(), 0, UINT64_MAX}, Records());
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].line, 2u);
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;
  Status s = SplitCsv(recs[1].text, ',', &fields, &scratch);
  EXPECT_EQ(s.message(),
            "field 3: unterminated quote opened 1 line below the record's first (the quoted field runs to "
            "the end of the file)");
}

TEST(CsvRecords, DoubleColonSeparator) {
  TempFile f("1::\"a::b\nc\"::3\n2::x::4\n");
  const auto recs = ReadRecords({f.path(), 0, UINT64_MAX}, Records(kDoubleColon));
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].text, "1::\"a::b\nc\"::3");
  EXPECT_EQ(recs[1].line, 3u);
}

// A file of records, some spanning lines (and some longer than the reader's buffer), split
// into 1..6 byte ranges and into pieces: every record is read exactly once, whole, with the
// line where it starts.
TEST(CsvRecords, ByteRangesAndPiecesGiveEveryRecordToExactlyOneReader) {
  std::mt19937 rng(11);
  std::string content;
  std::vector<Rec> expected;
  std::uint64_t line = 1;
  for (int i = 0; i < 2000; ++i) {
    std::string rec = fmt::format("r{},", i);
    const unsigned kind = rng() % 6;
    if (kind == 0) rec += "\"multi\nline, \"\"quoted\"\"\n\"";
    if (kind == 1) rec += "\"one line, \"\"quoted\"\"\"";
    if (kind == 2) rec += "5\" plain";
    if (i == 777) rec += "\"" + std::string((4 << 20) + 9, 'q') + "\nend\"";
    rec += "," + std::string(rng() % 30, 'x');
    expected.push_back({rec, line});
    line += 1 + static_cast<std::uint64_t>(std::count(rec.begin(), rec.end(), '\n'));
    content += rec + (i % 5 == 0 ? "\r\n" : "\n");
  }
  TempFile f(content);
  auto check = [&](const std::vector<sched::FileRange>& ranges, const ReadOptions& o, const std::string& what) {
    std::vector<int> seen(expected.size(), 0);
    std::uint64_t last_line = 0;
    for (const auto& range : ranges) {
      for (const auto& r : ReadRecords(range, o)) {
        const auto at = std::find_if(expected.begin(), expected.end(), [&](const Rec& e) { return e.line == r.line; });
        ASSERT_NE(at, expected.end()) << what << ": no record starts at line " << r.line;
        EXPECT_EQ(r.text, at->text) << what;
        EXPECT_GT(r.line, last_line) << what << ": out of order";
        last_line = r.line;
        ++seen[static_cast<std::size_t>(at - expected.begin())];
      }
    }
    for (std::size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], 1) << what << ": record " << i;
  };
  for (int workers = 1; workers <= 6; ++workers) {
    auto plan = sched::PlanFiles({f.path()}, workers);
    ASSERT_TRUE(plan.ok());
    std::vector<sched::FileRange> ranges;
    for (const auto& w : plan->file_ranges) ranges.insert(ranges.end(), w.begin(), w.end());
    check(ranges, Records(), fmt::format("{} workers", workers));
    // Each worker's ranges cut into pieces at record starts, read without a scan.
    std::vector<sched::FileRange> pieces;
    for (const auto& range : ranges) {
      auto cut = CutIntoPieces(range, 1000 + 7919 * static_cast<std::uint64_t>(workers), Records());
      ASSERT_TRUE(cut.ok()) << cut.status().ToString();
      pieces.insert(pieces.end(), cut->begin(), cut->end());
    }
    ReadOptions piece = Records();
    piece.begin_is_record = true;
    check(pieces, piece, fmt::format("pieces of {} workers", workers));
  }
}

// Quotes only in the second half: the cuts before the first quote are found from byte offsets
// (no record scan), the rest by following records; every piece starts at a record.
TEST(CsvRecords, PiecesBeforeAndAfterTheFirstQuote) {
  std::string content = "id,note\n";
  std::vector<std::string> expected = {"id,note"};
  for (int i = 0; i < 3000; ++i) {
    std::string rec = fmt::format("r{},", i);
    if (i >= 1700 && i % 7 == 0) rec += "\"x\ny, \"\"z\"\"\"";
    rec += std::string(static_cast<std::size_t>(i % 23), 'p');
    expected.push_back(rec);
    content += rec + "\n";
  }
  TempFile f(content);
  for (std::uint64_t step : {1ull, 97ull, 4000ull, 1ull << 20}) {
    auto cut = CutIntoPieces({f.path(), 0, UINT64_MAX}, step, Records());
    ASSERT_TRUE(cut.ok()) << cut.status().ToString();
    ReadOptions piece = Records();
    piece.begin_is_record = true;
    std::vector<std::string> got;
    std::uint64_t prev_end = 0;
    for (const auto& r : *cut) {
      EXPECT_EQ(r.begin, prev_end) << step;
      prev_end = r.end;
      for (const auto& rec : ReadRecords(r, piece)) got.push_back(rec.text);
    }
    EXPECT_EQ(prev_end, content.size()) << step;
    EXPECT_EQ(got, expected) << step;
  }
  // The same through a reader that skips nothing: quote-free stretches use the fast path.
  std::vector<std::string> whole;
  for (const auto& rec : ReadRecords({f.path(), 0, UINT64_MAX}, Records())) whole.push_back(rec.text);
  EXPECT_EQ(whole, expected);
}

// The reference: what ParseDouble did before (std::from_chars, which rounds correctly).
std::optional<double> Reference(std::string_view s) {
  s = Trim(s);
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

void ExpectSame(const std::string& s) {
  const auto a = ParseDouble(s), b = Reference(s);
  ASSERT_EQ(a.has_value(), b.has_value()) << "\"" << s << "\"";
  if (a) {
    EXPECT_EQ(std::signbit(*a), std::signbit(*b)) << s;
    EXPECT_EQ(*a, *b) << "\"" << s << "\"";
  }
}

TEST(ParseDouble, SameBitsAsFromChars) {
  for (const char* s : {"0", "-0", "-0.00", "0.1", "0.3", "1.", ".5", "+1.5", " 2 ", "1e22", "1e23", "5e-324",
                        "2.4703282292062327e-324", "2.4703282292062328e-324", "1e-400", "0e-400", "1e400",
                        "1.7976931348623157e308", "1.7976931348623159e308", "9007199254740993",
                        "123456789012345", "1234567890123456", "0.000000000000001", "999999999999999.9",
                        "4.35", "8.05", "1.0000000000000002", "inf", "nan", "-", "", ".", "1e", "0x10",
                        "1,5", "12a", "--1", "00012.50"}) {
    ExpectSame(s);
  }
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-1e6, 1e6);
  for (int i = 0; i < 200000; ++i) {
    const double v = i % 2 ? u(rng) : std::ldexp(u(rng), static_cast<int>(rng() % 200) - 100);
    for (const char* f : {"{:.17g}", "{:.2f}", "{:.6f}", "{}", "{:.15g}", "{:.3e}"}) {
      ExpectSame(fmt::format(fmt::runtime(f), v));
      if (HasFailure()) return;
    }
  }
}

}  // namespace
}  // namespace ecps::worker
