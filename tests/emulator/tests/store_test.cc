#include "store.h"

#include <gtest/gtest.h>

#include "journal.h"
#include "kubesync/testsupport/process.h"

namespace kubesync::emulator {
namespace {

nlohmann::json Obj(const std::string& ns, const std::string& name, int v = 0) {
  return {{"kind", "ConfigMap"},
          {"apiVersion", "v1"},
          {"metadata", {{"namespace", ns}, {"name", name}}},
          {"data", {{"v", std::to_string(v)}}}};
}

std::vector<std::string> Names(const ListResult& r) {
  std::vector<std::string> out;
  for (const auto& o : r.items) out.push_back((*o)["metadata"]["name"]);
  return out;
}

TEST(StoreTest, CommitBumpsOneGlobalCounterAndDetectsRaces) {
  Store s(100);
  auto e1 = s.Commit("configmaps", "a", "x", nullptr, Obj("a", "x"));
  ASSERT_NE(e1, nullptr);
  EXPECT_EQ(e1->rv, 1u);
  EXPECT_EQ(e1->type, EventType::kAdded);
  EXPECT_EQ((*e1->object)["metadata"]["resourceVersion"], "1");
  // Creating again (expected = absent) loses the race.
  EXPECT_EQ(s.Commit("configmaps", "a", "x", nullptr, Obj("a", "x")), nullptr);
  auto e2 = s.Commit("secrets", "a", "x", nullptr, Obj("a", "x"));
  EXPECT_EQ(e2->rv, 2u);
  // Update against a stale read loses; against the current one wins.
  auto cur = s.Get("configmaps", "a", "x");
  auto e3 = s.Commit("configmaps", "a", "x", cur, Obj("a", "x", 1));
  ASSERT_NE(e3, nullptr);
  EXPECT_EQ(e3->type, EventType::kModified);
  EXPECT_EQ(e3->old, cur);
  EXPECT_EQ(s.Commit("configmaps", "a", "x", cur, Obj("a", "x", 2)), nullptr);
  auto e4 = s.Commit("configmaps", "a", "x", s.Get("configmaps", "a", "x"), std::nullopt);
  ASSERT_NE(e4, nullptr);
  EXPECT_EQ(e4->type, EventType::kDeleted);
  EXPECT_EQ((*e4->object)["metadata"]["resourceVersion"], "4");
  EXPECT_EQ((*e4->object)["data"]["v"], "1");
  EXPECT_EQ(s.Get("configmaps", "a", "x"), nullptr);
  EXPECT_EQ(s.CurrentRv(), 4u);
}

TEST(StoreTest, ListByNamespaceAndFilterAndPages) {
  Store s(100);
  for (const char* ns : {"a", "b"}) {
    for (int i = 0; i < 5; ++i)
      s.Commit("configmaps", ns, "o" + std::to_string(i), nullptr, Obj(ns, "o" + std::to_string(i)));
  }
  auto all = std::get<ListResult>(s.List("configmaps", "", 0, "", 0, nullptr));
  EXPECT_EQ(all.items.size(), 10u);
  EXPECT_EQ(all.rv, 10u);
  auto in_a = std::get<ListResult>(s.List("configmaps", "a", 0, "", 0, nullptr));
  EXPECT_EQ(Names(in_a), std::vector<std::string>({"o0", "o1", "o2", "o3", "o4"}));
  auto odd = std::get<ListResult>(s.List("configmaps", "b", 0, "", 0, [](const nlohmann::json& o) {
    return o["metadata"]["name"] == "o1" || o["metadata"]["name"] == "o3";
  }));
  EXPECT_EQ(Names(odd), std::vector<std::string>({"o1", "o3"}));
  auto p1 = std::get<ListResult>(s.List("configmaps", "a", 0, "", 2, nullptr));
  EXPECT_EQ(Names(p1), std::vector<std::string>({"o0", "o1"}));
  EXPECT_EQ(p1.next_key, "a/o1");
  auto p3 = std::get<ListResult>(s.List("configmaps", "a", p1.rv, "a/o3", 2, nullptr));
  EXPECT_EQ(Names(p3), std::vector<std::string>({"o4"}));
  EXPECT_TRUE(p3.next_key.empty());
}

TEST(StoreTest, ListAtOlderRvRebuildsFromHistory) {
  Store s(100);
  s.Commit("configmaps", "a", "x", nullptr, Obj("a", "x", 1));
  s.Commit("configmaps", "a", "y", nullptr, Obj("a", "y", 1));
  const uint64_t rv = s.CurrentRv();
  s.Commit("configmaps", "a", "x", s.Get("configmaps", "a", "x"), Obj("a", "x", 2));
  s.Commit("configmaps", "a", "y", s.Get("configmaps", "a", "y"), std::nullopt);
  s.Commit("configmaps", "a", "z", nullptr, Obj("a", "z"));
  auto then = std::get<ListResult>(s.List("configmaps", "a", rv, "", 0, nullptr));
  EXPECT_EQ(then.rv, rv);
  ASSERT_EQ(Names(then), std::vector<std::string>({"x", "y"}));
  EXPECT_EQ((*then.items[0])["data"]["v"], "1");
  auto now = std::get<ListResult>(s.List("configmaps", "a", 0, "", 0, nullptr));
  EXPECT_EQ(Names(now), std::vector<std::string>({"x", "z"}));
  s.Compact();
  auto gone = s.List("configmaps", "a", rv, "", 0, nullptr);
  ASSERT_TRUE(std::holds_alternative<ApiError>(gone));
  EXPECT_EQ(std::get<ApiError>(gone).code, 410);
  EXPECT_EQ(std::get<ApiError>(gone).reason, "Expired");
}

TEST(StoreTest, HistoryIsBoundedAndWaitersSeeEverything) {
  Store s(3);
  for (int i = 0; i < 5; ++i) s.Commit("configmaps", "a", "o" + std::to_string(i), nullptr, Obj("a", "o"));
  EXPECT_EQ(s.HistoryStartRv(), 2u);
  auto behind = s.WaitEvents(1, std::chrono::milliseconds(1), 100);
  EXPECT_TRUE(behind.fell_behind);
  auto batch = s.WaitEvents(2, std::chrono::milliseconds(1), 100);
  ASSERT_EQ(batch.events.size(), 3u);
  EXPECT_EQ(batch.events[0]->rv, 3u);
  EXPECT_EQ(batch.scanned_rv, 5u);
  auto limited = s.WaitEvents(2, std::chrono::milliseconds(1), 2);
  EXPECT_EQ(limited.events.size(), 2u);
  EXPECT_EQ(limited.scanned_rv, 4u);
  auto none = s.WaitEvents(5, std::chrono::milliseconds(5), 10);
  EXPECT_TRUE(none.events.empty());
  EXPECT_FALSE(none.fell_behind);
}

TEST(JournalTest, ReplaysSnapshotAndJournal) {
  testsupport::TempDir dir;
  {
    Store s(100);
    Journal j(dir.path());
    ASSERT_TRUE(j.Open(s).ok());
    auto e = s.Commit("configmaps", "a", "x", nullptr, Obj("a", "x", 1));
    j.Append(*e);
    e = s.Commit("configmaps", "a", "y", nullptr, Obj("a", "y", 1));
    j.Append(*e);
    e = s.Commit("configmaps", "a", "y", s.Get("configmaps", "a", "y"), std::nullopt);
    j.Append(*e);
    // No checkpoint: as after SIGKILL.
  }
  Store s(100);
  Journal j(dir.path());
  ASSERT_TRUE(j.Open(s).ok());
  EXPECT_EQ(s.CurrentRv(), 3u);
  ASSERT_NE(s.Get("configmaps", "a", "x"), nullptr);
  EXPECT_EQ((*s.Get("configmaps", "a", "x"))["metadata"]["resourceVersion"], "1");
  EXPECT_EQ(s.Get("configmaps", "a", "y"), nullptr);
  EXPECT_EQ(s.HistoryStartRv(), 3u);
}

}  // namespace
}  // namespace kubesync::emulator
