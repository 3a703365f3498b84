#include "kubesync/kube/discovery.h"

#include <gtest/gtest.h>

#include "kubesync/core/testing/fake_clock.h"
#include "kubesync/kube/testing/fake_transport.h"

namespace kubesync::kube {
namespace {

using nlohmann::json;
using testing::FakeTransport;
using testing::JsonReply;
using testing::StatusReply;

json ResourceList(const std::string& gv, bool with_crd) {
  json resources = json::array({
      {{"name", "deployments"},
       {"singularName", "deployment"},
       {"namespaced", true},
       {"kind", "Deployment"},
       {"verbs", {"create", "delete", "get", "list", "patch", "update", "watch"}},
       {"shortNames", {"deploy"}}},
      {{"name", "deployments/status"},
       {"namespaced", true},
       {"kind", "Deployment"},
       {"verbs", {"get", "patch"}}},
      {{"name", "deployments/scale"}, {"namespaced", true}, {"kind", "Scale"}, {"verbs", {"get", "patch"}}},
  });
  if (with_crd) {
    resources.push_back(
        {{"name", "widgets"}, {"namespaced", false}, {"kind", "Widget"}, {"verbs", {"list"}}});
  }
  return {{"kind", "APIResourceList"}, {"groupVersion", gv}, {"resources", resources}};
}

TEST(DiscoveryTest, ResolvesCachesAndRefreshesOnMiss) {
  bool crd_established = false;
  auto transport = std::make_shared<FakeTransport>([&](const HttpRequest& r) -> Result<HttpResponse> {
    if (r.path == "/apis/apps/v1") {
      return JsonReply(200, ResourceList("apps/v1", crd_established));
    }
    return StatusReply(404, "NotFound", "the server could not find the requested resource");
  });
  kubesync::testing::FakeClock clock;
  ClientOptions o;
  o.clock = &clock;
  Client client(transport, o);
  Discovery discovery(client);

  Result<ApiResource> d = discovery.Resolve("apps", "v1", "deployments");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->kind, "Deployment");
  EXPECT_TRUE(d->namespaced);
  EXPECT_TRUE(d->HasVerb("watch"));
  EXPECT_TRUE(d->HasSubresource("scale"));
  EXPECT_TRUE(d->HasSubresource("status"));
  EXPECT_EQ(d->short_names, std::vector<std::string>{"deploy"});
  ASSERT_TRUE(discovery.ResolveKind("apps", "v1", "Deployment").ok());
  EXPECT_EQ(transport->requests().size(), 1u) << "cached";

  Result<ApiResource> missing = discovery.Resolve("apps", "v1", "widgets");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "the server doesn't have a resource type \"widgets\" in group version \"apps/v1\"");
  EXPECT_EQ(transport->requests().size(), 2u) << "a miss refetches";

  crd_established = true;
  Result<ApiResource> widget = discovery.Resolve("apps", "v1", "widgets");
  ASSERT_TRUE(widget.ok()) << widget.status().ToString();
  EXPECT_FALSE(widget->namespaced);

  Result<ApiResource> nogroup = discovery.Resolve("nope.io", "v1", "things");
  EXPECT_EQ(nogroup.status().code(), Code::kNotFound);
  EXPECT_EQ(nogroup.status().message(), "the server does not serve group version \"nope.io/v1\"");
}

}  // namespace
}  // namespace kubesync::kube
