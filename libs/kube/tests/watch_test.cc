#include "kubesync/kube/watch.h"

#include <gtest/gtest.h>

namespace kubesync::kube {
namespace {

const char kStream[] =
    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\",\"resourceVersion\":"
    "\"5\"}}}\n"
    "\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"6\"},"
    "\"data\":{\"k\":\"\xc3\xa9\\n\"}}}\r\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"resourceVersion\":\"9\"}}}\n"
    "{\"type\":\"DELETED\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"10\"}}}\n"
    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\"}}\n";

TEST(WatchDecoderTest, DecodesWhateverTheSplit) {
  std::string stream = kStream;
  for (size_t split = 1; split <= stream.size(); ++split) {
    WatchDecoder decoder;
    std::vector<WatchEvent> events;
    for (size_t i = 0; i < stream.size(); i += split) {
      ASSERT_TRUE(decoder.Feed(std::string_view(stream).substr(i, split), events).ok()) << split;
    }
    ASSERT_TRUE(decoder.Finish(events).ok());
    ASSERT_EQ(events.size(), 5u) << split;
    EXPECT_EQ(events[0].type, WatchEventType::kAdded);
    EXPECT_EQ(events[0].ResourceVersion(), "5");
    EXPECT_EQ(events[1].type, WatchEventType::kModified);
    EXPECT_EQ(events[1].object["data"]["k"], "\xc3\xa9\n");
    EXPECT_EQ(events[2].type, WatchEventType::kBookmark);
    EXPECT_EQ(events[2].ResourceVersion(), "9");
    EXPECT_EQ(events[3].type, WatchEventType::kDeleted);
    EXPECT_EQ(events[4].type, WatchEventType::kError);
    EXPECT_EQ(events[4].object["code"], 410);
    EXPECT_EQ(decoder.buffered_bytes(), 0u);
  }
}

TEST(WatchDecoderTest, FinishDecodesALastLineWithoutNewline) {
  WatchDecoder decoder;
  std::vector<WatchEvent> events;
  ASSERT_TRUE(decoder.Feed("{\"type\":\"ADDED\",\"object\":{\"metadata\":{}}}", events).ok());
  EXPECT_TRUE(events.empty());
  ASSERT_TRUE(decoder.Finish(events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].ResourceVersion(), "");
}

TEST(WatchDecoderTest, MalformedLinesAreStickyErrors) {
  struct Case {
    std::string line;
    std::string message;
  };
  std::vector<Case> cases = {
      {"{not json", "watch event: not valid JSON"},
      {"[1,2]", "watch event: not a JSON object"},
      {"{\"object\":{}}", "watch event: missing string field \"type\""},
      {"{\"type\":\"SOMETHING\",\"object\":{}}", "watch event: unknown type \"SOMETHING\""},
      {"{\"type\":\"ADDED\",\"object\":5}", "watch event: missing object field \"object\""},
      {"{\"type\":\"ADDED\",\"object\":{}}", "watch event: object has no metadata"},
      {"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":5}}}",
       "watch event: metadata.resourceVersion is not a string"},
      {"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{}}}",
       "watch event: BOOKMARK without metadata.resourceVersion"},
  };
  for (const auto& c : cases) {
    WatchDecoder decoder;
    std::vector<WatchEvent> events;
    Status s = decoder.Feed("{\"type\":\"ADDED\",\"object\":{\"metadata\":{}}}\n" + c.line + "\n", events);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.line;
    EXPECT_EQ(s.message(), c.message) << c.line;
    EXPECT_EQ(events.size(), 1u) << "events before the bad line are kept";
    EXPECT_EQ(decoder.Feed("{\"type\":\"ADDED\",\"object\":{\"metadata\":{}}}\n", events).message(),
              c.message);
    EXPECT_EQ(events.size(), 1u);
  }
}

TEST(WatchDecoderTest, RejectsOverlongLines) {
  WatchDecoder decoder(100);
  std::vector<WatchEvent> events;
  Status s = decoder.Feed(std::string(60, ' '), events);
  ASSERT_TRUE(s.ok());
  s = decoder.Feed(std::string(60, ' '), events);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "watch event: line longer than 100 bytes");
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

}  // namespace
}  // namespace kubesync::kube
