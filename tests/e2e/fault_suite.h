// The fault suite's churn and fixture (issue 10, "Suites that keep it so"): each scenario
// runs a 10k-write churn on the source (creates, updates and deletes of ConfigMaps, Secrets
// and Services in four namespaces) while one or two faults hit the set, then checks by listing both clusters:
// 0 missing, 0 stale (different), 0 extra managed objects, and every unmanaged object
// planted in the destination beforehand still there, untouched. Label: faults.
//
// Scenarios: Redis FLUSHALL; a fresh empty Redis on the same port; NATS restarted without
// its store; the source API server and the destination API server each away for a while
// and back on their data dirs; dropped watches plus compaction; two faults at once.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <thread>

#include "kubesync/kube/errors.h"
#include "kubesync/state/redis_client.h"
#include "pipeline_test_base.h"

namespace kubesync::e2e::faults {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kNamespaces = 4;
constexpr int kThreads = 4;
// Per namespace: 750 ConfigMaps, 500 Secrets, 250 Services created (6000 writes), 1500
// updates (3000), 250 deletes (1000): 10,000 source writes in all.
constexpr int kConfigMaps = 750;
constexpr int kSecrets = 500;
constexpr int kServices = 250;
constexpr int kChurnWrites = kNamespaces * (kConfigMaps + kSecrets + kServices) +
                             kNamespaces * (kConfigMaps / 2 + kSecrets / 2 + kConfigMaps / 6) +
                             kNamespaces * (kConfigMaps / 10 + kSecrets / 10 + kServices / 2);
constexpr int kPlanted = 6;  // unmanaged objects per namespace and kind in the destination

inline std::string FaultPlan() {
  std::string rules;
  for (const char* resource : {"configmaps", "secrets", "services"}) {
    rules += std::string("        - version: v1\n          resource: ") + resource +
             "\n          filters:\n            selector:\n              matchLabels:\n                dr: "
             "\"on\"\n";
  }
  return "apiVersion: automation.astronetes.io/v1alpha1\n"
         "kind: LiveSynchronization\n"
         "metadata:\n"
         "  name: faults\n"
         "  namespace: dr-config\n"
         "spec:\n"
         "  plugin: kubernetes-objects-to-kubernetes\n"
         "  config:\n"
         "    sourceName: source\n"
         "    destinationName: destination\n"
         "    replication:\n"
         "      forceNamespaceCreation: true\n"
         "      resources:\n" +
         rules;
}

inline std::string Ns(int n) { return "f-" + std::to_string(n); }

// The churn: kThreads writers, each owning every kThreads-th object of every namespace;
// each write is retried until it succeeds (the source may be away for a while).
class Churn {
 public:
  explicit Churn(kube::Client& source) : source_(source) {}
  ~Churn() {
    stop_ = true;
    Join();
  }

  void Start() {
    for (int t = 0; t < kThreads; ++t) threads_.emplace_back([this, t] { Run(t); });
  }
  void Join() {
    for (auto& th : threads_) {
      if (th.joinable()) th.join();
    }
  }
  int done() const { return done_.load(); }
  int retries() const { return retries_.load(); }
  bool WaitForProgress(int writes, seconds timeout) const {
    return testsupport::WaitFor([&] { return done() >= writes; }, timeout, milliseconds(20));
  }

 private:
  void Write(const std::function<Status()>& op) {
    while (!stop_.load()) {
      Status s = op();
      if (s.ok()) {
        ++done_;
        return;
      }
      ++retries_;
      std::this_thread::sleep_for(milliseconds(100));  // backoff while the source is away
    }
  }
  Status Put(const kube::ResourceRef& collection, const json& object) {
    return Upsert(source_, collection, object).status();
  }
  Status Remove(const kube::ResourceRef& ref) {
    auto deleted = source_.Delete(ref);
    return deleted.ok() || kube::IsNotFound(deleted.status()) ? OkStatus() : deleted.status();
  }
  static json Labels() { return {{"dr", "on"}}; }

  void Run(int t) {
    for (int n = 0; n < kNamespaces; ++n) {
      const std::string ns = Ns(n);
      for (int i = t; i < kConfigMaps; i += kThreads) {
        Write([&] {
          return Put(ConfigMapRef(ns),
                     ConfigMapObject(ns, "cm-" + std::to_string(i), {{"v", "1"}}, Labels()));
        });
      }
      for (int i = t; i < kSecrets; i += kThreads) {
        Write([&] {
          return Put(SecretRef(ns), SecretObject(ns, "s-" + std::to_string(i), {{"k", "1"}}, Labels()));
        });
      }
      for (int i = t; i < kServices; i += kThreads) {
        Write([&] { return Put(ServiceRef(ns), ServiceObject(ns, "svc-" + std::to_string(i), Labels())); });
      }
    }
    for (int n = 0; n < kNamespaces; ++n) {
      const std::string ns = Ns(n);
      for (int i = t; i < kConfigMaps; i += kThreads) {
        if (i % 2 == 0) {
          Write([&] {
            return Put(ConfigMapRef(ns),
                       ConfigMapObject(ns, "cm-" + std::to_string(i), {{"v", "2"}}, Labels()));
          });
        }
        if (i % 6 == 0) {
          Write([&] {
            return Put(ConfigMapRef(ns),
                       ConfigMapObject(ns, "cm-" + std::to_string(i), {{"v", "3"}}, Labels()));
          });
        }
      }
      for (int i = t; i < kSecrets; i += kThreads) {
        if (i % 2 == 0) {
          Write([&] {
            return Put(SecretRef(ns), SecretObject(ns, "s-" + std::to_string(i), {{"k", "2"}}, Labels()));
          });
        }
      }
    }
    for (int n = 0; n < kNamespaces; ++n) {
      const std::string ns = Ns(n);
      for (int i = t; i < kConfigMaps; i += kThreads) {
        if (i % 10 == 1) Write([&] { return Remove(ConfigMapRef(ns, "cm-" + std::to_string(i))); });
      }
      for (int i = t; i < kSecrets; i += kThreads) {
        if (i % 10 == 1) Write([&] { return Remove(SecretRef(ns, "s-" + std::to_string(i))); });
      }
      for (int i = t; i < kServices; i += kThreads) {
        if (i % 2 == 1) Write([&] { return Remove(ServiceRef(ns, "svc-" + std::to_string(i))); });
      }
    }
  }

  kube::Client& source_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<int> done_{0};
  std::atomic<int> retries_{0};
};

// Counted over the whole suite for the closing note.
struct Tally {
  int scenarios = 0;
  size_t lost = 0;  // missing + different + extra + unmanaged objects deleted or changed
};
inline Tally& SuiteTally() {
  static Tally tally;
  return tally;
}

class FaultSuiteTest : public PipelineTest {
 protected:
  void SetUp() override {
    StartPipeline({.plan_yaml = FaultPlan(), .partitions = 4, .log_level = "warn", .kube_qps = 2000});
    if (HasFatalFailure()) return;
    // The destination's users were there first: their objects must survive everything.
    for (int n = 0; n < kNamespaces; ++n) {
      ASSERT_TRUE(EnsureNamespace(src(), Ns(n)).ok());
      ASSERT_TRUE(EnsureNamespace(dst(), Ns(n)).ok());
      for (int i = 0; i < kPlanted; ++i) {
        const std::string name = "users-" + std::to_string(i);
        ASSERT_TRUE(
            dst().Create(ConfigMapRef(Ns(n)), ConfigMapObject(Ns(n), name, {{"owner", "user"}})).ok());
        ASSERT_TRUE(dst().Create(SecretRef(Ns(n)), SecretObject(Ns(n), name, {{"owner", "user"}})).ok());
        ASSERT_TRUE(dst().Create(ServiceRef(Ns(n)), ServiceObject(Ns(n), name)).ok());
      }
    }
  }

  // The churn, with `fault` run from the test thread once a third of it is done.
  void RunScenario(const std::function<void(Churn&)>& fault) {
    const auto start = std::chrono::steady_clock::now();
    Churn churn(src());
    churn.Start();
    ASSERT_TRUE(churn.WaitForProgress(kChurnWrites / 3, seconds(120))) << "churn stalled at " << churn.done();
    fault(churn);
    churn.Join();
    ASSERT_EQ(churn.done(), kChurnWrites);

    DiffReport diff;
    const bool converged = p().WaitForConvergence(seconds(150), &diff);
    size_t unmanaged_lost = 0;
    for (int n = 0; n < kNamespaces; ++n) {
      for (int i = 0; i < kPlanted; ++i) {
        const std::string name = "users-" + std::to_string(i);
        for (const auto& ref : {ConfigMapRef(Ns(n), name), SecretRef(Ns(n), name), ServiceRef(Ns(n), name)}) {
          auto got = dst().Get(ref);
          if (!got.ok() || !Annotation(*got, "kubesync.io/live-synchronization").empty()) ++unmanaged_lost;
        }
      }
    }
    const size_t lost = diff.missing.size() + diff.different.size() + diff.extra.size() + unmanaged_lost;
    SuiteTally().scenarios++;
    SuiteTally().lost += lost;
    const auto took = std::chrono::duration_cast<seconds>(std::chrono::steady_clock::now() - start).count();
    std::cout << "[fault-suite] " << ::testing::UnitTest::GetInstance()->current_test_info()->name() << ": "
              << kChurnWrites << " writes (" << churn.retries() << " retried), " << diff.in_scope
              << " in scope; missing " << diff.missing.size() << ", stale " << diff.different.size()
              << ", extra " << diff.extra.size() << ", unmanaged deleted or changed " << unmanaged_lost
              << "; " << took << " s; suite so far: " << SuiteTally().scenarios << " scenarios, "
              << SuiteTally().lost << " objects lost\n";
    EXPECT_TRUE(converged) << diff.ToString();
    EXPECT_EQ(unmanaged_lost, 0u);
    EXPECT_EQ(diff.in_scope, static_cast<size_t>(kNamespaces * (kConfigMaps - kConfigMaps / 10 + kSecrets -
                                                                kSecrets / 10 + kServices / 2)));
  }

  void FlushRedis() {
    auto redis = state::RedisClient::Connect({.url = p().redis().url()});
    ASSERT_TRUE(redis.ok()) << redis.status().ToString();
    auto flushed = (*redis)->Command({"FLUSHALL"});
    ASSERT_TRUE(flushed.ok()) << flushed.status().ToString();
  }
};

}  // namespace kubesync::e2e::faults
