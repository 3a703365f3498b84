// End-to-end watch semantics: resume, synthetic ADDED, 410 as an ERROR event, bookmarks,
// selector enter/leave, drop-watches, timeoutSeconds.
#include "e2e_util.h"

namespace kubesync::emulator::testing {
namespace {

constexpr char kCms[] = "/api/v1/namespaces/default/configmaps";
using testsupport::WaitFor;

class WatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emu_ = StartEmulator(PlainOptions());
    ASSERT_NE(emu_, nullptr);
  }
  Reply Req(const std::string& m, const std::string& p, const std::optional<nlohmann::json>& b = std::nullopt,
            const std::string& ct = "application/json") {
    return Must(emu_->Request(m, p, b, ct));
  }
  std::string Rv() { return Req("GET", kCms).body["metadata"]["resourceVersion"]; }
  std::unique_ptr<Emulator> emu_;
};

TEST_F(WatchTest, ResumesFromResourceVersionWithFullObjects) {
  Req("POST", kCms, ConfigMap("before"));
  const std::string rv = Rv();
  WatchReader w(emu_->port(), std::string(kCms) + "?watch=true&resourceVersion=" + rv);
  Req("POST", kCms, ConfigMap("a"));
  Req("PATCH", std::string(kCms) + "/a", nlohmann::json{{"data", {{"k", "2"}}}},
      "application/merge-patch+json");
  Reply del = Req("DELETE", std::string(kCms) + "/a");
  ASSERT_TRUE(WaitFor([&] { return w.Changes().size() >= 3; }));
  auto ev = w.Changes();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0]["type"], "ADDED");
  EXPECT_EQ(ev[1]["type"], "MODIFIED");
  EXPECT_EQ(ev[2]["type"], "DELETED");
  for (const auto& e : ev) {
    EXPECT_EQ(e["object"]["kind"], "ConfigMap");
    EXPECT_EQ(e["object"]["apiVersion"], "v1");
    EXPECT_EQ(e["object"]["metadata"]["name"], "a");
  }
  EXPECT_EQ(ev[1]["object"]["data"]["k"], "2");
  // DELETED carries the last state stamped with the delete's RV, newer than the update's.
  EXPECT_GT(std::stoull(ev[2]["object"]["metadata"]["resourceVersion"].get<std::string>()),
            std::stoull(ev[1]["object"]["metadata"]["resourceVersion"].get<std::string>()));
  EXPECT_EQ(ev[2]["object"]["metadata"]["resourceVersion"], Rv());
}

TEST_F(WatchTest, ResourceVersionZeroStartsWithSyntheticAdded) {
  Req("POST", kCms, ConfigMap("x1"));
  Req("POST", kCms, ConfigMap("x2"));
  WatchReader w(emu_->port(), std::string(kCms) + "?watch=1&resourceVersion=0");
  ASSERT_TRUE(WaitFor([&] { return w.Changes().size() >= 2; }));
  Req("POST", kCms, ConfigMap("x3"));
  ASSERT_TRUE(WaitFor([&] { return w.Changes().size() >= 3; }));
  auto ev = w.Changes();
  EXPECT_EQ(ev[0]["object"]["metadata"]["name"], "x1");
  EXPECT_EQ(ev[1]["object"]["metadata"]["name"], "x2");
  EXPECT_EQ(ev[2]["object"]["metadata"]["name"], "x3");
  for (const auto& e : ev) EXPECT_EQ(e["type"], "ADDED");
}

TEST_F(WatchTest, TooOldResourceVersionIsAnErrorEvent) {
  Req("POST", kCms, ConfigMap("a"));
  const std::string old = Rv();
  Req("POST", kCms, ConfigMap("b"));
  ASSERT_TRUE(emu_->Compact().ok());
  httplib::Client cli("127.0.0.1", emu_->port());
  auto r = cli.Get((std::string(kCms) + "?watch=true&resourceVersion=" + old).c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto ev = nlohmann::json::parse(r->body.substr(0, r->body.find('\n')));
  EXPECT_EQ(ev["type"], "ERROR");
  EXPECT_EQ(ev["object"]["kind"], "Status");
  EXPECT_EQ(ev["object"]["code"], 410);
  EXPECT_EQ(ev["object"]["reason"], "Expired");
  EXPECT_EQ(ev["object"]["message"].get<std::string>().rfind("too old resource version: " + old, 0), 0u);
  // From the current RV the watch is fine.
  WatchReader ok(emu_->port(), std::string(kCms) + "?watch=true&resourceVersion=" + Rv());
  Req("POST", kCms, ConfigMap("c"));
  ASSERT_TRUE(WaitFor([&] { return ok.Changes().size() == 1; }));
  EXPECT_EQ(ok.Changes()[0]["type"], "ADDED");
}

TEST_F(WatchTest, BookmarksCarryTheLatestResourceVersion) {
  const std::string rv = Rv();
  WatchReader w(emu_->port(),
                std::string(kCms) + "?watch=true&allowWatchBookmarks=true&resourceVersion=" + rv);
  Req("POST", "/api/v1/namespaces", nlohmann::json{{"metadata", {{"name", "other"}}}});
  const std::string after = Rv();
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& e : w.Events()) {
          if (e["type"] == "BOOKMARK" && e["object"]["metadata"]["resourceVersion"] == after) return true;
        }
        return false;
      },
      std::chrono::seconds(5)));
  for (const auto& e : w.Events()) {
    EXPECT_EQ(e["type"], "BOOKMARK");
    EXPECT_EQ(e["object"]["kind"], "ConfigMap");
    EXPECT_EQ(e["object"]["apiVersion"], "v1");
  }
  // Without allowWatchBookmarks there are none.
  WatchReader plain(emu_->port(), std::string(kCms) + "?watch=true&timeoutSeconds=2&resourceVersion=" + rv);
  ASSERT_TRUE(WaitFor([&] { return plain.done(); }, std::chrono::seconds(5)));
  EXPECT_TRUE(plain.Events().empty());
}

TEST_F(WatchTest, SelectorEnterIsAddedAndLeaveIsDeleted) {
  Req("POST", kCms, ConfigMap("s"));
  WatchReader w(emu_->port(),
                std::string(kCms) + "?watch=true&labelSelector=app%3Dx&resourceVersion=" + Rv());
  auto label = [&](const char* v) {
    Req("PATCH", std::string(kCms) + "/s", nlohmann::json{{"metadata", {{"labels", {{"app", v}}}}}},
        "application/merge-patch+json");
  };
  label("x");
  label("y");
  label("x");
  Req("PATCH", std::string(kCms) + "/s", nlohmann::json{{"data", {{"z", "1"}}}},
      "application/merge-patch+json");
  ASSERT_TRUE(WaitFor([&] { return w.Changes().size() >= 4; }));
  auto ev = w.Changes();
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0]["type"], "ADDED");
  EXPECT_EQ(ev[1]["type"], "DELETED");
  EXPECT_EQ(ev[1]["object"]["metadata"]["labels"]["app"], "y");
  EXPECT_EQ(ev[2]["type"], "ADDED");
  EXPECT_EQ(ev[3]["type"], "MODIFIED");
}

TEST_F(WatchTest, DropWatchesAndTimeoutEndStreamsCleanly) {
  WatchReader a(emu_->port(), std::string(kCms) + "?watch=true&resourceVersion=" + Rv());
  WatchReader b(emu_->port(), "/api/v1/secrets?watch=true");
  Req("POST", kCms, ConfigMap("one"));
  ASSERT_TRUE(WaitFor([&] { return a.Changes().size() == 1; }));
  ASSERT_TRUE(emu_->DropWatches().ok());
  EXPECT_TRUE(WaitFor([&] { return a.done() && b.done(); }, std::chrono::seconds(5)));
  WatchReader t(emu_->port(), std::string(kCms) + "?watch=true&timeoutSeconds=1&resourceVersion=" + Rv());
  EXPECT_TRUE(WaitFor([&] { return t.done(); }, std::chrono::seconds(5)));
}

TEST_F(WatchTest, IdleWatchEndsWhenTheClientGoesAway) {
  auto active = [&] { return Req("GET", "/emulator/counters").body.value("activeWatches", -1); };
  {
    WatchReader w(emu_->port(), std::string(kCms) + "?watch=true&resourceVersion=" + Rv());
    ASSERT_TRUE(WaitFor([&] { return active() == 1; }));
  }
  EXPECT_TRUE(WaitFor([&] { return active() == 0; }, std::chrono::seconds(5)));
}

TEST_F(WatchTest, ManyWatchersGetEveryEventInOrder) {
  const std::string rv = Rv();
  std::string path = kCms;
  path += "?watch=true&resourceVersion=";
  path += rv;
  std::vector<std::unique_ptr<WatchReader>> watchers;
  for (int i = 0; i < 50; ++i) watchers.push_back(std::make_unique<WatchReader>(emu_->port(), path));
  constexpr int kWrites = 200;
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kWrites / 4; ++i) {
        std::string name = "m";
        name += std::to_string(t * 1000 + i);
        Must(emu_->Request("POST", kCms, ConfigMap(name)));
      }
    });
  }
  for (auto& th : writers) th.join();
  for (auto& w : watchers) {
    ASSERT_TRUE(WaitFor([&] { return w->Changes().size() >= kWrites; }));
    auto ev = w->Changes();
    ASSERT_EQ(ev.size(), static_cast<size_t>(kWrites));
    uint64_t last = 0;
    for (const auto& e : ev) {
      const uint64_t rv_n = std::stoull(e["object"]["metadata"]["resourceVersion"].get<std::string>());
      EXPECT_GT(rv_n, last);
      last = rv_n;
    }
  }
}

}  // namespace
}  // namespace kubesync::emulator::testing
