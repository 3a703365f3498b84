// The controller's work queue, as controller-runtime's: keys, not events. A key added
// while it waits is not added twice; a key added while it is being processed is processed
// again afterwards (never twice at once); AddAfter schedules a retry or a periodic
// refresh. Several workers may call Get at once: a key is held by one of them until Done.
// `Key` is an ordered value type (QueueKey; std::string in tests). Time comes from the
// injected Clock (a fake clock's Advance is seen by the next Get, Add or AddAfter).
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "kubesync/core/clock.h"

namespace kubesync::controller {

template <typename Key>
class WorkQueue {
 public:
  // `clock` must outlive the queue.
  explicit WorkQueue(const Clock* clock = &SystemClock::Get()) : clock_(clock) {}

  void Add(const Key& key) {
    std::lock_guard lock(mu_);
    AddLocked(key);
  }

  // Adds `key` once `delay` has passed (the earliest pending time wins).
  void AddAfter(const Key& key, std::chrono::milliseconds delay) {
    std::lock_guard lock(mu_);
    const MonoTime when = clock_->SteadyNow() + delay;
    auto it = delayed_.find(key);
    if (it == delayed_.end() || when < it->second) delayed_[key] = when;
    cv_.notify_all();
  }

  // Blocks until a key is ready or the queue is shut down (nullopt). Call Done(key) after
  // processing it.
  std::optional<Key> Get() {
    std::unique_lock lock(mu_);
    while (true) {
      if (shutdown_) return std::nullopt;
      PromoteDueLocked();
      if (!queue_.empty()) {
        Key key = std::move(queue_.front());
        queue_.pop_front();
        queued_.erase(key);
        processing_.insert(key);
        return key;
      }
      if (delayed_.empty()) {
        cv_.wait(lock);
      } else {
        MonoTime next = MonoTime::max();
        for (const auto& [_, when] : delayed_) next = std::min(next, when);
        cv_.wait_for(lock, next - clock_->SteadyNow());
      }
    }
  }

  void Done(const Key& key) {
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
  void AddLocked(const Key& key) {
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
    const MonoTime now = clock_->SteadyNow();
    for (auto it = delayed_.begin(); it != delayed_.end();) {
      if (it->second <= now) {
        AddLocked(it->first);
        it = delayed_.erase(it);
      } else {
        ++it;
      }
    }
  }

  const Clock* clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Key> queue_;
  std::set<Key> queued_;
  std::set<Key> processing_;
  std::set<Key> dirty_;
  std::map<Key, MonoTime> delayed_;
  bool shutdown_ = false;
};

}  // namespace kubesync::controller
