// The controller's work queue, as controller-runtime's: keys, not events. A key added
// while it waits is not added twice; a key added while it is being processed is processed
// again afterwards (never twice at once); AddAfter schedules a retry or a periodic
// refresh. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace kubesync::controller {

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;

  void Add(const std::string& key) {
    std::lock_guard lock(mu_);
    AddLocked(key);
  }

  // Adds `key` once `delay` has passed (the earliest pending time wins).
  void AddAfter(const std::string& key, std::chrono::milliseconds delay) {
    std::lock_guard lock(mu_);
    const auto when = Clock::now() + delay;
    auto it = delayed_.find(key);
    if (it == delayed_.end() || when < it->second) delayed_[key] = when;
    cv_.notify_all();
  }

  // Blocks until a key is ready or the queue is shut down (nullopt). Call Done(key) after
  // processing it.
  std::optional<std::string> Get() {
    std::unique_lock lock(mu_);
    while (true) {
      if (shutdown_) return std::nullopt;
      PromoteDueLocked();
      if (!queue_.empty()) {
        std::string key = std::move(queue_.front());
        queue_.pop_front();
        queued_.erase(key);
        processing_.insert(key);
        return key;
      }
      if (delayed_.empty()) {
        cv_.wait(lock);
      } else {
        auto next = Clock::time_point::max();
        for (const auto& [_, when] : delayed_) next = std::min(next, when);
        cv_.wait_until(lock, next);
      }
    }
  }

  void Done(const std::string& key) {
    std::lock_guard lock(mu_);
    processing_.erase(key);
    if (dirty_.erase(key) > 0) AddLocked(key);
  }

  void ShutDown() {
    std::lock_guard lock(mu_);
    shutdown_ = true;
    cv_.notify_all();
  }

  size_t Len() const {
    std::lock_guard lock(mu_);
    return queue_.size();
  }

 private:
  void AddLocked(const std::string& key) {
    if (processing_.count(key) > 0) {
      dirty_.insert(key);
      return;
    }
    if (queued_.insert(key).second) {
      queue_.push_back(key);
      cv_.notify_all();
    }
  }

  void PromoteDueLocked() {
    const auto now = Clock::now();
    for (auto it = delayed_.begin(); it != delayed_.end();) {
      if (it->second <= now) {
        AddLocked(it->first);
        it = delayed_.erase(it);
      } else {
        ++it;
      }
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::set<std::string> queued_;
  std::set<std::string> processing_;
  std::set<std::string> dirty_;
  std::map<std::string, Clock::time_point> delayed_;
  bool shutdown_ = false;
};

}  // namespace kubesync::controller
