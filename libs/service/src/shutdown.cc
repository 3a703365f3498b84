#include "kubesync/service/shutdown.h"

#include <pthread.h>
#include <signal.h>

namespace kubesync::service {

namespace {

sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

ShutdownSignal::ShutdownSignal() {
  // SIGUSR1 is how the destructor wakes the waiter. It is blocked here, before the thread
  // exists, so the thread inherits the mask and an early destructor cannot kill the process.
  sigset_t set = ShutdownSignals();
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  waiter_ = std::thread([this, wait_set = set] {
    int sig = 0;
    sigwait(&wait_set, &sig);
    Trigger();
  });
}

ShutdownSignal::~ShutdownSignal() {
  pthread_kill(waiter_.native_handle(), SIGUSR1);
  waiter_.join();
}

void ShutdownSignal::Wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return requested_.load(); });
}

bool ShutdownSignal::WaitFor(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return requested_.load(); });
}

void ShutdownSignal::Trigger() {
  {
    std::lock_guard lock(mu_);
    requested_ = true;
  }
  cv_.notify_all();
}

}  // namespace kubesync::service
