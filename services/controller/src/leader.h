// Leader election with a coordination.k8s.io/v1 Lease, as client-go's leaderelection: of
// several controllers only the holder of the Lease acts. The holder renews every
// retry_period; another takes over once it has seen the same record unchanged for
// lease_duration (local time, so clocks need not agree); a holder that cannot renew within
// renew_deadline stops acting. Every write is an update under resourceVersion, so two
// candidates can never both win (KUBE_API.md, "Leases").
//
// Acquire and Release are called by the controller's main thread; the renew loop runs on
// its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "kubesync/core/log.h"
#include "kubesync/kube/client.h"

namespace kubesync::controller {

struct LeaderElectionOptions {
  std::string ns;
  std::string name = "kubesync-controller";
  std::string identity;  // unique per process
  std::chrono::milliseconds lease_duration{15'000};
  std::chrono::milliseconds renew_deadline{10'000};
  std::chrono::milliseconds retry_period{2'000};
};

class LeaderElector {
 public:
  LeaderElector(kube::Client& client, LeaderElectionOptions options, log::Logger logger);
  ~LeaderElector();

  // Blocks until this process holds the Lease (true) or `stop` becomes true (false).
  bool Acquire(const std::atomic<bool>& stop);
  // Renews until Release; calls `on_lost` once (from the renew thread) when the Lease could
  // not be renewed within renew_deadline or another holder took it.
  void KeepRenewing(std::function<void()> on_lost);
  // Stops renewing and hands the Lease back (holder cleared), so a standby takes over at once.
  void Release();

 private:
  enum class Attempt { kHeld, kHeldByOther, kError };
  Attempt TryAcquireOrRenew();
  void LogError(const Status& status);

  kube::Client& client_;
  LeaderElectionOptions options_;
  log::Logger logger_;
  std::string last_error_;
  std::string observed_record_;  // holder + renewTime last seen
  std::chrono::steady_clock::time_point observed_at_{};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool held_ = false;
  std::thread renewer_;
};

}  // namespace kubesync::controller
