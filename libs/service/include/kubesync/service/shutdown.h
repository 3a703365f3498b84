// Orderly shutdown on SIGTERM/SIGINT. Construct one ShutdownSignal first thing in main(),
// before any other thread exists: it blocks both signals (and SIGUSR1, which it uses
// internally) in the calling thread, so every thread started later inherits the mask, and
// waits for them on a thread of its own.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace kubesync::service {

class ShutdownSignal {
 public:
  ShutdownSignal();
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  bool requested() const { return requested_.load(); }
  // The flag long-running calls take as their cancel switch (kube::Client::Watch, ...).
  const std::atomic<bool>& flag() const { return requested_; }
  // Blocks until a signal arrives or Trigger() is called.
  void Wait();
  // Waits up to `timeout`; true when shutdown was requested.
  bool WaitFor(std::chrono::milliseconds timeout);
  // Requests shutdown from inside the process (fatal errors, tests).
  void Trigger();

 private:
  std::atomic<bool> requested_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread waiter_;
};

}  // namespace kubesync::service
