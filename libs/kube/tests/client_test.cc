#include "kubesync/kube/client.h"

#include <gtest/gtest.h>

#include "kubesync/core/testing/fake_clock.h"
#include "kubesync/kube/errors.h"
#include "kubesync/kube/testing/fake_transport.h"

namespace kubesync::kube {
namespace {

using nlohmann::json;
using testing::FakeTransport;
using testing::JsonReply;
using testing::StatusReply;

ResourceRef Cm(const std::string& ns = "default", const std::string& name = "") {
  return ResourceRef{"", "v1", "configmaps", ns, name, ""};
}

ClientOptions FastOptions(const Clock* clock) {
  ClientOptions o;
  o.clock = clock;
  o.qps = 0;  // no rate limit unless a test asks
  o.backoff = {std::chrono::milliseconds(100), std::chrono::milliseconds(1000), 2.0, 0.0};
  return o;
}

TEST(ResourceRefTest, Paths) {
  EXPECT_EQ(Cm("a", "b").Path(), "/api/v1/namespaces/a/configmaps/b");
  EXPECT_EQ(Cm("", "").Path(), "/api/v1/configmaps");
  EXPECT_EQ((ResourceRef{"apps", "v1", "deployments", "ns", "web", "scale"}).Path(),
            "/apis/apps/v1/namespaces/ns/deployments/web/scale");
  EXPECT_EQ((ResourceRef{"rbac.authorization.k8s.io", "v1", "clusterroles", "", "admin", ""}).Path(),
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin");
  EXPECT_EQ((ResourceRef{"", "v1", "namespaces", "", "kube-system", "status"}).Path(),
            "/api/v1/namespaces/kube-system/status");
  EXPECT_EQ((ResourceRef{"apps", "v1", "deployments"}).Display(), "deployments.apps");
}

TEST(ErrorsTest, MapsReasonsAndCodes) {
  struct Case {
    int http;
    std::string reason;
    Code code;
  };
  std::vector<Case> cases = {
      {404, "NotFound", Code::kNotFound},
      {409, "AlreadyExists", Code::kAlreadyExists},
      {409, "Conflict", Code::kAborted},
      {410, "Expired", Code::kOutOfRange},
      {410, "Gone", Code::kOutOfRange},
      {401, "Unauthorized", Code::kUnauthenticated},
      {403, "Forbidden", Code::kPermissionDenied},
      {422, "Invalid", Code::kInvalidArgument},
      {400, "BadRequest", Code::kInvalidArgument},
      {429, "TooManyRequests", Code::kUnavailable},
      {500, "InternalError", Code::kUnavailable},
      {503, "ServiceUnavailable", Code::kUnavailable},
      {504, "Timeout", Code::kUnavailable},
      {415, "UnsupportedMediaType", Code::kInvalidArgument},
      {405, "MethodNotAllowed", Code::kUnimplemented},
  };
  for (const auto& c : cases) {
    Status s = StatusFromResponse(c.http, StatusReply(c.http, c.reason, "msg " + c.reason).body);
    EXPECT_EQ(s.code(), c.code) << c.reason;
    EXPECT_EQ(s.reason(), c.reason);
    EXPECT_EQ(s.http_status(), c.http);
    EXPECT_EQ(s.message(), "msg " + c.reason);
  }
  // No Status body: the code decides and a reason is filled in.
  Status plain = StatusFromResponse(502, "<html>bad gateway</html>");
  EXPECT_EQ(plain.code(), Code::kUnavailable);
  EXPECT_EQ(plain.message(), "HTTP 502: <html>bad gateway</html>");
  Status conflict = StatusFromResponse(409, "");
  EXPECT_EQ(conflict.code(), Code::kAborted);
  EXPECT_EQ(conflict.reason(), "Conflict");
  EXPECT_TRUE(IsConflict(conflict));
  EXPECT_TRUE(IsGone(StatusFromResponse(410, "")));
}

TEST(ClientTest, GetReturnsObjectOrMappedError) {
  kubesync::testing::FakeClock clock;
  auto transport = std::make_shared<FakeTransport>([](const HttpRequest& r) -> Result<HttpResponse> {
    if (r.path == "/api/v1/namespaces/default/configmaps/a") {
      return JsonReply(200, {{"metadata", {{"name", "a"}}}});
    }
    return StatusReply(404, "NotFound", "configmaps \"b\" not found");
  });
  Client client(transport, FastOptions(&clock));
  Result<json> a = client.Get(Cm("default", "a"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)["metadata"]["name"], "a");
  Result<json> b = client.Get(Cm("default", "b"));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kNotFound);
  EXPECT_EQ(b.status().reason(), "NotFound");
  EXPECT_EQ(b.status().message(), "configmaps \"b\" not found");
  EXPECT_EQ(transport->requests().size(), 2u) << "404 is not retried";
}

TEST(ClientTest, ListPagesThroughOneSnapshot) {
  kubesync::testing::FakeClock clock;
  auto transport = std::make_shared<FakeTransport>([](const HttpRequest& r) -> Result<HttpResponse> {
    int page = r.path.find("continue=p2") != std::string::npos   ? 2
               : r.path.find("continue=p3") != std::string::npos ? 3
                                                                 : 1;
    json items = json::array({{{"metadata", {{"name", "item" + std::to_string(page)}}}}});
    json md = {{"resourceVersion", "77"}};
    if (page < 3) {
      md["continue"] = "p" + std::to_string(page + 1);
    }
    return JsonReply(200,
                     {{"kind", "ConfigMapList"}, {"apiVersion", "v1"}, {"metadata", md}, {"items", items}});
  });
  Client client(transport, FastOptions(&clock));
  ListOptions lo;
  lo.label_selector = "app in (a,b),tier!=x";
  Result<ListResult> list = client.List(Cm("team"), lo);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->items.size(), 3u);
  EXPECT_EQ(list->items[2]["metadata"]["name"], "item3");
  EXPECT_EQ(list->resource_version, "77");
  EXPECT_EQ(list->kind, "ConfigMapList");
  auto reqs = transport->requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(
      reqs[0].path,
      "/api/v1/namespaces/team/configmaps?labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Dx&limit=500");
  EXPECT_EQ(reqs[1].path,
            "/api/v1/namespaces/team/"
            "configmaps?labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Dx&limit=500&continue=p2");
}

TEST(ClientTest, ListRestartsWhenTheContinueTokenExpires) {
  kubesync::testing::FakeClock clock;
  int calls = 0;
  auto transport = std::make_shared<FakeTransport>([&](const HttpRequest& r) -> Result<HttpResponse> {
    ++calls;
    if (r.path.find("continue=") != std::string::npos) {
      if (calls == 2) {
        return StatusReply(410, "Expired", "The provided continue parameter is too old");
      }
      return JsonReply(200,
                       {{"metadata", {{"resourceVersion", "9"}}}, {"items", json::array({json::object()})}});
    }
    return JsonReply(200, {{"metadata", {{"resourceVersion", "9"}, {"continue", "c"}}},
                           {"items", json::array({json::object()})}});
  });
  Client client(transport, FastOptions(&clock));
  Result<ListResult> list = client.List(Cm());
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->items.size(), 2u);
  EXPECT_EQ(calls, 4);
}

TEST(ClientTest, RetriesTooManyRequestsHonouringRetryAfter) {
  kubesync::testing::FakeClock clock;
  int calls = 0;
  auto transport = std::make_shared<FakeTransport>([&](const HttpRequest&) -> Result<HttpResponse> {
    if (++calls <= 2) {
      return StatusReply(429, "TooManyRequests", "slow down", 3);
    }
    return JsonReply(201, {{"metadata", {{"name", "x"}}}});
  });
  Client client(transport, FastOptions(&clock));
  MonoTime start = clock.SteadyNow();
  Result<json> created = client.Create(Cm(), {{"metadata", {{"name", "x"}}}});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(clock.SteadyNow() - start, std::chrono::seconds(6));
}

TEST(ClientTest, CreateIsRetriedOnlyWhenItCannotHaveBeenProcessed) {
  kubesync::testing::FakeClock clock;
  std::vector<Result<HttpResponse>> replies;
  size_t next = 0;
  auto transport = std::make_shared<FakeTransport>([&](const HttpRequest&) { return replies[next++]; });
  Client client(transport, FastOptions(&clock));
  json obj = {{"metadata", {{"name", "x"}}}};

  // 500: the server may have stored it; not repeated.
  replies = {StatusReply(500, "InternalError", "boom"), JsonReply(201, obj)};
  next = 0;
  Result<json> r = client.Create(Cm(), obj);
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().reason(), "InternalError");
  EXPECT_EQ(next, 1u);

  // A connection that broke after sending: not repeated.
  replies = {Result<HttpResponse>(UnavailableError("connection reset")), JsonReply(201, obj)};
  next = 0;
  EXPECT_EQ(client.Create(Cm(), obj).status().message(), "connection reset");
  EXPECT_EQ(next, 1u);

  // 503 and connect failures before sending: repeated.
  Status not_sent = UnavailableError("connection refused");
  not_sent.WithHttp(0, std::string(kReasonNotSent));
  replies = {StatusReply(503, "ServiceUnavailable", "later"), Result<HttpResponse>(not_sent),
             JsonReply(201, obj)};
  next = 0;
  EXPECT_TRUE(client.Create(Cm(), obj).ok());
  EXPECT_EQ(next, 3u);

  // Idempotent verbs are repeated on 500 and network errors.
  replies = {StatusReply(500, "InternalError", "boom"), Result<HttpResponse>(UnavailableError("reset")),
             JsonReply(200, obj)};
  next = 0;
  EXPECT_TRUE(client.Get(Cm("default", "x")).ok());
  EXPECT_EQ(next, 3u);
}

TEST(ClientTest, GivesUpAfterMaxRetries) {
  kubesync::testing::FakeClock clock;
  int calls = 0;
  auto transport = std::make_shared<FakeTransport>([&](const HttpRequest&) -> Result<HttpResponse> {
    ++calls;
    return StatusReply(503, "ServiceUnavailable", "down");
  });
  ClientOptions o = FastOptions(&clock);
  o.max_retries = 3;
  Client client(transport, o);
  Result<json> r = client.Get(Cm("default", "x"));
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().reason(), "ServiceUnavailable");
  EXPECT_EQ(calls, 4);
}

TEST(ClientTest, WritesSendTheRightMethodsBodiesAndContentTypes) {
  kubesync::testing::FakeClock clock;
  auto transport = std::make_shared<FakeTransport>(
      [](const HttpRequest&) -> Result<HttpResponse> { return JsonReply(200, json::object()); });
  Client client(transport, FastOptions(&clock));
  json obj = {{"metadata", {{"name", "web"}, {"resourceVersion", "5"}}}};
  ResourceRef deploy{"apps", "v1", "deployments", "ns", "web", ""};
  ASSERT_TRUE(client.Create(deploy, obj, {.field_manager = "kubesync", .dry_run = true}).ok());
  ASSERT_TRUE(client.Update(deploy, obj).ok());
  ASSERT_TRUE(client.Patch(deploy, PatchType::kMerge, R"({"spec":{"replicas":0}})").ok());
  ASSERT_TRUE(client.Patch(deploy, PatchType::kApply, R"({"apiVersion":"apps/v1"})", {.force = true}).ok());
  ResourceRef scale = deploy;
  scale.subresource = "scale";
  ASSERT_TRUE(
      client.Patch(scale, PatchType::kJson, R"([{"op":"replace","path":"/spec/replicas","value":1}])").ok());
  ASSERT_TRUE(client.Patch(deploy, PatchType::kStrategicMerge, "{}").ok());
  DeleteOptions del;
  del.propagation_policy = "Foreground";
  del.precondition_uid = "u-1";
  del.precondition_resource_version = "5";
  ASSERT_TRUE(client.Delete(deploy, del).ok());

  auto reqs = transport->requests();
  ASSERT_EQ(reqs.size(), 7u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/apis/apps/v1/namespaces/ns/deployments?fieldManager=kubesync&dryRun=All");
  EXPECT_EQ(reqs[0].content_type, "application/json");
  EXPECT_EQ(json::parse(reqs[0].body), obj);
  EXPECT_EQ(reqs[1].method, "PUT");
  EXPECT_EQ(reqs[1].path, "/apis/apps/v1/namespaces/ns/deployments/web");
  EXPECT_EQ(reqs[2].method, "PATCH");
  EXPECT_EQ(reqs[2].content_type, "application/merge-patch+json");
  EXPECT_EQ(reqs[3].content_type, "application/apply-patch+yaml");
  EXPECT_EQ(reqs[3].path, "/apis/apps/v1/namespaces/ns/deployments/web?fieldManager=kubesync&force=true");
  EXPECT_EQ(reqs[4].content_type, "application/json-patch+json");
  EXPECT_EQ(reqs[4].path, "/apis/apps/v1/namespaces/ns/deployments/web/scale");
  EXPECT_EQ(reqs[5].content_type, "application/strategic-merge-patch+json");
  EXPECT_EQ(reqs[6].method, "DELETE");
  EXPECT_EQ(json::parse(reqs[6].body), (json{{"kind", "DeleteOptions"},
                                             {"apiVersion", "v1"},
                                             {"propagationPolicy", "Foreground"},
                                             {"preconditions", {{"uid", "u-1"}, {"resourceVersion", "5"}}}}));
}

TEST(ClientTest, WatchDecodesEventsAndMapsErrors) {
  kubesync::testing::FakeClock clock;
  std::string body =
      "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"2\"}}}\n"
      "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"3\"}}}\n"
      "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\",\"message\":"
      "\"too "
      "old resource version: 1 (3)\"}}\n";
  bool gone = false;
  auto transport = std::make_shared<FakeTransport>([&](const HttpRequest&) -> Result<HttpResponse> {
    if (gone) {
      return StatusReply(410, "Gone", "gone");
    }
    HttpResponse r;
    r.status = 200;
    r.body = body;
    return r;
  });
  Client client(transport, FastOptions(&clock));
  std::vector<WatchEvent> events;
  WatchOptions wo;
  wo.resource_version = "1";
  wo.timeout = std::chrono::seconds(42);
  Status s = client.Watch(Cm(), wo, [&](WatchEvent&& e) {
    events.push_back(std::move(e));
    return true;
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].type, WatchEventType::kBookmark);
  Status err = StatusFromApiStatus(events[2].object);
  EXPECT_EQ(err.code(), Code::kOutOfRange);
  EXPECT_EQ(err.reason(), "Expired");
  EXPECT_EQ(err.message(), "too old resource version: 1 (3)");
  EXPECT_EQ(transport->requests()[0].path,
            "/api/v1/namespaces/default/"
            "configmaps?watch=true&resourceVersion=1&allowWatchBookmarks=true&timeoutSeconds=42");

  gone = true;
  Status g = client.Watch(Cm(), wo, [](WatchEvent&&) { return true; });
  EXPECT_EQ(g.code(), Code::kOutOfRange);
  EXPECT_TRUE(IsGone(g));
}

TEST(ClientTest, RateLimiterSpacesRequestsAfterTheBurst) {
  kubesync::testing::FakeClock clock;
  auto transport = std::make_shared<FakeTransport>(
      [](const HttpRequest&) -> Result<HttpResponse> { return JsonReply(200, json::object()); });
  ClientOptions o = FastOptions(&clock);
  o.qps = 10;
  o.burst = 2;
  Client client(transport, o);
  MonoTime start = clock.SteadyNow();
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(client.Get(Cm("default", "x")).ok());
  }
  // 2 free, then 4 at 100 ms each.
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(clock.SteadyNow() - start);
  EXPECT_GE(waited.count(), 399);
  EXPECT_LE(waited.count(), 401);
}

}  // namespace
}  // namespace kubesync::kube
