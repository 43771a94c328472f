// `ecps serve` as a user runs it: models trained in the test with the real binary, the server
// started on port 0 as a child process, real HTTP requests (a Beast client, raw sockets for
// the broken ones), every answer compared with predict/segment/recommend/similar to the last
// printed digit; bad requests leave it answering; SIGTERM drains and exits 0.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/common/background.h"
#include "tests/common/run_ecps.h"
#include "tests/serve/serve_client.h"

namespace ecps::testing {
namespace {

using nlohmann::json;

std::vector<std::string> Split(const std::string& line, char sep = ',') {
  std::vector<std::string> f;
  std::istringstream in(line);
  for (std::string x; std::getline(in, x, sep);) f.push_back(x);
  return f;
}

// A JSON object of a CSV row: numbers as JSON numbers, other text as strings.
json RowObject(const std::vector<std::string>& header, const std::vector<std::string>& row,
               const std::string& skip) {
  json o = json::object();
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == skip) continue;
    const json v = json::parse(row[i], nullptr, false);
    o[header[i]] = v.is_number() ? v : json(row[i]);
  }
  return o;
}

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir(fs::temp_directory_path(), fmt::format("ecps_serve_{}", getpid()));
    const std::string d = dir_.string();
    ASSERT_EQ(RunEcps(fmt::format("generate --out {}/data --users 300 --items 60 "
                                  "--impressions-per-user 6",
                                  d))
                  .exit_code,
              0);
    // A CTR table: the users' columns and a label.
    {
      const auto users = Lines(Slurp(dir_ / "data/users.csv"));
      std::ofstream out(dir_ / "ctr.csv");
      out << users[0] << ",clicked\n";
      for (std::size_t i = 1; i < users.size(); ++i) {
        out << users[i] << "," << (std::stod(Split(users[i])[3]) > 2.2 ? 1 : 0) << "\n";
      }
    }
    const std::vector<std::string> trains = {
        fmt::format("train lr --local -q --train {0}/ctr.csv --format csv --label-column clicked "
                    "--ignore-columns user_id --hash-bits 10 --out {0}/ctr",
                    d),
        fmt::format(
            "train lr --local -q --train {0}/data/impressions.libsvm --hash-bits 10 --out {0}/imp",
            d),
        fmt::format("train kmeans --local -q --data {0}/data/users.csv --id-column user_id "
                    "--features age,gender,purchase_frequency,rating --one-hot 'gender=F|M' --k 3 "
                    "--anomaly-scores --out {0}/seg",
                    d),
        fmt::format("train itemcf --local -q --train {0}/data/interactions.csv --out {0}/rec", d),
        fmt::format("train usercf --local -q --train {0}/data/interactions.csv --out {0}/urec", d),
        fmt::format("train linreg --local -q --train {0}/ctr.csv --format csv --label-column "
                    "avg_order_value --ignore-columns user_id,clicked --out {0}/lin",
                    d)};
    for (const auto& t : trains) {
      const EcpsRun r = RunEcps(t);
      ASSERT_EQ(r.exit_code, 0) << t << "\n" << r.err;
    }
    server_ = std::make_unique<Background>(
        fmt::format(
            "{0} serve --port 0 --threads 2 --read-timeout 1 --max-body 100000 --model ctr={1}/ctr "
            "--model imp={1}/imp --model seg={1}/seg --model rec={1}/rec --model urec={1}/urec "
            "--model lin={1}/lin --max-connections 64",
            ECPS_BINARY, d),
        dir_ / "serve.log");
    port_ = ListeningPort(*server_);
    ASSERT_NE(port_, 0);
    ASSERT_TRUE(server_->log().starts_with("listening on 127.0.0.1:"))
        << "the first line says the port: " << server_->log();
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  // The answers of `model` (lr or linreg) for the first `n` rows of ctr.csv, instances as
  // column objects (every column given; the model reads its own).
  void ExpectCtrMatchesPredict(std::size_t n, const std::string& model = "ctr") {
    const auto rows = Lines(Slurp(dir_ / "ctr.csv"));
    const auto header = Split(rows[0]);
    json body = {{"instances", json::array()}};
    {
      std::ofstream in(dir_ / "ctr_in.csv");
      for (std::size_t i = 0; i <= n; ++i) in << rows[i] << "\n";
    }
    for (std::size_t i = 1; i <= n; ++i)
      body["instances"].push_back(RowObject(header, Split(rows[i]), ""));
    const Answer a = Post(port_, fmt::format("/v1/models/{}:predict", model), body.dump());
    ASSERT_EQ(a.status, 200) << a.body;
    const auto cli = PredictScores(
        Capture(fmt::format("predict --model {0}/{1} --data {0}/ctr_in.csv --out -", dir_.string(),
                            model)),
        model == "lin" ? "prediction" : "probability", 2);
    const auto got = Matches(a.body, "([-+0-9.e]+)(?:, |\\])");
    ASSERT_EQ(cli.size(), n);
    EXPECT_EQ(got, cli) << a.body;
  }

  fs::path dir_;
  std::unique_ptr<Background> server_;
  int port_ = 0;
};

TEST_F(ServeTest, AnswersEqualTheCommandLineTools) {
  const std::string d = dir_.string();
  ExpectCtrMatchesPredict(40);
  ExpectCtrMatchesPredict(40, "lin");

  // libsvm lines, with and without a label.
  const auto imp = Lines(Slurp(dir_ / "data/impressions_test.libsvm"));
  json lines = json::array();
  std::string file;
  for (std::size_t i = 0; i < 30 && i < imp.size(); ++i) {
    const std::string line = i % 2 ? imp[i] : imp[i].substr(imp[i].find(' ') + 1);
    lines.push_back(line);
    file += line + "\n";
  }
  { std::ofstream(dir_ / "imp_in.libsvm") << file; }
  Answer a = Post(port_, "/v1/models/imp:predict", json{{"instances", lines}}.dump());
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(
      Matches(a.body, "([-+0-9.e]+)(?:, |\\])"),
      PredictScores(
          Capture(fmt::format("predict --model {0}/imp --data {0}/imp_in.libsvm --out -", d)),
          "probability", 1));

  // k-means: segment, distance, risk and anomaly of 30 users (:segment and :predict).
  const auto users = Lines(Slurp(dir_ / "data/users.csv"));
  const auto uh = Split(users[0]);
  json inst = json::array();
  std::string ufile = users[0] + "\n";
  for (std::size_t i = 1; i <= 30; ++i) {
    inst.push_back(RowObject(uh, Split(users[i]), ""));
    ufile += users[i] + "\n";
  }
  { std::ofstream(dir_ / "users_in.csv") << ufile; }
  std::vector<std::string> cli;
  for (const auto& l :
       Lines(Capture(fmt::format("segment --model {0}/seg --data {0}/users_in.csv --out -", d)))) {
    if (l.starts_with("id,")) continue;
    cli.push_back(l.substr(l.find(',') + 1));
  }
  ASSERT_EQ(cli.size(), 30u);
  for (const char* verb : {"segment", "predict"}) {
    a = Post(port_, fmt::format("/v1/models/seg:{}", verb), json{{"instances", inst}}.dump());
    ASSERT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(
        Matches(
            a.body,
            "\"segment\": ([0-9]+), \"distance\": ([^,]+), \"risk\": ([^,]+), \"anomaly\": ([01])"),
        cli);
  }

  // Recommendations and neighbours, known and unknown ids.
  auto csv_rows = [](const std::string& text) {
    auto l = Lines(text);
    if (!l.empty()) l.erase(l.begin());  // header
    return l;
  };
  for (const std::string user : {"u000001", "u000150", "u000300", "nobody"}) {
    for (int n : {1, 5, 20}) {
      a = Post(port_, "/v1/models/rec:recommend", json{{"user", user}, {"n", n}}.dump());
      ASSERT_EQ(a.status, 200) << a.body;
      EXPECT_EQ(
          Matches(a.body, "\"item\": \"([^\"]+)\", \"score\": ([^}]+)\\}"),
          csv_rows(Capture(fmt::format("recommend --model {}/rec --user {} -n {}", d, user, n))))
          << user << " " << n;
      EXPECT_EQ(a.body.find("\"fallback\": \"popularity\"") != std::string::npos, user == "nobody");
    }
  }
  for (const std::string item : {"i00001", "i00030", "i00060"}) {
    a = Post(port_, "/v1/models/rec:similar", json{{"item", item}, {"n", 7}}.dump());
    ASSERT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(Matches(a.body, "\"item\": \"([^\"]+)\", \"score\": ([^}]+)\\}"),
              csv_rows(Capture(fmt::format("similar --model {}/rec --item {} -n 7", d, item))));
  }

  // usercf: recommendations and a user's neighbours.
  for (const std::string user : {"u000002", "nobody"}) {
    a = Post(port_, "/v1/models/urec:recommend", json{{"user", user}, {"n", 6}}.dump());
    ASSERT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(Matches(a.body, "\"item\": \"([^\"]+)\", \"score\": ([^}]+)\\}"),
              csv_rows(Capture(fmt::format("recommend --model {}/urec --user {} -n 6", d, user))));
  }
  a = Post(port_, "/v1/models/urec:similar", json{{"user", "u000002"}, {"n", 5}}.dump());
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(Matches(a.body, "\"user\": \"([^\"]+)\", \"score\": ([^}]+)\\}"),
            csv_rows(Capture(fmt::format("similar --model {}/urec --user u000002 -n 5", d))));
  EXPECT_EQ(Post(port_, "/v1/models/urec:similar", json{{"item", "i00001"}}.dump()).status, 400);

  a = Http(port_, http::verb::get, "/v1/models");
  EXPECT_EQ(a.status, 200);
  const json models = json::parse(a.body);
  ASSERT_EQ(models["models"].size(), 6u);
  std::string kinds;
  for (const auto& m : models["models"]) {
    kinds += m["name"].get<std::string>() + "=" + m["kind"].get<std::string>() + " ";
  }
  EXPECT_EQ(kinds, "ctr=lr imp=lr lin=linreg rec=itemcf seg=kmeans urec=usercf ");
  a = Http(port_, http::verb::get, "/v1/models/seg");
  EXPECT_EQ(json::parse(a.body)["verbs"], "predict, segment");
  EXPECT_EQ(json::parse(a.body)["metrics"], json::parse(Slurp(dir_ / "seg/metrics.json")));
  a = Http(port_, http::verb::get, "/metrics");
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.body.find("ecps_serve_requests_total{endpoint=\"recommend\",code=\"200\"} 14\n"),
            std::string::npos)
      << a.body;
  EXPECT_NE(a.body.find("ecps_serve_models_loaded 6\n"), std::string::npos);

  // An itemcf model answers a list of items ("history") as `ecps recommend --history` does;
  // unknown ids come back under "unknown_history"; with none known, the popular items.
  for (const std::vector<std::string>& history :
       {std::vector<std::string>{"i00001", "i00030"}, {"i00060", "not-an-item", "i00002"}, {"nope"}}) {
    a = Post(port_, "/v1/models/rec:recommend", json{{"history", history}, {"n", 6}}.dump());
    ASSERT_EQ(a.status, 200) << a.body;
    std::string ids;
    for (const auto& h : history) ids += (ids.empty() ? "" : ",") + h;
    EXPECT_EQ(Matches(a.body, "\"item\": \"([^\"]+)\", \"score\": ([^}]+)\\}"),
              csv_rows(Capture(fmt::format("recommend --model {}/rec --history {} -n 6", d, ids))))
        << ids;
    const bool none_known = history.size() == 1;
    EXPECT_EQ(a.body.find("\"fallback\": \"popularity\"") != std::string::npos, none_known) << a.body;
    EXPECT_EQ(a.body.find("\"unknown_history\": [\"") != std::string::npos, history.size() != 2) << a.body;
  }
  a = Post(port_, "/v1/models/rec:recommend", json{{"history", {"i00060", "not-an-item"}}}.dump());
  EXPECT_NE(a.body.find("\"unknown_history\": [\"not-an-item\"]"), std::string::npos) << a.body;
}

TEST_F(ServeTest, BadRequestsGetErrorsAndTheServerKeepsAnswering) {
  struct Case {
    std::string target, body;
    int status;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"/v1/models/ctr:predict", "{\"instances\": [", 400, "malformed JSON"},
      {"/v1/models/ctr:predict", "", 400, "malformed JSON"},
      {"/v1/models/ctr:predict", "{\"instances\": [1e309]}", 400, "number overflow"},
      {"/v1/models/ctr:predict", "[1, 2]", 400, "the body must be a JSON object"},
      {"/v1/models/ctr:predict", "{\"instances\": 3}", 400, "\\\"instances\\\" must be an array"},
      {"/v1/models/ctr:predict", "{\"rows\": []}", 400, "\\\"instances\\\" is missing"},
      {"/v1/models/ctr:predict", "{\"instances\": [{\"age\": 3}]}", 400,
       "instances[0].purchase_frequency: missing"},
      {"/v1/models/ctr:predict", "{\"instances\": [\"1:1 2:1\"]}", 400,
       "instances[0]: this model was trained on CSV"},
      {"/v1/models/imp:predict", "{\"instances\": [{\"a\": 1}]}", 400,
       "instances[0]: this model was trained on libsvm"},
      {"/v1/models/imp:predict", "{\"instances\": [\"1:x\"]}", 400, "instances[0]: "},
      {"/v1/models/seg:segment",
       "{\"instances\": [{\"age\": 30, \"gender\": \"X\", \"purchase_frequency\": 1, "
       "\"rating\": 2}]}",
       400, "instances[0]: column \\\"gender\\\""},
      {"/v1/models/seg:recommend", "{}", 400, ":segment"},
      {"/v1/models/rec:recommend", "{\"user\": 7}", 400, "\\\"user\\\" must be a string"},
      {"/v1/models/rec:recommend", "{\"user\": \"u000001\", \"n\": 0}", 400,
       "\\\"n\\\" must be in"},
      {"/v1/models/rec:recommend", "{\"user\": \"u000001\", \"n\": \"5\"}", 400,
       "\\\"n\\\" must be an integer"},
      {"/v1/models/rec:recommend", "{\"history\": []}", 400, "\\\"history\\\" must be a non-empty array"},
      {"/v1/models/rec:recommend", "{\"history\": \"i00001\"}", 400, "\\\"history\\\" must be a non-empty array"},
      {"/v1/models/rec:recommend", "{\"history\": [\"i00001\", 3]}", 400, "holds a number: item ids are strings"},
      {"/v1/models/rec:recommend", "{\"history\": [\"i00001\"], \"user\": \"u\"}", 400, "not both"},
      {"/v1/models/urec:recommend", "{\"history\": [\"i00001\"]}", 400, "\\\"history\\\" needs an itemcf model"},
      {"/v1/models/rec:similar", "{}", 400, "\\\"item\\\" is missing"},
      {"/v1/models/rec:similar", "{\"item\": \"nope\"}", 404,
       "item \\\"nope\\\" is not in the model"},
      {"/v1/models/none:predict", "{}", 404, "model \\\"none\\\" is not served"},
      {"/v2/whatever", "{}", 404, "no such path"},
  };
  for (const auto& c : cases) {
    const Answer a = Post(port_, c.target, c.body);
    EXPECT_EQ(a.status, c.status) << c.target << " " << c.body << " -> " << a.body;
    EXPECT_NE(a.body.find(c.says), std::string::npos) << c.body << " -> " << a.body;
    EXPECT_TRUE(json::parse(a.body, nullptr, false).contains("error")) << a.body;
  }
  EXPECT_EQ(Http(port_, http::verb::get, "/v1/models/ctr:predict").status, 405);
  EXPECT_EQ(Http(port_, http::verb::delete_, "/healthz").status, 405);

  // A body over --max-body (100000): 413 as soon as the header says so.
  std::string big =
      "POST /v1/models/ctr:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n";
  EXPECT_NE(Raw(port_, big + std::string(1000, ' '), false).find("HTTP/1.1 413"),
            std::string::npos);
  // Garbage: 400 and the connection closed.
  EXPECT_NE(Raw(port_, "HELLO\x01 world\r\n\r\n", false).find("HTTP/1.1 400"), std::string::npos);
  // A client gone in the middle of a request (header, then body).
  Raw(port_, "POST /v1/models/ctr:predict HTTP/1.1\r\nHost: x\r\nContent-Len", true);
  Raw(port_, "POST /v1/models/ctr:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"inst",
      true);
  // A slow client (one byte, then nothing) is dropped after --read-timeout (1 s).
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(Raw(port_, "P", false), "");
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(waited, 0.5);
  EXPECT_LT(waited, 5.0);
  // 1000 random byte strings (fixed seed), each on its own connection, in batches of 100;
  // after each batch a good request gets its right answer.
  const std::string good_body =
      "{\"instances\": [{\"age\": 31, \"gender\": \"F\", \"purchase_frequency\": 2.5, "
      "\"rating\": 4.1}]}";
  const Answer good = Post(port_, "/v1/models/seg:segment", good_body);
  ASSERT_EQ(good.status, 200) << good.body;
  std::mt19937_64 rng(14);
  for (int batch = 0; batch < 10; ++batch) {
    for (int i = 0; i < 100; ++i) {
      std::string bytes(rng() % 200, '\0');
      for (auto& ch : bytes) ch = static_cast<char>(rng());
      if (i % 3 == 0) bytes = "POST /v1/models/ctr:predict HTTP/1.1\r\n" + bytes;
      Raw(port_, bytes, true);
    }
    const Answer again = Post(port_, "/v1/models/seg:segment", good_body);
    EXPECT_EQ(again.status, 200) << "after batch " << batch;
    EXPECT_EQ(again.body, good.body) << "after batch " << batch;
  }
  // Keep-alive and pipelining: three different requests written at once on one connection
  // are answered in their order.
  const std::string pipelined =
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /v1/models/seg:segment HTTP/1.1\r\nHost: x\r\nContent-Length: " +
      std::to_string(good_body.size()) + "\r\n\r\n" + good_body +
      "GET /v1/models/none HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const std::string three = Raw(port_, pipelined, false);
  EXPECT_EQ(Matches(three, "HTTP/1.1 ([0-9]+) "),
            (std::vector<std::string>{"200", "200", "404"}))
      << three;
  const std::size_t ok_at = three.find("{\"status\": \"ok\"}");
  const std::size_t seg_at = three.find(good.body);
  const std::size_t none_at = three.find("model \\\"none\\\" is not served");
  EXPECT_TRUE(ok_at < seg_at && seg_at < none_at && none_at != std::string::npos) << three;

  // --max-connections: a connection beyond the limit gets 503; once they close, answers come
  // again. A server of its own with a long read timeout, so that no idle connection is dropped
  // before the extra one arrives however slow the machine (connections are accepted in order).
  {
    Background limited(fmt::format("{} serve --port 0 --threads 1 --read-timeout 120 "
                                   "--max-connections 8 --model ctr={}/ctr",
                                   ECPS_BINARY, dir_.string()),
                       dir_ / "limited.log");
    const int port = ListeningPort(limited);
    ASSERT_NE(port, 0);
    net::io_context ioc;
    std::vector<tcp::socket> idle;
    for (int i = 0; i < 8; ++i) {
      idle.emplace_back(ioc);
      idle.back().connect({net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    }
    const Answer a = Http(port, http::verb::get, "/healthz");
    EXPECT_EQ(a.status, 503) << a.body;
    EXPECT_NE(a.body.find("--max-connections"), std::string::npos);
    idle.clear();
    int status = 0;
    for (int i = 0; i < 500 && (status = Http(port, http::verb::get, "/healthz").status) != 200; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(status, 200) << "answers did not come back after the idle connections closed";
  }

  // After all that, good requests still get the right answers.
  ExpectCtrMatchesPredict(5);
  EXPECT_EQ(Http(port_, http::verb::get, "/healthz").body, "{\"status\": \"ok\"}\n");
}

TEST_F(ServeTest, SigtermFinishesInFlightRequestsAndExitsZero) {
  // Requests in flight from 4 clients when SIGTERM comes: every one that got an answer got
  // a right one; the server exits 0 and then refuses connections.
  const std::string body = "{\"user\": \"u000001\", \"n\": 5}";
  const std::string expected = Post(port_, "/v1/models/rec:recommend", body).body;
  ASSERT_NE(expected.find("\"items\""), std::string::npos);
  std::atomic<int> answered{0}, wrong{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      while (!stop) {
        try {
          const Answer a = Post(port_, "/v1/models/rec:recommend", body);
          if (a.status == 200 && a.body == expected) {
            ++answered;
          } else {
            ++wrong;
          }
        } catch (const std::exception&) {
          // refused or closed before the request was read: the server is draining
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(kill(server_->pid(), SIGTERM), 0);
  const Ended e = server_->Wait(10);
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_TRUE(e.exited && e.code == 0) << e.Describe() << "\n" << server_->log();
  EXPECT_GT(answered.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_THROW(Http(port_, http::verb::get, "/healthz"), std::exception);
}

// The counters of reloads in /metrics: models swapped in, folders that failed.
std::pair<int, int> ReloadCounts(int port) {
  const std::string text = Http(port, http::verb::get, "/metrics").body;
  std::smatch ok, failed;
  if (!std::regex_search(text, ok, std::regex("\necps_serve_reloads_total ([0-9]+)\n")) ||
      !std::regex_search(text, failed, std::regex("\necps_serve_reload_failures_total ([0-9]+)\n")))
    return {-1, -1};
  return {std::stoi(ok[1].str()), std::stoi(failed[1].str())};
}

TEST_F(ServeTest, ReloadUnderLoadSwapsGoodModelsAndKeepsTheOldOneOnAFailure) {
  // A second server serves `live` from a folder that is replaced while 3 clients score one
  // instance in a loop: ctr2 (SIGHUP), a corrupt file (admin endpoint), a k-means model
  // (SIGHUP), ctr again (admin endpoint). Every request gets 200 and one of the two models'
  // answers; after each reload the answer is the new model's (or still the old one's).
  const std::string d = dir_.string();
  const EcpsRun r = RunEcps(fmt::format(
      "train lr --local -q --train {0}/ctr.csv --format csv --label-column clicked "
      "--ignore-columns user_id,age --hash-bits 10 --out {0}/ctr2",
      d));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto put = [&](const std::string& from) {
    fs::remove_all(dir_ / "live");
    fs::copy(dir_ / from, dir_ / "live", fs::copy_options::recursive);
  };
  put("ctr");
  Background server(
      fmt::format("{0} serve --port 0 --threads 2 --model live={1}/live", ECPS_BINARY, d),
      dir_ / "serve2.log");
  const int port = ListeningPort(server);
  ASSERT_NE(port, 0);

  const auto rows = Lines(Slurp(dir_ / "ctr.csv"));
  const std::string body =
      json{{"instances", {RowObject(Split(rows[0]), Split(rows[1]), "")}}}.dump();
  const auto live = [&] { return Post(port, "/v1/models/live:predict", body).body; };
  const std::string a = live();
  ASSERT_EQ(a, Post(port_, "/v1/models/ctr:predict", body).body) << "live serves ctr's copy";
  ASSERT_NE(a.find("\"predictions\""), std::string::npos) << a;
  std::atomic<int> answered{0}, failed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c) {
    clients.emplace_back([&] {
      while (!stop) {
        try {
          const Answer x = Post(port, "/v1/models/live:predict", body);
          x.status == 200 ? ++answered : ++failed;
        } catch (const std::exception&) {
          ++failed;
        }
      }
    });
  }
  // One reload by SIGHUP or the admin endpoint; waits for the counters to move.
  const auto reload = [&](bool by_signal) {
    const auto before = ReloadCounts(port);
    if (by_signal) {
      EXPECT_EQ(kill(server.pid(), SIGHUP), 0);
    } else {
      const Answer x = Post(port, "/v1/admin/reload", "");
      EXPECT_EQ(x.status, 200) << x.body;
    }
    for (int i = 0; i < 200 && ReloadCounts(port) == before; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // load between reloads
    return ReloadCounts(port);
  };
  const auto version = [&] {
    return json::parse(Http(port, http::verb::get, "/v1/models/live").body)["version"].get<int>();
  };
  EXPECT_EQ(version(), 1);

  put("ctr2");
  EXPECT_EQ(reload(true), std::make_pair(1, 0));
  const std::string a2 = live();
  EXPECT_NE(a2, a) << "the new model answers";
  EXPECT_EQ(version(), 2);

  put("ctr2");
  { std::ofstream(dir_ / "live/model.bin", std::ios::trunc) << "not a model"; }
  const Answer admin = Post(port, "/v1/admin/reload", "");
  EXPECT_EQ(admin.status, 200);
  const json report = json::parse(admin.body);
  EXPECT_EQ(report["reloaded"].size(), 0u) << admin.body;
  ASSERT_EQ(report["failed"].size(), 1u) << admin.body;
  EXPECT_EQ(report["failed"][0]["name"], "live");
  EXPECT_EQ(ReloadCounts(port), std::make_pair(1, 1));
  EXPECT_EQ(live(), a2) << "a corrupt folder leaves the old model serving";

  put("seg");
  EXPECT_EQ(reload(true), std::make_pair(1, 2));
  EXPECT_EQ(live(), a2) << "a model of another kind leaves the old one serving";
  EXPECT_EQ(version(), 2);

  put("ctr");
  EXPECT_EQ(reload(false), std::make_pair(2, 2));
  EXPECT_EQ(live(), a) << "back to the first model";
  EXPECT_EQ(version(), 3);

  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_GT(answered.load(), 10);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_NE(server.log().find("keeps its previous version"), std::string::npos) << server.log();
}

TEST_F(ServeTest, BearerTokensGuardTheEndpoints) {
  const fs::path file = dir_ / "tokens";
  { std::ofstream(file) << "score-3f9a\nadmin-77c1\n"; }
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  const std::string d = dir_.string();
  const std::string cmd =
      fmt::format("serve --port 0 --model ctr={0}/ctr --token-file {1}", d, file.string());
  const EcpsRun refused = RunEcps(cmd);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("chmod 600"), std::string::npos) << refused.err;
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);

  Background server(fmt::format("{} {}", ECPS_BINARY, cmd), dir_ / "serve3.log");
  const int port = ListeningPort(server);
  ASSERT_NE(port, 0);
  std::string challenge;
  const auto get = [&](const std::string& target, const std::string& auth) {
    challenge.clear();
    return Http(port, http::verb::get, target, "", auth, &challenge);
  };
  EXPECT_EQ(get("/healthz", "").status, 200) << "/healthz stays open";
  for (const std::string target : {"/v1/models", "/v1/models/ctr", "/metrics"}) {
    Answer a = get(target, "");
    EXPECT_EQ(a.status, 401) << target;
    EXPECT_EQ(challenge, "Bearer");
    EXPECT_NE(a.body.find("\"error\""), std::string::npos) << a.body;
    EXPECT_EQ(get(target, "Bearer score-3f9b").status, 401) << target;
    EXPECT_EQ(get(target, "Bearer score-3f9").status, 401) << target;
    EXPECT_EQ(get(target, "Basic score-3f9a").status, 401) << target;
    EXPECT_EQ(get(target, "Bearer score-3f9a").status, 200) << target;
  }
  const auto reload = [&](const std::string& auth) {
    return Http(port, http::verb::post, "/v1/admin/reload", "", auth, &challenge).status;
  };
  EXPECT_EQ(reload(""), 401);
  EXPECT_EQ(reload("Bearer score-3f9a"), 403) << "the scoring token is not the admin token";
  EXPECT_EQ(reload("Bearer admin-77c1"), 200);
}

}  // namespace
}  // namespace ecps::testing
