// Structured JSON logging: one JSON object per line, with the field names and the
// constant `msg` strings of the logging chapter of the reference manual (seeds/001):
//   {"level":"info","timestamp":"...","msg":"object read from cluster",
//    "process":{"id":"eventslistener","consumerID":"..."}, "sourceObject":{...}, ...}
// `msg` is always a constant; everything variable goes in fields. Secret data never
// reaches a sink: every line passes through RedactSecretData first.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kubesync/core/clock.h"
#include "kubesync/core/status.h"

namespace kubesync::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

std::string_view LevelName(Level level);
// Accepts debug, info, warn/warning, error (any case).
Result<Level> ParseLevel(std::string_view text);

// Where finished lines go. Implementations are thread-safe.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void Write(std::string_view line) = 0;
  virtual void Flush() {}
};

// Standard output, through spdlog (thread-safe, one write per line).
std::shared_ptr<Sink> StdoutSink();

// Keeps lines in memory; for tests.
class MemorySink final : public Sink {
 public:
  void Write(std::string_view line) override;
  std::vector<std::string> Lines() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

struct LoggerOptions {
  std::string process_id;   // "eventslistener", "processor", ...
  std::string consumer_id;  // NATS consumer or replica identity; omitted when empty
  Level level = Level::kInfo;
};

// Cheap to copy; thread-safe.
class Logger {
 public:
  Logger(LoggerOptions options, std::shared_ptr<Sink> sink,
         const Clock* clock = &SystemClock::Get());

  bool Enabled(Level level) const { return level >= options_.level; }

  // `fields` must be a JSON object (or null); its members are added at the top level.
  void Log(Level level, std::string_view msg, nlohmann::json fields = nullptr) const;
  void Debug(std::string_view msg, nlohmann::json fields = nullptr) const { Log(Level::kDebug, msg, std::move(fields)); }
  void Info(std::string_view msg, nlohmann::json fields = nullptr) const { Log(Level::kInfo, msg, std::move(fields)); }
  void Warn(std::string_view msg, nlohmann::json fields = nullptr) const { Log(Level::kWarn, msg, std::move(fields)); }
  void Error(std::string_view msg, nlohmann::json fields = nullptr) const { Log(Level::kError, msg, std::move(fields)); }

  Logger WithConsumerId(std::string consumer_id) const;
  const LoggerOptions& options() const { return options_; }

 private:
  LoggerOptions options_;
  std::shared_ptr<Sink> sink_;
  const Clock* clock_;
};

// Replaces the values under `data` and `stringData` of every Secret found anywhere in
// `value` (an object with "kind":"Secret", or one under a key named like a Secret) with
// "<redacted>". Called on every log line; callers may use it for other outputs too.
void RedactSecretData(nlohmann::json& value);

}  // namespace kubesync::log
