// Helpers for the emulator's end-to-end tests: a fixture that starts kube-emulator and a
// watch stream reader.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "kubesync/testsupport/emulator.h"

namespace kubesync::emulator::testing {

using testsupport::Emulator;
using testsupport::EmulatorOptions;
using Reply = Emulator::Reply;

inline std::unique_ptr<Emulator> StartEmulator(EmulatorOptions options = {}) {
  auto e = Emulator::Start(std::move(options));
  if (!e.ok()) {
    ADD_FAILURE() << e.status().ToString();
    return nullptr;
  }
  return std::move(e).value();
}

inline EmulatorOptions PlainOptions() {
  EmulatorOptions o;
  o.tls = false;
  o.token_users.clear();
  return o;
}

inline Reply Must(const Result<Reply>& r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : Reply{};
}

inline nlohmann::json ConfigMap(const std::string& name, nlohmann::json labels = nlohmann::json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"data", {{"k", "v"}}}};
}

// Reads one watch stream (plain HTTP) on a background thread, line by line.
class WatchReader {
 public:
  WatchReader(int port, std::string path) : path_(std::move(path)), cli_("127.0.0.1", port) {
    cli_.set_read_timeout(std::chrono::seconds(30));
    thread_ = std::thread([this] {
      cli_.Get(path_.c_str(), [this](const char* data, size_t len) {
        std::lock_guard lock(mu_);
        buffer_.append(data, len);
        size_t nl;
        while ((nl = buffer_.find('\n')) != std::string::npos) {
          lines_.push_back(nlohmann::json::parse(buffer_.substr(0, nl), nullptr, false));
          buffer_.erase(0, nl + 1);
        }
        return !stop_;
      });
      done_ = true;
    });
  }
  ~WatchReader() {
    stop_ = true;
    cli_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::vector<nlohmann::json> Events() {
    std::lock_guard lock(mu_);
    return lines_;
  }
  // Events other than BOOKMARK.
  std::vector<nlohmann::json> Changes() {
    std::vector<nlohmann::json> out;
    for (auto& e : Events()) {
      if (e.value("type", "") != "BOOKMARK") out.push_back(e);
    }
    return out;
  }
  bool done() const { return done_; }

 private:
  std::string path_;
  httplib::Client cli_;
  std::thread thread_;
  std::mutex mu_;
  std::string buffer_;
  std::vector<nlohmann::json> lines_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
};

}  // namespace kubesync::emulator::testing
