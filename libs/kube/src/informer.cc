#include "kubesync/kube/informer.h"

#include <random>
#include <unordered_set>

#include "kubesync/kube/errors.h"
#include "kubesync/kube/pager.h"

namespace kubesync::kube {
namespace {

using nlohmann::json;

}  // namespace

Informer::Informer(Client& client, InformerOptions options, InformerHandlers handlers)
    : client_(client),
      options_(std::move(options)),
      handlers_(std::move(handlers)),
      store_(options_.store_mode) {
  options_.resource.name.clear();
  if (options_.clock == nullptr) {
    options_.clock = &SystemClock::Get();
  }
  if (!options_.random) {
    options_.random = [engine = std::mt19937_64{std::random_device{}()}]() mutable { return engine(); };
  }
}

Informer::~Informer() {
  Stop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Informer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Informer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return synced_.load() || stop_.load(); }) && synced_.load();
}

std::string Informer::last_resource_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_rv_;
}

InformerStats Informer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

bool Informer::SleepUnlessStopped(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stop_.load(); });
}

void Informer::Warn(std::string_view msg, const Status& status) const {
  if (options_.logger) {
    options_.logger->Warn(msg, {{"resource", options_.resource.Display()},
                                {"namespace", options_.resource.ns},
                                {"error", status.ToString()}});
  }
}

void Informer::Run() {
  Backoff backoff(options_.backoff);
  bool need_list = true;
  while (!stop_.load()) {
    if (need_list) {
      Status s = ListAndDiff();
      if (stop_.load()) {
        break;
      }
      if (!s.ok()) {
        Warn("informer list failed", s);
        SleepUnlessStopped(backoff.Next());
        continue;
      }
      need_list = false;
      backoff.Reset();
    }
    bool saw_events = false;
    const MonoTime watch_start = options_.clock->SteadyNow();
    Status s = WatchOnce(&saw_events);
    if (stop_.load()) {
      break;
    }
    if (saw_events) {
      backoff.Reset();
    }
    if (s.ok()) {
      // Clean end of stream: resume from the last RV. A server that keeps closing at once
      // without sending anything gets a backoff instead of a hot loop.
      if (!saw_events && options_.clock->SteadyNow() - watch_start < std::chrono::seconds(1)) {
        SleepUnlessStopped(backoff.Next());
      }
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.watch_errors;
    }
    if (IsGone(s)) {
      // History compacted past our RV: only a fresh LIST can tell what changed.
      need_list = true;
      continue;
    }
    Warn("informer watch failed", s);
    SleepUnlessStopped(backoff.Next());
  }
}

void Informer::NotifyUpdate(const std::string& key, const StoreEntry& old, const nlohmann::json& object) {
  if (old.object) {
    handlers_.on_update(old.object.get(), object);
    return;
  }
  // Lean mode keeps no bodies: the previous state is known by key and resourceVersion.
  const nlohmann::json stub = KeyStub(key, old.resource_version);
  handlers_.on_update(&stub, object);
}

Status Informer::ListAndDiff() {
  ListOptions lo;
  lo.label_selector = options_.label_selector;
  lo.field_selector = options_.field_selector;
  lo.limit = options_.page_size;
  // RV "" = a consistent read of the latest state; paged through one snapshot. Pages are
  // applied as they arrive, so memory holds one page, not the whole list (100k objects).
  std::unordered_set<std::string> seen;
  std::string list_rv;
  bool initial = !synced_.load();
  // A continue token that expires mid-list starts a new snapshot (ListPages, pager.h):
  // already applied pages only moved objects forward; the diff below runs against the
  // complete new one.
  auto restart = [&] {
    seen.clear();
    list_rv.clear();
  };
  Status listed = ListPages(client_, options_.resource, lo, restart, [&](ListPage& page) -> Status {
    if (list_rv.empty()) {
      list_rv = page.resource_version;
    }
    for (json& item : page.items) {
      std::string key = ObjectKey(item);
      std::string rv = meta::ResourceVersion(item);
      seen.insert(key);
      std::optional<StoreEntry> old = store_.Get(key);
      if (old && old->resource_version == rv) {
        continue;
      }
      store_.Upsert(key, item);
      if (!old) {
        if (handlers_.on_add) {
          handlers_.on_add(item, initial);
        }
      } else if (handlers_.on_update) {
        NotifyUpdate(key, *old, item);
      }
    }
    if (!page.continue_token.empty() && stop_.load()) {
      return CancelledError("informer stopped");
    }
    return OkStatus();
  });
  KS_RETURN_IF_ERROR(listed);
  {
    // Before the inferred deletes: on_delete(_, true) may read last_resource_version() as
    // the version at which those objects were known to be gone (the snapshot's).
    std::lock_guard<std::mutex> lock(mu_);
    last_rv_ = list_rv;
  }
  for (const std::string& key : store_.Keys()) {
    if (seen.count(key) != 0) {
      continue;
    }
    std::optional<StoreEntry> gone = store_.Remove(key);
    if (!gone) {
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.inferred_deletes;
    }
    if (handlers_.on_delete) {
      handlers_.on_delete(gone->object ? *gone->object : KeyStub(key, gone->resource_version), true);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_rv_ = list_rv;
    if (stats_.lists++ > 0) {
      ++stats_.relists;
    }
    synced_.store(true);
  }
  cv_.notify_all();
  return OkStatus();
}

void Informer::Apply(WatchEvent&& event) {
  std::string rv = event.ResourceVersion();
  if (event.type == WatchEventType::kBookmark) {
    std::lock_guard<std::mutex> lock(mu_);
    last_rv_ = rv;
    return;
  }
  std::string key = ObjectKey(event.object);
  if (event.type == WatchEventType::kDeleted) {
    std::optional<StoreEntry> old = store_.Remove(key);
    if (old && handlers_.on_delete) {
      handlers_.on_delete(event.object, false);
    }
  } else {
    std::optional<StoreEntry> old = store_.Get(key);
    if (!old || old->resource_version != rv) {
      store_.Upsert(key, event.object);
      if (!old) {
        if (handlers_.on_add) {
          handlers_.on_add(event.object, false);
        }
      } else if (handlers_.on_update) {
        NotifyUpdate(key, *old, event.object);
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!rv.empty()) {
    last_rv_ = rv;
  }
  ++stats_.events;
}

Status Informer::WatchOnce(bool* saw_events) {
  WatchOptions wo;
  wo.label_selector = options_.label_selector;
  wo.field_selector = options_.field_selector;
  wo.resource_version = last_resource_version();
  wo.allow_bookmarks = true;
  auto min = options_.min_watch_timeout.count();
  wo.timeout = std::chrono::seconds(
      min + static_cast<long>(options_.random() % static_cast<uint64_t>(std::max<long>(1, min))));
  wo.idle_timeout = options_.watch_idle_timeout;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.watches;
  }
  Status error_event;
  Status s = client_.Watch(
      options_.resource, wo,
      [&](WatchEvent&& event) {
        if (event.type == WatchEventType::kError) {
          error_event = StatusFromApiStatus(event.object);
          return false;
        }
        *saw_events = true;
        Apply(std::move(event));
        return true;
      },
      &stop_);
  if (!error_event.ok()) {
    return error_event;
  }
  return s;
}

}  // namespace kubesync::kube
