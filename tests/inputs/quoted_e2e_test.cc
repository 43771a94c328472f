// Quoted CSV fields holding commas, doubled quotes and line breaks (RFC 4180) through the ecps
// binary: `train lr` / `linreg` + `predict` and `train itemcf` on quoted files give what the
// same data without quotes gives (the unquoted file has the same byte offsets, so the same
// example ids), under --local and under mpirun with 2 and 3 workers whose byte ranges are cut
// inside quoted line breaks; an unterminated quote is refused at the line where it opened.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/common/files.h"
#include "tests/common/run_ecps.h"

namespace ecps::testing {
namespace {

namespace fs = std::filesystem;

// Sessions: id, browser (categorical), note (ignored; quoted with commas, quotes and line
// breaks), pages (sometimes quoted), amount (sometimes empty), clicked. `plain` holds the
// same rows with every quoted field replaced by as many bytes without quotes.
struct Sessions {
  std::string quoted, plain;
  std::vector<std::uint64_t> record_lines;  // the line where each data row starts (quoted)
};

Sessions MakeSessions(int rows) {
  std::mt19937_64 rng(5);
  Sessions s;
  s.quoted = s.plain = "id,browser,note,pages,amount,clicked\n";
  const char* browsers[] = {"chrome", "firefox", "safari", "edge"};
  std::uint64_t line = 2;
  for (int i = 0; i < rows; ++i) {
    const int b = static_cast<int>(rng() % 4);
    const int pages = static_cast<int>(rng() % 41);
    const std::string amount =
        rng() % 10 == 0 ? "" : fmt::format("{:.2f}", static_cast<double>(rng() % 10000) / 80.0 - 5.0);
    const int y = static_cast<double>(rng() % 1000) / 1000.0 < 0.1 + pages / 100.0 + (b == 2 ? 0.2 : 0.0);
    // Most of a record's bytes are inside the quoted note: a byte range cut lands there.
    std::string note = fmt::format("\"visit {}, said \"\"hi\"\",\nthen {}\n", i, std::string(rng() % 40 + 20, 'x'));
    if (i % 3 == 0) note += "and, more\r\n";
    note += "\"";
    const bool quote_pages = i % 4 == 0;
    s.quoted += fmt::format("s{:04d},\"{}\",{},{},{},{}\n", i, browsers[b], note,
                            quote_pages ? fmt::format("\"{}\"", pages) : std::to_string(pages), amount, y);
    s.plain += fmt::format("s{:04d}, {} ,{},{},{},{}\n", i, browsers[b], std::string(note.size(), 'z'),
                           quote_pages ? fmt::format(" {} ", pages) : std::to_string(pages), amount, y);
    s.record_lines.push_back(line);
    line += 1 + static_cast<std::uint64_t>(std::count(note.begin(), note.end(), '\n'));
  }
  return s;
}

class QuotedE2e : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = FreshDir("quoted_e2e"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string P(const std::string& name) const { return "'" + (dir_ / name).string() + "'"; }
  std::string Ecps(const std::string& args) {
    std::string out;
    const auto r = RunEcps(args, &out);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
    return out;
  }
  fs::path dir_;
};

// The weights of weights.csv (feature,key,weight) by key.
std::map<std::string, double> Weights(const std::string& csv) {
  std::map<std::string, double> w;
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    const auto last = line.rfind(','), key = line.rfind(',', last - 1);
    w[line.substr(key + 1, last - key - 1)] = std::stod(line.substr(last + 1));
  }
  return w;
}

// The integer after "key": in a metrics.json text (-1 when missing).
long Number(const std::string& json, const std::string& key) {
  const auto at = json.find("\"" + key + "\": ");
  return at == std::string::npos ? -1 : std::stol(json.substr(at + key.size() + 4));
}

constexpr const char* kLr = "--format csv --label-column clicked --ignore-columns note --hash-bits 10 -q ";

TEST_F(QuotedE2e, LrAndLinRegOnQuotedFieldsEqualTheUnquotedData) {
  const Sessions s = MakeSessions(400);
  ASSERT_EQ(s.quoted.size(), s.plain.size());
  WriteBytes(dir_ / "q.csv", s.quoted);
  WriteBytes(dir_ / "p.csv", s.plain);
  Ecps(fmt::format("train lr --local --train {} {} --out {}", P("q.csv"), kLr, P("lr_q")));
  Ecps(fmt::format("train lr --local --train {} {} --out {}", P("p.csv"), kLr, P("lr_p")));
  const std::string model = ReadBytes(dir_ / "lr_p" / "model.bin");
  ASSERT_FALSE(model.empty());
  EXPECT_TRUE(ReadBytes(dir_ / "lr_q" / "model.bin") == model);
  const std::string pq = Ecps("predict --model " + P("lr_q") + " --data " + P("q.csv") + " --id-column id --out -");
  const std::string pp = Ecps("predict --model " + P("lr_p") + " --data " + P("p.csv") + " --id-column id --out -");
  EXPECT_EQ(pq, pp);
  EXPECT_EQ(pq.rfind("id,probability\ns0000,", 0), 0u) << pq.substr(0, 100);
  // Line ids: the line where each record starts.
  const std::string lines = Ecps("predict --model " + P("lr_q") + " --data " + P("q.csv") + " --out -");
  EXPECT_NE(lines.find(fmt::format("\n{},", s.record_lines[1])), std::string::npos) << lines.substr(0, 200);
  EXPECT_NE(lines.find(fmt::format("\n{},", s.record_lines.back())), std::string::npos);

  const std::string lin = "--format csv --label-column pages --ignore-columns note,clicked -q ";
  Ecps(fmt::format("train linreg --local --train {} {} --out {}", P("q.csv"), lin, P("lin_q")));
  Ecps(fmt::format("train linreg --local --train {} {} --out {}", P("p.csv"), lin, P("lin_p")));
  EXPECT_TRUE(ReadBytes(dir_ / "lin_q" / "model.bin") == ReadBytes(dir_ / "lin_p" / "model.bin"));
  EXPECT_EQ(Ecps("predict --model " + P("lin_q") + " --data " + P("q.csv") + " --id-column id --out -"),
            Ecps("predict --model " + P("lin_p") + " --data " + P("p.csv") + " --id-column id --out -"));
}

// 2 and 3 workers (mpirun -np 4 and 5 with one server): each worker's byte range starts inside
// a quoted line break; the model is the one of the unquoted file with as many workers.
TEST_F(QuotedE2e, UnderMpirunWorkersCutInsideQuotedLineBreaks) {
  const Sessions s = MakeSessions(300);
  WriteBytes(dir_ / "q.csv", s.quoted);
  WriteBytes(dir_ / "p.csv", s.plain);
  for (int workers : {2, 3}) {
    SCOPED_TRACE(fmt::format("{} workers", workers));
    for (int w = 1; w < workers; ++w) {  // the cut lies between a quoted line break and its close
      const std::size_t cut = s.quoted.size() * static_cast<std::size_t>(w) / static_cast<std::size_t>(workers);
      const std::size_t open = s.quoted.rfind(",\"visit", cut), close = s.quoted.find("\"\n", open + 2);
      ASSERT_LT(s.quoted.find('\n', open), cut);
      ASSERT_GT(close, cut);
    }
    const std::string out = fmt::format("mpi{}", workers);
    const std::string cmd = fmt::format(
        "OMPI_MCA_pml=ob1 timeout 180 mpirun --allow-run-as-root --oversubscribe -np {} {} train lr --servers 1 "
        "--train {} {} --out {} 2> {}",
        workers + 2, ECPS_BINARY, P("q.csv"), kLr, P(out), P(out + ".err"));
    ASSERT_EQ(std::system(cmd.c_str()), 0) << ReadBytes(dir_ / (out + ".err"));
    Ecps(fmt::format("train lr --local --servers 1 --workers {} --train {} {} --out {}", workers, P("p.csv"), kLr,
                     P(out + "_plain")));
    const auto mpi = Weights(ReadBytes(dir_ / out / "weights.csv"));
    const auto plain = Weights(ReadBytes(dir_ / (out + "_plain") / "weights.csv"));
    ASSERT_EQ(mpi.size(), plain.size());
    ASSERT_GT(plain.size(), 3u);
    for (const auto& [key, w] : plain) EXPECT_NEAR(mpi.at(key), w, 1e-5) << key;
    const std::string metrics = ReadBytes(dir_ / out / "metrics.json");
    EXPECT_EQ(Number(metrics, "train_rows") + Number(metrics, "eval_rows"), 300) << metrics;
  }
}

TEST_F(QuotedE2e, UnterminatedQuoteIsRefusedAtItsLine) {
  const Sessions s = MakeSessions(20);
  WriteBytes(dir_ / "bad.csv", s.quoted + "s9999,\"edge\",\"never closed,\n1,2,3\n");
  const auto r = RunEcps(fmt::format("train lr --local --train {} {} --out {}", P("bad.csv"), kLr, P("lr_bad")));
  EXPECT_NE(r.exit_code, 0);
  // The bad record starts on the line after the good records' last line.
  const auto line = 1 + std::count(s.quoted.begin(), s.quoted.end(), '\n');
  EXPECT_NE(r.err.find(fmt::format("bad.csv:{}: field 3: unterminated quote (the quoted field runs to the end "
                                   "of the file)",
                                   line)),
            std::string::npos)
      << r.err;
  // Interaction files alike.
  WriteBytes(dir_ / "bad_inter.csv", "user,item,rating\nu1,i1,4\n\"u2,\nx\",i2,5\nu3,\"i3,2\nu4,i4,1\n");
  const auto c = RunEcps(fmt::format("train itemcf --local -q --train {} --out {}", P("bad_inter.csv"), P("cf_bad")));
  EXPECT_NE(c.exit_code, 0);
  EXPECT_NE(c.err.find("bad_inter.csv:5: field 2: unterminated quote (the quoted field runs to the end of the file)"),
            std::string::npos)
      << c.err;
}

// Interactions whose user and item ids hold commas, doubled quotes and line breaks: the same
// recommendations and neighbours as the plain ids (each quoted id is its plain id with a
// common suffix, so the ids sort alike), written with the ids quoted.
TEST_F(QuotedE2e, ItemCfOnQuotedIdsEqualsThePlainIds) {
  std::mt19937_64 rng(9);
  std::string plain = "user,item,rating\n", quoted = plain;
  const auto qid = [](const std::string& id) { return id + ", \"q\"\nline 2"; };
  const auto field = [](const std::string& id) {
    std::string f = "\"";
    for (char c : id) f += c == '"' ? std::string("\"\"") : std::string(1, c);
    return f + "\"";
  };
  for (int u = 0; u < 120; ++u) {
    for (int k = 0; k < 8; ++k) {
      const std::string user = fmt::format("u{:04d}", u), item = fmt::format("i{:03d}", (u % 7) * 5 + rng() % 12);
      const int rating = static_cast<int>(rng() % 5) + 1;
      plain += fmt::format("{},{},{}\n", user, item, rating);
      quoted += fmt::format("{},{},{}\n", field(qid(user)), field(qid(item)), rating);
    }
  }
  WriteBytes(dir_ / "p.csv", plain);
  WriteBytes(dir_ / "q.csv", quoted);
  const std::string cf = "train itemcf --local -q --seed 1 --columns user,item,rating ";
  Ecps(cf + "--train " + P("p.csv") + " --out " + P("cf_p"));
  Ecps(cf + "--train " + P("q.csv") + " --out " + P("cf_q"));
  for (const char* file : {"recommendations.csv", "neighbors.csv"}) {
    std::string got = ReadBytes(dir_ / "cf_q" / file);
    const std::string want = ReadBytes(dir_ / "cf_p" / file);
    ASSERT_FALSE(want.empty()) << file;
    EXPECT_NE(got.find(field(qid("i000"))), std::string::npos) << file << ": ids are written quoted";
    for (int u = 0; u < 120; ++u) {
      for (const std::string& id : {fmt::format("u{:04d}", u), fmt::format("i{:03d}", u)}) {
        for (std::size_t at = 0; (at = got.find(field(qid(id)), at)) != std::string::npos;) {
          got.replace(at, field(qid(id)).size(), id);
        }
      }
    }
    EXPECT_TRUE(got == want) << file << "\n" << got.substr(0, 300) << "\nvs\n" << want.substr(0, 300);
  }
}

}  // namespace
}  // namespace ecps::testing
