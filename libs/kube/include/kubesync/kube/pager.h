// The one pager of kubesync: pages through one snapshot of a list, restarting when the
// continue token expires. Client::List and the informer are built on it.
#pragma once

#include <functional>

#include "kubesync/core/status.h"
#include "kubesync/kube/client.h"

namespace kubesync::kube {

// Pages through one snapshot of `ref` with `options` (limit = page size), giving each page
// to `on_page` in order; a non-OK Status from `on_page` ends the list and is returned. A
// continue token that expires mid-list (410 Gone after a compaction) starts a fresh
// snapshot after calling `on_restart` (drop what the earlier pages gathered); when it
// expires again, one unpaged list follows, as client-go's pager does
// (k8s.io/client-go/tools/pager, ListPager.FullListIfExpired). Any other error is returned.
// Blocks; the callbacks run on the calling thread.
Status ListPages(Client& client, const ResourceRef& ref, ListOptions options,
                 const std::function<void()>& on_restart, const std::function<Status(ListPage&)>& on_page);

}  // namespace kubesync::kube
