#include "kubesync/kube/pager.h"

#include <string>

#include "kubesync/kube/errors.h"

namespace kubesync::kube {

Status ListPages(Client& client, const ResourceRef& ref, ListOptions options,
                 const std::function<void()>& on_restart, const std::function<Status(ListPage&)>& on_page) {
  const std::string first_token = options.continue_token;
  for (int restarts = 0;; ++restarts) {
    Status failed;
    while (true) {
      Result<ListPage> page = client.ListOnePage(ref, options);
      if (!page.ok()) {
        failed = page.status();
        break;
      }
      KS_RETURN_IF_ERROR(on_page(*page));
      if (page->continue_token.empty()) {
        return OkStatus();
      }
      options.continue_token = page->continue_token;
    }
    // Only an expired continue token restarts: a first page that fails is the answer.
    if (!IsGone(failed) || options.continue_token.empty() || restarts >= 2) {
      return failed;
    }
    if (restarts == 1) {
      options.limit = 0;
    }
    options.continue_token = first_token;
    if (on_restart) {
      on_restart();
    }
  }
}

}  // namespace kubesync::kube
