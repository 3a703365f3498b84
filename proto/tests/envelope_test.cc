#include "kubesync/proto/envelope.h"

#include <gtest/gtest.h>

#include "kubesync/v1/event.pb.h"

namespace kubesync::proto {
namespace {

Event SampleEvent() {
  Event e;
  e.type = EventType::kModified;
  e.gvr = {"apps", "v1", "deployments"};
  e.kind = "Deployment";
  e.namespace_ = "default";
  e.name = "web";
  e.uid = "6f1c-uid";
  e.resource_version = "18446744073709551615";  // 2^64-1 still orders exactly
  e.observed_at_unix_nanos = 1'714'557'600'000'000'001;
  e.published_at_unix_nanos = 1'714'557'600'000'000'002;
  e.live_synchronization_id = "kubesync.dr-east";
  e.content_hash = "sha256:0123";
  e.object_json = R"({"kind":"Deployment","metadata":{"name":"web"}})";
  e.old_object_json = R"({"kind":"Deployment"})";
  e.namespace_selected = true;
  e.namespace_labels_json = R"({"env":"pre"})";
  e.verify_destination = true;
  return e;
}

std::string WireBytes(const v1::Envelope& wire) {
  std::string out;
  EXPECT_TRUE(wire.SerializeToString(&out));
  return out;
}

v1::Envelope SampleWire() {
  auto bytes = Encode(SampleEvent());
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  v1::Envelope wire;
  EXPECT_TRUE(wire.ParseFromString(*bytes));
  return wire;
}

void ExpectDecodeError(const v1::Envelope& wire, const std::string& message) {
  auto decoded = Decode(WireBytes(wire));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(decoded.status().message(), message);
}

TEST(EnvelopeTest, RoundTripKeepsEveryField) {
  const Event in = SampleEvent();
  auto bytes = Encode(in);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto out = Decode(*bytes);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->resource_version_number, 18446744073709551615ULL);
  Event expected = in;
  expected.resource_version_number = 18446744073709551615ULL;
  EXPECT_EQ(*out, expected);
}

TEST(EnvelopeTest, AllEventTypesRoundTrip) {
  for (EventType t : {EventType::kAdded, EventType::kModified, EventType::kDeleted, EventType::kResync,
                      EventType::kDeleteRequest}) {
    Event e = SampleEvent();
    e.type = t;
    auto out = Decode(*Encode(e));
    ASSERT_TRUE(out.ok()) << EventTypeName(t) << ": " << out.status().ToString();
    EXPECT_EQ(out->type, t);
  }
}

TEST(EnvelopeTest, DeleteRequestMayOmitResourceVersionAndObject) {
  Event e = SampleEvent();
  e.type = EventType::kDeleteRequest;
  e.resource_version.clear();
  e.object_json.clear();
  e.old_object_json.clear();
  auto out = Decode(*Encode(e));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->resource_version_number, 0u);
}

TEST(EnvelopeTest, GarbageIsRejectedAsNotAnEnvelope) {
  auto out = Decode(std::string("\xff\xff\xff\xff", 4));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(out.status().message(), "envelope: not a valid kubesync.v1.Envelope protobuf (4 bytes)");
}

TEST(EnvelopeTest, EmptyPayloadNamesTheMissingType) {
  auto out = Decode("");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "envelope.type: required (EVENT_TYPE_UNSPECIFIED)");
}

TEST(EnvelopeTest, DecodeErrorsNameTheField) {
  {
    auto w = SampleWire();
    w.set_type(static_cast<v1::EventType>(42));
    ExpectDecodeError(w, "envelope.type: unknown event type 42");
  }
  {
    auto w = SampleWire();
    w.mutable_gvr()->clear_resource();
    ExpectDecodeError(w, "envelope.gvr.resource: required");
  }
  {
    auto w = SampleWire();
    w.mutable_gvr()->clear_version();
    ExpectDecodeError(w, "envelope.gvr.version: required");
  }
  {
    auto w = SampleWire();
    w.clear_name();
    ExpectDecodeError(w, "envelope.name: required");
  }
  {
    auto w = SampleWire();
    w.set_namespace_("a/b");
    ExpectDecodeError(w, "envelope.namespace: contains a character that is not allowed: \"a/b\"");
  }
  {
    auto w = SampleWire();
    w.set_resource_version("12a");
    ExpectDecodeError(w, "envelope.resource_version: resourceVersion \"12a\" is not a decimal integer");
  }
  {
    auto w = SampleWire();
    w.set_resource_version("99999999999999999999");
    ExpectDecodeError(
        w, "envelope.resource_version: resourceVersion \"99999999999999999999\" does not fit in 64 bits");
  }
  {
    auto w = SampleWire();
    w.set_resource_version("10");
    w.set_resource_version_number(11);
    ExpectDecodeError(w, "envelope.resource_version_number: 11 does not match resource_version \"10\"");
  }
  {
    auto w = SampleWire();
    w.clear_resource_version();
    ExpectDecodeError(w, "envelope.resource_version: required");
  }
  {
    auto w = SampleWire();
    w.set_live_synchronization_id("nodot");
    ExpectDecodeError(w, "envelope.live_synchronization_id: \"nodot\" is not <namespace>.<name>");
  }
  {
    auto w = SampleWire();
    w.clear_object_json();
    ExpectDecodeError(w, "envelope.object_json: required for MODIFIED events");
  }
  {
    auto w = SampleWire();
    w.set_object_json("[1,2]");
    ExpectDecodeError(w, "envelope.object_json: not a JSON object");
  }
  {
    auto w = SampleWire();
    w.set_observed_at_unix_nanos(-1);
    ExpectDecodeError(w, "envelope.observed_at_unix_nanos: negative");
  }
}

TEST(EnvelopeTest, EncodeValidatesToo) {
  Event e = SampleEvent();
  e.name.clear();
  auto out = Encode(e);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "envelope.name: required");
}

TEST(EnvelopeTest, ObjectKeyIsGroupResourceNamespaceName) {
  Event e = SampleEvent();
  EXPECT_EQ(ObjectKey(e), "apps/deployments/default/web");
  e.gvr.group.clear();
  e.namespace_.clear();
  EXPECT_EQ(ObjectKey(e), "/deployments//web");
}

}  // namespace
}  // namespace kubesync::proto
