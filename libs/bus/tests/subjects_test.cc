#include "kubesync/bus/subjects.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace kubesync::bus {
namespace {

TEST(SubjectsTest, NamesForASimpleId) {
  EXPECT_EQ(*StreamName("kubesync.dr-east"), "KUBESYNC_kubesync_dr-east");
  EXPECT_EQ(*EventsSubject("kubesync.dr-east"), "kubesync.kubesync.dr-east.events");
  EXPECT_EQ(*SyncSubject("kubesync.dr-east", 3), "kubesync.kubesync.dr-east.sync.3");
  EXPECT_EQ(*SyncWildcard("kubesync.dr-east"), "kubesync.kubesync.dr-east.sync.*");
}

TEST(SubjectsTest, DotsInTheNameBecomeUnderscores) {
  EXPECT_EQ(*StreamName("ns.a.b"), "KUBESYNC_ns_a_b");
  EXPECT_EQ(*EventsSubject("ns.a.b"), "kubesync.ns.a_b.events");
  // "ns.a.b" (name "a.b") and "ns.a_b" cannot both exist: '_' is not valid in a name.
  auto bad = StreamName("ns.a_b");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "live synchronization id \"ns.a_b\": name is not a DNS subdomain");
}

TEST(SubjectsTest, InvalidIdsAreRejected) {
  auto no_dot = StreamName("nodot");
  ASSERT_FALSE(no_dot.ok());
  EXPECT_EQ(no_dot.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(no_dot.status().message(), "live synchronization id \"nodot\": want <namespace>.<name>");
  auto bad_ns = StreamName("Big.x");
  ASSERT_FALSE(bad_ns.ok());
  EXPECT_EQ(bad_ns.status().message(), "live synchronization id \"Big.x\": namespace is not a DNS label");
  EXPECT_FALSE(StreamName("ns.x*").ok());
  EXPECT_FALSE(StreamName("ns.").ok());
  EXPECT_FALSE(StreamName("ns.a..b").ok());
  EXPECT_FALSE(SyncSubject("ns.x", -1).ok());
}

TEST(SubjectsTest, Fnv1a64KnownVectors) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

TEST(SubjectsTest, PartitionIsStableAndSpreads) {
  EXPECT_EQ(Partition("apps/deployments/default/web", 1), 0);
  EXPECT_EQ(Partition("apps/deployments/default/web", 8),
            static_cast<int>(Fnv1a64("apps/deployments/default/web") % 8));
  std::vector<int> counts(8, 0);
  for (int i = 0; i < 8000; ++i) {
    ++counts[static_cast<size_t>(Partition("/configmaps/ns/cm-" + std::to_string(i), 8))];
  }
  for (int c : counts) {
    EXPECT_GT(c, 800);  // ~1000 each
    EXPECT_LT(c, 1200);
  }
}

}  // namespace
}  // namespace kubesync::bus
