#include "ps/logging.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iterator>
#include <mutex>

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

namespace ecps::ps {

namespace {

// Guards stderr's last line: the bar text and whether one is drawn.
struct Terminal {
  std::mutex mu;
  std::string bar;  // "" = no bar drawn
};

Terminal& TheTerminal() {
  static Terminal t;
  return t;
}

constexpr const char* kClearLine = "\r\033[K";

void AppendJsonString(std::string_view s, spdlog::memory_buf_t& out) {
  out.push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"': out.append(std::string_view("\\\"")); break;
      case '\\': out.append(std::string_view("\\\\")); break;
      case '\n': out.append(std::string_view("\\n")); break;
      case '\r': out.append(std::string_view("\\r")); break;
      case '\t': out.append(std::string_view("\\t")); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

// {"time":"…Z","logger":"…","level":"…","message":"…"} per line, the time in UTC.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        msg.time.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    fmt::format_to(std::back_inserter(dest),
                   "{{\"time\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\",\"logger\":",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                   tm.tm_sec, ms % 1000);
    AppendJsonString(std::string_view(msg.logger_name.data(), msg.logger_name.size()), dest);
    dest.append(std::string_view(",\"level\":"));
    const auto level = spdlog::level::to_string_view(msg.level);
    AppendJsonString(std::string_view(level.data(), level.size()), dest);
    dest.append(std::string_view(",\"message\":"));
    AppendJsonString(std::string_view(msg.payload.data(), msg.payload.size()), dest);
    dest.append(std::string_view("}\n"));
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// Stderr (around the progress bar) and an optional file, one formatted line each.
class ProcessLogSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  ProcessLogSink(LogFormat format, std::FILE* file) : file_(file) {
    if (format == LogFormat::kJson) {
      set_formatter_(std::make_unique<JsonFormatter>());
    } else {
      set_pattern_("[%Y-%m-%d %H:%M:%S.%e] [%n] %l: %v");
    }
  }
  ~ProcessLogSink() override {
    if (file_ != nullptr) std::fclose(file_);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    {
      Terminal& t = TheTerminal();
      std::lock_guard<std::mutex> lock(t.mu);
      if (!t.bar.empty()) std::fputs(kClearLine, stderr);
      std::fwrite(line.data(), 1, line.size(), stderr);
      if (!t.bar.empty()) std::fputs(t.bar.c_str(), stderr);
      std::fflush(stderr);
    }
    if (file_ != nullptr) {
      std::fwrite(line.data(), 1, line.size(), file_);
      std::fflush(file_);  // a log being followed (tail -f) sees each line at once
    }
  }
  void flush_() override {
    std::fflush(stderr);
    if (file_ != nullptr) std::fflush(file_);
  }

 private:
  std::FILE* file_;
};

struct ProcessLog {
  std::mutex mu;
  std::shared_ptr<spdlog::sinks::sink> sink;
  bool text = true;
};

ProcessLog& TheProcessLog() {
  static ProcessLog log;
  return log;
}

}  // namespace

std::shared_ptr<spdlog::sinks::sink> ProcessSink() {
  ProcessLog& log = TheProcessLog();
  std::lock_guard<std::mutex> lock(log.mu);
  if (!log.sink) log.sink = std::make_shared<ProcessLogSink>(LogFormat::kText, nullptr);
  return log.sink;
}

Status ConfigureProcessLog(const LogOutput& output) {
  std::FILE* file = nullptr;
  if (!output.file.empty()) {
    file = std::fopen(output.file.c_str(), "a");
    if (file == nullptr) {
      return IoError(fmt::format("--log-file {}: cannot open it for appending: {}", output.file,
                                 std::strerror(errno)));
    }
  }
  auto sink = std::make_shared<ProcessLogSink>(output.format, file);
  {
    ProcessLog& log = TheProcessLog();
    std::lock_guard<std::mutex> lock(log.mu);
    log.sink = sink;
    log.text = output.format == LogFormat::kText;
  }
  if (const auto logger = spdlog::default_logger()) {
    logger->sinks().assign({sink});
  }
  return Status::Ok();
}

bool LogDrawsBars() {
  ProcessLog& log = TheProcessLog();
  std::lock_guard<std::mutex> lock(log.mu);
  return log.text && isatty(STDERR_FILENO) != 0;
}

void StatusLine::Show(const std::string& text) {
  Terminal& t = TheTerminal();
  std::lock_guard<std::mutex> lock(t.mu);
  t.bar = text;
  std::fputs(kClearLine, stderr);
  std::fputs(text.c_str(), stderr);
  std::fflush(stderr);
}

void StatusLine::Finish(const std::string& text) {
  Terminal& t = TheTerminal();
  std::lock_guard<std::mutex> lock(t.mu);
  t.bar.clear();
  std::fputs(kClearLine, stderr);
  std::fputs(text.c_str(), stderr);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

std::shared_ptr<spdlog::logger> MakeRankLogger(const RoleTable& roles, Rank rank,
                                               std::shared_ptr<spdlog::sinks::sink> sink,
                                               spdlog::level::level_enum level) {
  std::string name = roles.RoleOf(rank) == Role::kScheduler
                         ? fmt::format("r{} scheduler", rank)
                         : fmt::format("r{} {} {}", rank, RoleName(roles.RoleOf(rank)), roles.IndexOf(rank));
  auto logger = std::make_shared<spdlog::logger>(std::move(name), std::move(sink));
  logger->set_level(level);
  return logger;
}

}  // namespace ecps::ps
