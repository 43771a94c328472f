// CsvFields (one pass over a mapped file) against LineReader's CSV records + SplitCsv, on
// tricky files cut into two ranges at every byte; the feature CSV parser's fast path against
// the values and errors of the general path.
#include "worker/csv_scan.h"

#include <gtest/gtest.h>

#include "tests/common/files.h"
#include "worker/csv.h"
#include "worker/feature_csv.h"
#include "worker/line_reader.h"

namespace ecps::worker {
namespace {

std::string Describe(std::uint64_t offset, bool blank,
                     const std::vector<std::string_view>& fields) {
  std::string s = std::to_string(offset) + (blank ? " blank" : "");
  for (auto f : fields) s += "|" + std::string(f);
  return s;
}

// Records of `range` as LineReader + SplitCsv give them; the first error ends the list.
std::vector<std::string> Reference(const sched::FileRange& range, char delim) {
  ReadOptions o;
  o.csv_records = true;
  o.delimiter = delim;
  auto r = LineReader::Open(range, o);
  EXPECT_TRUE(r.ok());
  std::vector<std::string> out;
  std::string_view line;
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;
  while (true) {
    auto more = (*r)->Next(&line);
    EXPECT_TRUE(more.ok());
    if (!*more) break;
    if (Trim(line).empty()) {
      out.push_back(Describe((*r)->offset(), true, {}));
      continue;
    }
    Status s = SplitCsv(line, delim, &fields, &scratch);
    if (!s.ok()) {
      out.push_back(s.WithContext((*r)->Where()).message());
      break;
    }
    out.push_back(Describe((*r)->offset(), false, fields));
  }
  return out;
}

std::vector<std::string> Scanned(const sched::FileRange& range, char delim) {
  auto r = CsvFields::Open(range, delim);
  EXPECT_TRUE(r.ok());
  std::vector<std::string> out;
  std::vector<std::string_view> fields;
  while (true) {
    auto more = (*r)->Next(&fields);
    if (!more.ok()) {
      out.push_back(more.status().WithContext((*r)->Where()).message());
      break;
    }
    if (!*more) break;
    out.push_back(Describe((*r)->offset(), (*r)->blank(), fields));
  }
  return out;
}

TEST(CsvFields, SameRecordsFieldsAndErrorsAsLineReaderAndSplitCsvAtEveryCut) {
  const std::vector<std::string> files = {
      "id,a,b\nu1,1,2\nu2,\"x,y\",3\n",
      "id,a\r\nu1,\"say \"\"hi\"\"\"\r\n\r\n  \t\nu2,\"two\nlines\"\r\nu3,4",
      "a,b,\n,,\n\"\",\"\"\"\"\n\"q\",x\"y\nlast,\"\"\"",
      "a,b\n\"open,1\n2,3\n",             // a quote closed by a later record's quote
      "a,b\n\"x\"y,1\n",                  // text after the closing quote
      "a,b\n1,\"never closed\n",          // runs to the end of the file
      "a,b\n1,\"never closed",            // on its line
      "h\n\"\"\"\"\n\"a\"\"\"\n\r\n\r",   // doubled quotes at the edges, lone \r at the end
      "x\ty\n1\t\"a\tb\"\n\"c\"\t2\r\n",  // tab
      "",
      "\n\n",
  };
  const auto dir = testing::FreshDir("csv_scan");
  for (const auto& content : files) {
    const char delim = content.find('\t') != std::string::npos ? '\t' : ',';
    const std::string path = (dir / "f.csv").string();
    testing::WriteBytes(path, content);
    EXPECT_EQ(Scanned({path, 0, UINT64_MAX}, delim), Reference({path, 0, UINT64_MAX}, delim))
        << content;
    for (std::uint64_t cut = 0; cut <= content.size(); ++cut) {
      EXPECT_EQ(Scanned({path, 0, cut}, delim), Reference({path, 0, cut}, delim))
          << content << " to " << cut;
      EXPECT_EQ(Scanned({path, cut, content.size()}, delim),
                Reference({path, cut, content.size()}, delim))
          << content << " from " << cut;
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(CsvFields, MissingFileIsNotFound) {
  auto r = CsvFields::Open({"/nonexistent/dir/x.csv", 0, UINT64_MAX}, ',');
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST(CsvFields, AFileShorterThanItsPlannedRangeIsAnError) {
  // A range planned from the file's size, opened after the file was cut: an error naming the
  // file, not fewer records.
  const auto path = std::filesystem::temp_directory_path() / ("ecps_scan_cut_" + std::to_string(::getpid()) + ".csv");
  std::ofstream(path) << "id,x\na,1\nb,2\n";
  auto r = CsvFields::Open({path.string(), 0, 100}, ',');
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_NE(r.status().message().find(path.string() + ": the file is now 13 bytes, and this part of it was planned "
                                                      "to end at byte 100"),
            std::string::npos)
      << r.status().message();
  EXPECT_TRUE(CsvFields::Open({path.string(), 0, 13}, ',').ok());
  std::filesystem::remove(path);
}

// Rows that the fast path takes and rows it hands to the general path give their values.
TEST(FeatureFastPath, ValuesOfEveryFormAndTheGeneralPathsErrors) {
  FeatureColumnsOptions o;
  o.id_column = "id";
  o.features = {"x", "c", "y"};
  o.one_hot = {"c=F|M"};
  o.label_column = "l";
  auto schema = FeatureSchema::Make(o);
  ASSERT_TRUE(schema.ok());
  auto header = CsvHeader::Parse("y,id,skip,c,l,x", ',', "f.csv");
  ASSERT_TRUE(header.ok());
  auto parser = FeatureRowParser::Bind(*schema, *header);
  ASSERT_TRUE(parser.ok());
  struct Case {
    std::string line, id;
    std::vector<double> x;  // x, c=F, c=M, y
    int label;
  };
  const std::vector<Case> ok = {
      {"2.5,u1,,F,1,-0.125", "u1", {-0.125, 1, 0, 2.5}, 1},
      {" 3 , u2 ,z,M ,0,1e2", "u2", {100, 0, 1, 3}, 0},
      {"+4,\"u,3\",\"q\"\"\",F,yes,\"7.5\"", "u,3", {7.5, 1, 0, 4}, 1},
      {"123456789012.3456,u4,,M,false,.5", "u4", {0.5, 0, 1, 123456789012.3456}, 0},
      {"-0,u5,,F,1,0.1", "u5", {0.1, 1, 0, -0.0}, 1},
  };
  std::vector<double> x(4);
  for (const auto& c : ok) {
    std::string_view id;
    int label = -1;
    Status s = parser->Parse(c.line, &id, x.data(), &label);
    ASSERT_TRUE(s.ok()) << c.line << ": " << s.ToString();
    EXPECT_EQ(id, c.id) << c.line;
    EXPECT_EQ(x, c.x) << c.line;
    EXPECT_EQ(label, c.label) << c.line;
  }
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"1,u1,,F,1", "expected 6 fields (as in the header), found 5"},
      {"1,u1,,F,1,2,3", "expected 6 fields (as in the header), found 7"},
      {"1,,,F,1,2", "column \"id\": empty user id"},
      {"1,u1,,X,1,2", "column \"c\": \"X\" is not one of the listed categories (F|M)"},
      {"1,u1,,F,2,2", "column \"l\": \"2\" is not a 0/1 label"},
      {"1,u1,,F,1,2x", "column \"x\": \"2x\" is not a finite number"},
      {"1,u1,,F,1,", "column \"x\": missing value"},
      {"1e16,u1,,F,1,2",
       "column \"y\": \"1e16\" is beyond the limit on data values (|x| <= 1e+15)"},
  };
  for (const auto& [line, message] : bad) {
    std::string_view id;
    int label = 0;
    Status s = parser->Parse(line, &id, x.data(), &label);
    EXPECT_EQ(s.code(), StatusCode::kDataError) << line;
    EXPECT_EQ(s.message(), message) << line;
  }
}

}  // namespace
}  // namespace ecps::worker
