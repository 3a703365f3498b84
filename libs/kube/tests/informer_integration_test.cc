// The informer against the real emulator: while objects keep changing, watches are
// dropped, history is compacted and 429/500/503 are injected; the handler's final view
// must equal the server's.
#include <gtest/gtest.h>

#include <random>

#include "kubesync/kube/errors.h"
#include "kubesync/kube/informer.h"
#include "kubesync/testsupport/emulator.h"

namespace kubesync::kube {
namespace {

using nlohmann::json;
using testsupport::Emulator;
using testsupport::EmulatorFault;
using testsupport::WaitFor;

ResourceRef Cm(const std::string& ns = "", const std::string& name = "") {
  return ResourceRef{"", "v1", "configmaps", ns, name, ""};
}

class HandlerView {
 public:
  InformerHandlers Handlers() {
    InformerHandlers h;
    h.on_add = [this](const json& obj, bool) { Set(obj, false); };
    h.on_update = [this](const json*, const json& obj) { Set(obj, true); };
    h.on_delete = [this](const json& obj, bool) {
      std::lock_guard<std::mutex> lock(mu_);
      if (objects_.erase(ObjectKey(obj)) == 0) {
        errors_.push_back("delete of unknown " + ObjectKey(obj));
      }
    };
    return h;
  }
  std::map<std::string, std::string> objects() const {
    std::lock_guard<std::mutex> lock(mu_);
    return objects_;
  }
  std::vector<std::string> errors() const {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_;
  }

 private:
  void Set(const json& obj, bool update) {
    std::lock_guard<std::mutex> lock(mu_);
    std::string key = ObjectKey(obj);
    bool known = objects_.count(key) != 0;
    if (known != update) {
      errors_.push_back((update ? "update of unknown " : "add of known ") + key);
    }
    objects_[key] = obj["metadata"]["resourceVersion"];
  }
  mutable std::mutex mu_;
  std::map<std::string, std::string> objects_;
  std::vector<std::string> errors_;
};

std::map<std::string, std::string> ServerView(Client& client, const std::string& ns) {
  std::map<std::string, std::string> out;
  Result<ListResult> list = client.List(Cm(ns));
  if (!list.ok()) {
    return {{"<error>", list.status().ToString()}};
  }
  for (const auto& item : list->items) {
    out[ObjectKey(item)] = item["metadata"]["resourceVersion"];
  }
  return out;
}

std::unique_ptr<Client> AdminClient(const Emulator& emu) {
  auto rc = Kubeconfig::LoadFile(emu.kubeconfig_path("admin"))->ToRestConfig();
  ClientOptions o;
  o.backoff = {std::chrono::milliseconds(10), std::chrono::milliseconds(100), 2.0, 0.2};
  o.max_retry_after = std::chrono::seconds(0);
  return std::move(Client::Create(*rc, o)).value();
}

TEST(InformerIntegrationTest, FinalViewEqualsServerUnderDropsCompactionAndFaults) {
  testsupport::EmulatorOptions eo;
  eo.watch_history = 200;  // small, so gaps fall out of history
  auto emu = Emulator::Start(eo);
  ASSERT_TRUE(emu.ok()) << emu.status().ToString();
  auto client = AdminClient(**emu);
  ResourceRef ns{"", "v1", "namespaces", "", "", ""};
  ASSERT_TRUE(client->Create(ns, {{"metadata", {{"name", "churn"}}}}).ok());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(client->Create(Cm("churn"), {{"metadata", {{"name", "cm" + std::to_string(i)}}}}).ok());
  }

  for (StoreMode mode : {StoreMode::kLean, StoreMode::kFull}) {
    HandlerView view;
    InformerOptions io;
    io.resource = Cm("churn");
    io.store_mode = mode;
    io.page_size = 7;
    io.backoff = {std::chrono::milliseconds(10), std::chrono::milliseconds(200), 2.0, 0.2};
    Informer informer(*client, io, view.Handlers());
    informer.Start();
    ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(10)));

    std::mt19937 rng(7);
    for (int i = 1; i <= 600; ++i) {
      std::string name = "cm" + std::to_string(rng() % 80);
      if (rng() % 4 == 0) {
        (void)client->Delete(Cm("churn", name));
      } else {
        json patch = {{"metadata", {{"name", name}}}, {"data", {{"i", std::to_string(i)}}}};
        Result<json> r = client->Patch(Cm("churn", name), PatchType::kMerge, patch.dump());
        if (IsNotFound(r.status())) {
          (void)client->Create(Cm("churn"), patch);
        }
      }
      if (i % 50 == 0) {
        ASSERT_TRUE((*emu)->DropWatches().ok());
      }
      if (i % 150 == 0) {
        ASSERT_TRUE((*emu)->Compact().ok());
        ASSERT_TRUE((*emu)->DropWatches().ok());
      }
      if (i % 120 == 0) {
        int code = (i / 120) % 3 == 0 ? 429 : ((i / 120) % 3 == 1 ? 500 : 503);
        ASSERT_TRUE((*emu)
                        ->AddFault({.verb = "watch",
                                    .resource = "configmaps",
                                    .count = 2,
                                    .code = code,
                                    .retry_after_seconds = 0})
                        .ok());
        ASSERT_TRUE((*emu)
                        ->AddFault({.verb = "list",
                                    .resource = "configmaps",
                                    .count = 1,
                                    .code = code,
                                    .retry_after_seconds = 0})
                        .ok());
      }
    }
    ASSERT_TRUE((*emu)->ClearFaults().ok());
    std::map<std::string, std::string> server;
    bool converged = WaitFor(
        [&] {
          server = ServerView(*client, "churn");
          return view.objects() == server;
        },
        std::chrono::seconds(20), std::chrono::milliseconds(100));
    EXPECT_TRUE(converged) << "mode " << static_cast<int>(mode) << ": handler has " << view.objects().size()
                           << " objects, server " << server.size();
    EXPECT_TRUE(view.errors().empty()) << view.errors()[0];
    EXPECT_EQ(informer.store().size(), server.size());
    InformerStats stats = informer.stats();
    EXPECT_GE(stats.watches, 10u);
    EXPECT_GE(stats.watch_errors, 1u);
  }
}

TEST(InformerIntegrationTest, RelistAfterCompactionReportsDeletesMadeInTheGap) {
  testsupport::EmulatorOptions eo;
  auto emu = Emulator::Start(eo);
  ASSERT_TRUE(emu.ok()) << emu.status().ToString();
  auto client = AdminClient(**emu);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client->Create(Cm("default"), {{"metadata", {{"name", "gap" + std::to_string(i)}}}}).ok());
  }
  std::atomic<int> inferred{0};
  HandlerView view;
  InformerHandlers h = view.Handlers();
  auto on_delete = h.on_delete;
  h.on_delete = [&](const json& obj, bool unknown) {
    inferred += unknown ? 1 : 0;
    on_delete(obj, unknown);
  };
  InformerOptions io;
  io.resource = Cm("default");
  io.backoff = {std::chrono::milliseconds(300), std::chrono::milliseconds(300), 1.0, 0.0};
  Informer informer(*client, io, h);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(10)));
  // Keep watches failing, change things, compact: the resume must get 410 and re-list.
  ASSERT_TRUE((*emu)
                  ->AddFault({.verb = "watch",
                              .resource = "configmaps",
                              .count = 1000,
                              .code = 503,
                              .retry_after_seconds = 0})
                  .ok());
  ASSERT_TRUE((*emu)->DropWatches().ok());
  ASSERT_TRUE(WaitFor([&] { return informer.stats().watch_errors >= 1; }));
  ASSERT_TRUE(client->Delete(Cm("default", "gap0")).ok());
  ASSERT_TRUE(client->Delete(Cm("default", "gap1")).ok());
  ASSERT_TRUE(client->Create(Cm("default"), {{"metadata", {{"name", "gap9"}}}}).ok());
  ASSERT_TRUE((*emu)->Compact().ok());
  ASSERT_TRUE((*emu)->ClearFaults().ok());
  ASSERT_TRUE(
      WaitFor([&] { return view.objects() == ServerView(*client, "default"); }, std::chrono::seconds(10)));
  EXPECT_EQ(inferred.load(), 2);
  EXPECT_GE(informer.stats().relists, 1u);
}

}  // namespace
}  // namespace kubesync::kube
