#include "kubesync/core/log.h"

#include <algorithm>
#include <cctype>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace kubesync::log {

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

Result<Level> ParseLevel(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "debug") return Level::kDebug;
  if (lower == "info") return Level::kInfo;
  if (lower == "warn" || lower == "warning") return Level::kWarn;
  if (lower == "error") return Level::kError;
  return InvalidArgumentError("unknown log level \"" + std::string(text) +
                              "\": want one of debug, info, warn, error");
}

namespace {

class SpdlogStdoutSink final : public Sink {
 public:
  SpdlogStdoutSink() {
    auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    logger_ = std::make_shared<spdlog::logger>("kubesync-json", std::move(sink));
    logger_->set_pattern("%v");
    logger_->set_level(spdlog::level::trace);
    logger_->flush_on(spdlog::level::trace);
  }
  void Write(std::string_view line) override {
    logger_->log(spdlog::level::info, spdlog::string_view_t(line.data(), line.size()));
  }
  void Flush() override { logger_->flush(); }

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

bool IsSecret(const nlohmann::json& v) {
  if (!v.is_object()) return false;
  auto it = v.find("kind");
  return it != v.end() && it->is_string() && it->get_ref<const std::string&>() == "Secret";
}

void RedactValues(nlohmann::json& v) {
  if (v.is_object()) {
    for (auto& [k, inner] : v.items()) inner = "<redacted>";
  } else if (!v.is_null()) {
    v = "<redacted>";
  }
}

}  // namespace

std::shared_ptr<Sink> StdoutSink() {
  static std::shared_ptr<Sink> sink = std::make_shared<SpdlogStdoutSink>();
  return sink;
}

void MemorySink::Write(std::string_view line) {
  std::lock_guard lock(mu_);
  lines_.emplace_back(line);
}

std::vector<std::string> MemorySink::Lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

namespace {

// "scheme://user:password@host" -> "scheme://user:<redacted>@host", for every URL in `text`
// (a NATS or Redis URL with credentials in an error message or a field).
void RedactUrlPasswords(std::string& text) {
  for (size_t scheme = text.find("://"); scheme != std::string::npos; scheme = text.find("://", scheme + 3)) {
    const size_t start = scheme + 3;
    const size_t end = text.find_first_of(" \t\n\"',/", start);
    const size_t at = text.rfind('@', end == std::string::npos ? text.size() - 1 : end - 1);
    if (at == std::string::npos || at < start) continue;
    const size_t colon = text.find(':', start);
    if (colon == std::string::npos || colon > at) continue;  // a user name or a token alone is not hidden
    if (text.compare(colon + 1, at - colon - 1, "<redacted>") == 0) continue;
    text.replace(colon + 1, at - colon - 1, "<redacted>");
  }
}

}  // namespace

void RedactSecretData(nlohmann::json& value) {
  if (value.is_string()) {
    std::string& text = value.get_ref<std::string&>();
    if (text.find("://") != std::string::npos && text.find('@') != std::string::npos)
      RedactUrlPasswords(text);
    return;
  }
  if (value.is_object()) {
    if (IsSecret(value)) {
      for (const char* key : {"data", "stringData"}) {
        auto it = value.find(key);
        if (it != value.end()) RedactValues(*it);
      }
    }
    for (auto& [k, inner] : value.items()) RedactSecretData(inner);
  } else if (value.is_array()) {
    for (auto& inner : value) RedactSecretData(inner);
  }
}

Logger::Logger(LoggerOptions options, std::shared_ptr<Sink> sink, const Clock* clock)
    : options_(std::move(options)), sink_(std::move(sink)), clock_(clock) {}

void Logger::Log(Level level, std::string_view msg, nlohmann::json fields) const {
  if (!Enabled(level) || !sink_) return;
  nlohmann::json line = nlohmann::json::object();
  line["level"] = LevelName(level);
  line["timestamp"] = FormatRfc3339(clock_->Now(), 9);
  line["msg"] = msg;
  if (!options_.process_id.empty()) {
    nlohmann::json process = {{"id", options_.process_id}};
    if (!options_.consumer_id.empty()) process["consumerID"] = options_.consumer_id;
    line["process"] = std::move(process);
  }
  if (fields.is_object()) {
    for (auto& [k, v] : fields.items()) {
      if (k == "level" || k == "timestamp" || k == "msg") continue;  // reserved
      line[k] = std::move(v);
    }
  }
  RedactSecretData(line);
  sink_->Write(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Logger Logger::WithConsumerId(std::string consumer_id) const {
  LoggerOptions o = options_;
  o.consumer_id = std::move(consumer_id);
  return Logger(std::move(o), sink_, clock_);
}

}  // namespace kubesync::log
