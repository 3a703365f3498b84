#include "kubesync/kube/informer.h"

#include <gtest/gtest.h>

#include <random>

#include "kubesync/kube/testing/fake_transport.h"
#include "kubesync/testsupport/process.h"

namespace kubesync::kube {
namespace {

using nlohmann::json;
using testing::FakeApiServer;
using testsupport::WaitFor;

json Cm(const std::string& name, const std::string& value) {
  return {{"metadata", {{"namespace", "default"}, {"name", name}}}, {"data", {{"v", value}}}};
}

// What the handler saw, rebuilt from callbacks only; flags impossible sequences.
class View {
 public:
  InformerHandlers Handlers() {
    InformerHandlers h;
    h.on_add = [this](const json& obj, bool initial) {
      std::lock_guard<std::mutex> lock(mu_);
      std::string key = ObjectKey(obj);
      if (objects_.count(key) != 0) {
        errors_.push_back("add of known " + key);
      }
      objects_[key] = obj["metadata"].value("resourceVersion", "");
      initial_adds_ += initial ? 1 : 0;
    };
    h.on_update = [this](const json* old_obj, const json& obj) {
      std::lock_guard<std::mutex> lock(mu_);
      std::string key = ObjectKey(obj);
      if (objects_.count(key) == 0) {
        errors_.push_back("update of unknown " + key);
      }
      if (old_obj != nullptr && (*old_obj)["metadata"].value("resourceVersion", "") != objects_[key]) {
        errors_.push_back("update with stale old " + key);
      }
      if (std::stoull(obj["metadata"].value("resourceVersion", "0")) <= std::stoull(objects_[key])) {
        errors_.push_back("update going backwards " + key);
      }
      objects_[key] = obj["metadata"].value("resourceVersion", "");
      old_was_stub_ = old_obj != nullptr && !old_obj->contains("data") &&
                      (*old_obj)["metadata"].contains("resourceVersion");
    };
    h.on_delete = [this](const json& obj, bool unknown) {
      std::lock_guard<std::mutex> lock(mu_);
      std::string key = ObjectKey(obj);
      if (objects_.erase(key) == 0) {
        errors_.push_back("delete of unknown " + key);
      }
      inferred_deletes_ += unknown ? 1 : 0;
      last_deleted_ = obj;
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
  int initial_adds() const {
    std::lock_guard<std::mutex> lock(mu_);
    return initial_adds_;
  }
  int inferred_deletes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return inferred_deletes_;
  }
  json last_deleted() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_deleted_;
  }
  bool old_was_stub() const {
    std::lock_guard<std::mutex> lock(mu_);
    return old_was_stub_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> objects_;
  std::vector<std::string> errors_;
  int initial_adds_ = 0;
  int inferred_deletes_ = 0;
  json last_deleted_;
  bool old_was_stub_ = false;
};

std::map<std::string, std::string> ServerView(const FakeApiServer& server) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : server.Objects()) {
    out[k] = v["metadata"]["resourceVersion"];
  }
  return out;
}

InformerOptions TestOptions(StoreMode mode = StoreMode::kFull) {
  InformerOptions o;
  o.resource = ResourceRef{"", "v1", "configmaps", "", "", ""};
  o.store_mode = mode;
  o.page_size = 2;
  o.backoff = {std::chrono::milliseconds(1), std::chrono::milliseconds(5), 2.0, 0.0};
  return o;
}

ClientOptions NoRetry() {
  ClientOptions o;
  o.qps = 0;
  o.max_retries = 0;
  return o;
}

TEST(InformerTest, ListsInPagesThenFollowsTheWatch) {
  auto server = std::make_shared<FakeApiServer>();
  for (int i = 0; i < 5; ++i) {
    server->Put(Cm("cm" + std::to_string(i), "a"));
  }
  Client client(server, NoRetry());
  View view;
  Informer informer(client, TestOptions(), view.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(5)));
  EXPECT_EQ(view.initial_adds(), 5);
  EXPECT_EQ(informer.store().size(), 5u);
  EXPECT_EQ(server->lists(), 3) << "5 objects in pages of 2";

  server->Put(Cm("cm1", "b"));
  server->Delete("default", "cm2");
  server->Put(Cm("new", "c"));
  ASSERT_TRUE(WaitFor([&] { return view.objects() == ServerView(*server); }, std::chrono::seconds(5)));
  std::optional<StoreEntry> cm1 = informer.store().Get("default/cm1");
  ASSERT_TRUE(cm1.has_value());
  EXPECT_EQ((*cm1->object)["data"]["v"], "b");
  EXPECT_FALSE(informer.store().Get("default/cm2").has_value());
  EXPECT_EQ(view.last_deleted()["metadata"]["name"], "cm2");
  EXPECT_TRUE(view.errors().empty()) << view.errors()[0];
}

TEST(InformerTest, WatchTimeoutsComeFromTheInjectedRandomness) {
  auto server = std::make_shared<FakeApiServer>();
  server->Put(Cm("cm0", "a"));
  Client client(server, NoRetry());
  View view;
  InformerOptions options = TestOptions();
  options.min_watch_timeout = std::chrono::seconds(300);
  std::vector<uint64_t> draws = {7, 301, 299};  // each taken modulo 300, added to 300
  size_t next = 0;
  options.random = [&draws, &next] { return draws[next++ % draws.size()]; };
  Informer informer(client, options, view.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(5)));
  ASSERT_TRUE(WaitFor([&] { return server->watches() >= 1; }, std::chrono::seconds(5)));
  server->DropWatches();
  ASSERT_TRUE(WaitFor([&] { return server->watches() >= 2; }, std::chrono::seconds(5)));
  informer.Stop();
  std::vector<std::string> timeouts = server->watch_timeouts();
  ASSERT_GE(timeouts.size(), 2u);
  EXPECT_EQ(timeouts[0], "307");
  EXPECT_EQ(timeouts[1], "301");
}

TEST(InformerTest, ResumesFromTheLastVersionAfterADroppedWatch) {
  auto server = std::make_shared<FakeApiServer>();
  server->Put(Cm("a", "1"));
  Client client(server, NoRetry());
  View view;
  Informer informer(client, TestOptions(), view.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(5)));
  for (int round = 0; round < 5; ++round) {
    ASSERT_TRUE(WaitFor([&] { return server->watches() == round + 1 && server->open_watches() == 1; }));
    server->DropWatches();
    server->Put(Cm("a", std::to_string(round + 2)));
    server->Put(Cm("b" + std::to_string(round), "x"));
  }
  ASSERT_TRUE(WaitFor([&] { return view.objects() == ServerView(*server); }, std::chrono::seconds(5)));
  EXPECT_EQ(server->lists(), 1) << "resumed without re-listing";
  EXPECT_GE(server->watches(), 6);
  EXPECT_TRUE(view.errors().empty());
}

TEST(InformerTest, BookmarksAdvanceTheResumeVersion) {
  auto server = std::make_shared<FakeApiServer>();
  server->Put(Cm("a", "1"));
  Client client(server, NoRetry());
  View view;
  Informer informer(client, TestOptions(), view.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(5)));
  ASSERT_TRUE(WaitFor([&] { return server->open_watches() == 1; }));
  server->Put(Cm("other", "x"));
  server->Bookmark();
  std::string rv = std::to_string(server->resource_version());
  ASSERT_TRUE(WaitFor([&] { return informer.last_resource_version() == rv; }));
}

TEST(InformerTest, RelistsAfterCompactionAndReportsWhatVanished) {
  auto server = std::make_shared<FakeApiServer>();
  for (int i = 0; i < 4; ++i) {
    server->Put(Cm("cm" + std::to_string(i), "a"));
  }
  Client client(server, NoRetry());
  View view;
  Informer informer(client, TestOptions(StoreMode::kLean), view.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(5)));
  ASSERT_TRUE(WaitFor([&] { return server->open_watches() == 1; }));

  // Keep the informer away (network errors) while things change and history is compacted.
  server->FailNext("watch", 0, 1'000'000);
  server->DropWatches();
  ASSERT_TRUE(WaitFor([&] { return server->open_watches() == 0; }));
  server->Delete("default", "cm0");
  server->Put(Cm("cm1", "changed"));
  server->Put(Cm("cm9", "new"));
  server->Compact();
  server->ClearFaults();

  ASSERT_TRUE(WaitFor([&] { return view.objects() == ServerView(*server); }, std::chrono::seconds(5)));
  EXPECT_EQ(view.inferred_deletes(), 1);
  EXPECT_EQ(view.last_deleted(),
            (json{{"metadata", {{"namespace", "default"}, {"name", "cm0"}, {"resourceVersion", "101"}}}}));
  EXPECT_TRUE(view.old_was_stub()) << "lean mode passes a key stub with the previous resourceVersion";
  EXPECT_EQ(informer.stats().relists, 1u);
  EXPECT_EQ(informer.store().Get("default/cm1")->object, nullptr);
  EXPECT_TRUE(view.errors().empty()) << view.errors()[0];
}

TEST(InformerTest, AnInferredDeleteSeesTheRelistVersion) {
  auto server = std::make_shared<FakeApiServer>();
  server->Put(Cm("cm0", "a"));
  server->Put(Cm("cm1", "a"));
  Client client(server, NoRetry());
  Informer* self = nullptr;
  std::mutex mu;
  std::string rv_at_delete;
  InformerHandlers handlers;
  handlers.on_add = [](const json&, bool) {};
  handlers.on_update = [](const json*, const json&) {};
  handlers.on_delete = [&](const json&, bool final_state_unknown) {
    std::lock_guard lock(mu);
    if (final_state_unknown) rv_at_delete = self->last_resource_version();
  };
  Informer informer(client, TestOptions(StoreMode::kLean), handlers);
  self = &informer;
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(5)));
  ASSERT_TRUE(WaitFor([&] { return server->open_watches() == 1; }));

  server->FailNext("watch", 0, 1'000'000);
  server->DropWatches();
  ASSERT_TRUE(WaitFor([&] { return server->open_watches() == 0; }));
  server->Delete("default", "cm0");
  server->Put(Cm("cm1", "changed"));  // the re-list's version is past the delete's
  const std::string relist_rv = std::to_string(server->resource_version());
  server->Compact();
  server->ClearFaults();

  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return !rv_at_delete.empty();
      },
      std::chrono::seconds(5)));
  std::lock_guard lock(mu);
  // The version at which cm0 was known gone: later than anything cm0 ever had, so a delete
  // stamped with it is never mistaken for an older event than the last write.
  EXPECT_EQ(rv_at_delete, relist_rv);
}

TEST(InformerTest, FallsBackToAFullListWhenContinueTokensKeepExpiring) {
  auto server = std::make_shared<FakeApiServer>();
  for (int i = 0; i < 5; ++i) {
    server->Put(Cm("cm" + std::to_string(i), "a"));
  }
  server->ExpireContinueTokens(2);
  Client client(server, NoRetry());
  View view;
  Informer informer(client, TestOptions(), view.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(5)));
  EXPECT_EQ(view.objects(), ServerView(*server));
  // page, expired, new snapshot's page, expired again, then one unpaged list.
  EXPECT_EQ(server->list_limits(), (std::vector<int64_t>{2, 2, 2, 2, 0}));
  EXPECT_TRUE(view.errors().empty()) << view.errors()[0];
}

TEST(InformerTest, BacksOffOnServerErrorsAndRecovers) {
  auto server = std::make_shared<FakeApiServer>();
  server->Put(Cm("a", "1"));
  server->FailNext("list", 503, 3);
  server->FailNext("watch", 429, 3);
  Client client(server, NoRetry());
  View view;
  Informer informer(client, TestOptions(), view.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(5)));
  server->Put(Cm("b", "1"));
  ASSERT_TRUE(WaitFor([&] { return view.objects() == ServerView(*server); }, std::chrono::seconds(5)));
  EXPECT_EQ(informer.stats().watch_errors, 3u);
}

TEST(InformerTest, StopEndsABlockedWatchPromptly) {
  auto server = std::make_shared<FakeApiServer>();
  Client client(server, NoRetry());
  View view;
  auto informer = std::make_unique<Informer>(client, TestOptions(), view.Handlers());
  informer->Start();
  ASSERT_TRUE(informer->WaitForSync(std::chrono::seconds(5)));
  ASSERT_TRUE(WaitFor([&] { return server->open_watches() == 1; }));
  auto start = std::chrono::steady_clock::now();
  informer.reset();  // Stop + join
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(server->open_watches(), 0);
}

// Objects keep changing while watches drop, history is compacted and the server fails
// requests; the handler's final view must equal the server's.
TEST(InformerTest, NeverLosesAnEventUnderChurnAndFaults) {
  for (StoreMode mode : {StoreMode::kFull, StoreMode::kLean}) {
    auto server = std::make_shared<FakeApiServer>();
    for (int i = 0; i < 20; ++i) {
      server->Put(Cm("cm" + std::to_string(i), "0"));
    }
    Client client(server, NoRetry());
    View view;
    Informer informer(client, TestOptions(mode), view.Handlers());
    informer.Start();
    ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(5)));
    std::thread writer([&] {
      std::mt19937 rng(42);
      int pending_check = -1;
      int watches_before = 0;
      for (int i = 1; i <= 3000; ++i) {
        std::string name = "cm" + std::to_string(rng() % 40);
        if (rng() % 4 == 0) {
          server->Delete("default", name);
        } else {
          server->Put(Cm(name, std::to_string(i)));
        }
        if (i % 97 == 0) {
          // Drop; keep writing; a little later make sure the informer came back.
          watches_before = server->watches();
          server->DropWatches();
          pending_check = i + 20;
        }
        if (i == pending_check) {
          WaitFor([&] { return server->watches() > watches_before; }, std::chrono::seconds(5));
        }
        if (i % 389 == 0) {
          // A gap longer than the history: keep the informer out, change things, compact.
          server->FailNext("watch", 0, 1'000'000);
          server->DropWatches();
          WaitFor([&] { return server->open_watches() == 0; }, std::chrono::seconds(5));
          for (int j = 0; j < 10; ++j) {
            server->Delete("default", "cm" + std::to_string(rng() % 40));
            server->Put(Cm("cm" + std::to_string(rng() % 40), "gap"));
          }
          server->Compact();
          server->ClearFaults();
        }
        if (i % 211 == 0) {
          server->FailNext(i % 2 == 0 ? "watch" : "list", i % 3 == 0 ? 429 : (i % 3 == 1 ? 500 : 503), 2);
        }
      }
    });
    writer.join();
    ASSERT_TRUE(WaitFor([&] { return view.objects() == ServerView(*server); }, std::chrono::seconds(10)))
        << "mode " << static_cast<int>(mode);
    EXPECT_TRUE(view.errors().empty()) << view.errors()[0];
    InformerStats stats = informer.stats();
    EXPECT_GT(stats.watches, 30u);
    EXPECT_GE(stats.relists, 5u) << "every compaction gap forces a re-list";
    EXPECT_EQ(informer.store().size(), server->Objects().size());
  }
}

}  // namespace
}  // namespace kubesync::kube
