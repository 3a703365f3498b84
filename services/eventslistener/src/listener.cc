#include "listener.h"

#include <algorithm>
#include <utility>

#include "kubesync/bus/jetstream.h"
#include "kubesync/kube/object_meta.h"
#include "kubesync/kube/store.h"
#include "kubesync/service/log_fields.h"

namespace kubesync::eventslistener {
namespace {

using nlohmann::json;

std::string StringField(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool HasNamespaceSelector(const plan::Plan& plan) {
  return std::any_of(plan.rules.begin(), plan.rules.end(),
                     [](const plan::Rule& r) { return !r.namespace_selector.Empty(); });
}

std::string_view LogEventType(proto::EventType type) {
  switch (type) {
    case proto::EventType::kModified:
      return "update";
    case proto::EventType::kDeleted:
    case proto::EventType::kDeleteRequest:
      return "delete";
    default:
      return "create";
  }
}

}  // namespace

struct EventsListener::Watched {
  plan::Gvr gvr;
  std::unique_ptr<kube::Informer> informer;
};

std::vector<plan::Gvr> WatchedResources(const plan::Plan& plan) {
  std::vector<plan::Gvr> out = plan.Resources();
  if (HasNamespaceSelector(plan) && std::find(out.begin(), out.end(), kNamespacesGvr) == out.end()) {
    out.push_back(kNamespacesGvr);
  }
  return out;
}

Result<proto::Event> MakeEvent(proto::EventType type, const plan::Gvr& gvr, const json& object,
                               std::string_view id, int64_t observed_at_unix_nanos) {
  const json& meta = kube::meta::Metadata(object);
  proto::Event event;
  event.type = type;
  event.gvr = {gvr.group, gvr.version, gvr.resource};
  event.kind = StringField(object, "kind");
  event.namespace_ = StringField(meta, "namespace");
  event.name = StringField(meta, "name");
  event.uid = StringField(meta, "uid");
  event.resource_version = StringField(meta, "resourceVersion");
  KS_ASSIGN_OR_RETURN(event.resource_version_number, proto::ParseResourceVersion(event.resource_version));
  event.observed_at_unix_nanos = observed_at_unix_nanos;
  event.live_synchronization_id = std::string(id);
  // A lean-mode inferred delete carries only a key stub; the processor needs no body then.
  if (type != proto::EventType::kDeleted || !event.uid.empty()) event.object_json = object.dump();
  KS_RETURN_IF_ERROR(proto::Validate(event));
  return event;
}

std::string MessageId(const proto::Event& event) {
  std::string who = event.uid;
  if (who.empty()) who = kube::ObjectKey(event.namespace_, event.name);
  return who + "/" + event.resource_version + "/" + std::string(proto::EventTypeName(event.type));
}

EventsListener::EventsListener(kube::Client& source, const plan::Plan& plan, ListenerConfig config,
                               PublishFn publish, log::Logger logger, json source_cluster, const Clock* clock)
    : source_(source),
      plan_(plan),
      config_(std::move(config)),
      publish_(std::move(publish)),
      logger_(std::move(logger)),
      source_cluster_(std::move(source_cluster)),
      clock_(clock) {}

EventsListener::~EventsListener() { Stop(); }

void EventsListener::Start() {
  initial_list_suffix_ =
      "list-" +
      std::to_string(
          std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Now().time_since_epoch()).count());
  for (const plan::Gvr& gvr : WatchedResources(plan_)) {
    auto w = std::make_unique<Watched>();
    w->gvr = gvr;
    kube::InformerOptions options;
    options.resource = {gvr.group, gvr.version, gvr.resource, "", "", ""};
    options.store_mode = config_.store_mode;
    options.page_size = config_.page_size;
    options.min_watch_timeout = config_.min_watch_timeout;
    options.watch_idle_timeout = config_.watch_idle_timeout;
    options.logger = logger_;
    kube::InformerHandlers handlers;
    handlers.on_add = [this, gvr](const json& object, bool in_initial_list) {
      OnEvent(gvr, proto::EventType::kAdded, object, nullptr, in_initial_list ? initial_list_suffix_ : "");
    };
    handlers.on_update = [this, gvr](const json* old_object, const json& object) {
      OnEvent(gvr, proto::EventType::kModified, object, old_object);
    };
    Watched* watched = w.get();
    handlers.on_delete = [this, gvr, watched](const json& last_known, bool final_state_unknown) {
      if (!final_state_unknown) {
        OnEvent(gvr, proto::EventType::kDeleted, last_known, nullptr);
        return;
      }
      // Inferred by a re-list: the object's last known version is the version the pipeline
      // last applied, and a delete at that version would be judged stale. It was gone at the
      // re-list's version (the informer's by now), so the delete carries that.
      json gone = last_known;
      const std::string relist_rv = watched->informer->last_resource_version();
      if (!relist_rv.empty() && gone.is_object() && gone["metadata"].is_object()) {
        gone["metadata"]["resourceVersion"] = relist_rv;
      }
      OnEvent(gvr, proto::EventType::kDeleted, gone, nullptr);
    };
    w->informer = std::make_unique<kube::Informer>(source_, std::move(options), std::move(handlers));
    watched_.push_back(std::move(w));
  }
  for (auto& w : watched_) w->informer->Start();
  if (config_.resync_period.count() > 0 || stream_check_)
    resync_thread_ = std::thread([this] { ResyncLoop(); });
  if (stream_check_) stream_thread_ = std::thread([this] { StreamLoop(); });
}

void EventsListener::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& w : watched_) w->informer->Stop();
  if (resync_thread_.joinable()) resync_thread_.join();
  if (stream_thread_.joinable()) stream_thread_.join();
  watched_.clear();  // joins the informer threads
}

bool EventsListener::WaitForSync(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& w : watched_) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !w->informer->WaitForSync(left)) return false;
  }
  return true;
}

void EventsListener::OnEvent(const plan::Gvr& gvr, proto::EventType type, const json& object,
                             const json* old_object, std::string_view msg_suffix) {
  const json& meta = kube::meta::Metadata(object);
  const std::string ns = StringField(meta, "namespace");
  const std::string name = StringField(meta, "name");
  if (plan_.IsDefaultExcluded(gvr, ns, name)) {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.excluded;
    return;
  }
  const int64_t observed =
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->Now().time_since_epoch()).count();
  if (logger_.Enabled(log::Level::kDebug)) {
    json fields = {{"sourceObject", service::ObjectRef(gvr, object)},
                   {"sourceCluster", source_cluster_},
                   {"event", service::EventField(LogEventType(type))}};
    if (old_object != nullptr) {
      json old_ref = service::ObjectRef(gvr, *old_object);
      // A lean informer knows the previous state by key and resourceVersion only; the uid
      // of an updated object does not change.
      if (!old_ref.contains("uid") && fields["sourceObject"].contains("uid")) {
        old_ref["uid"] = fields["sourceObject"]["uid"];
      }
      fields["oldSourceObject"] = std::move(old_ref);
    }
    json last_update = service::LastUpdate(object);
    if (!last_update.is_null()) fields["lastUpdate"] = std::move(last_update);
    logger_.Debug("object read from cluster", std::move(fields));
  }
  Result<proto::Event> event = MakeEvent(type, gvr, object, config_.id, observed);
  if (!event.ok()) {
    // Nothing retrying could fix: the object itself is unusable as an envelope.
    logger_.Error("error encoding event", {{"sourceObject", service::ObjectRef(gvr, object)},
                                           {"sourceCluster", source_cluster_},
                                           {"error", event.status().ToString()}});
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.dropped;
    return;
  }
  event->source_epoch = config_.source_epoch;
  PublishWithRetry(*event, msg_suffix);
}

bool EventsListener::PublishWithRetry(const proto::Event& event_in, std::string_view msg_suffix) {
  proto::Event event = event_in;
  Backoff backoff(config_.publish_backoff);
  std::string msg_id = MessageId(event);
  if (!msg_suffix.empty()) msg_id += "/" + std::string(msg_suffix);
  while (!stop_.load()) {
    event.published_at_unix_nanos =
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->Now().time_since_epoch()).count();
    Result<std::string> data = proto::Encode(event);
    if (!data.ok()) return false;  // validated in MakeEvent; cannot happen
    Status status = publish_(config_.events_subject, *data, msg_id);
    if (status.ok()) {
      std::lock_guard<std::mutex> lock(stats_mu_);
      ++stats_.published;
      return true;
    }
    if (bus::IsMessageTooLarge(status)) {
      // Retrying cannot help, and would stall every later change of the resource.
      GiveUpTooLarge(event, status);
      return true;
    }
    {
      std::lock_guard<std::mutex> lock(stats_mu_);
      ++stats_.publish_errors;
    }
    logger_.Warn("error publishing event",
                 {{"error", status.ToString()}, {"subject", config_.events_subject}});
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, backoff.Next(), [this] { return stop_.load(); });
  }
  return false;
}

void EventsListener::GiveUpTooLarge(const proto::Event& event, const Status& error) {
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.too_large;
  }
  logger_.Error("object too large to replicate", {{"sourceObject", service::ObjectRef(event)},
                                                  {"sourceCluster", source_cluster_},
                                                  {"event", service::EventField(LogEventType(event.type))},
                                                  {"size", event.object_json.size()},
                                                  {"error", error.ToString()}});
  if (!report_problem_) return;
  Backoff backoff(config_.publish_backoff);
  while (!stop_.load()) {
    Status reported = report_problem_(event, error);
    if (reported.ok()) return;
    logger_.Warn("error writing object state",
                 {{"sourceObject", service::ObjectRef(event)}, {"error", reported.ToString()}});
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, backoff.Next(), [this] { return stop_.load(); });
  }
}

void EventsListener::StreamLoop() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, config_.stream_check_period, [this] { return stop_.load(); })) return;
    }
    Result<bool> lost = stream_check_();
    if (!lost.ok()) {
      // NATS away: cnats reconnects; the next check tells whether the stream survived.
      logger_.Warn("error checking nats stream", {{"error", lost.status().ToString()}});
      continue;
    }
    if (!*lost) continue;
    logger_.Warn("nats stream was created again, listing every resource again",
                 {{"sourceCluster", source_cluster_}, {"subject", config_.events_subject}});
    {
      std::lock_guard<std::mutex> lock(mu_);
      relist_requested_ = true;
    }
    cv_.notify_all();
  }
}

Status EventsListener::ResyncOnce() {
  for (const plan::Gvr& gvr : WatchedResources(plan_)) {
    kube::ResourceRef ref{gvr.group, gvr.version, gvr.resource, "", "", ""};
    kube::ListOptions options;
    options.limit = config_.page_size;
    // Page by page, so a resync of 100k objects never holds them all.
    while (true) {
      if (stop_.load()) return CancelledError("events listener stopping");
      Result<kube::ListPage> page = source_.ListOnePage(ref, options);
      if (!page.ok()) {
        logger_.Error("error listing objects in cluster",
                      {{"sourceCluster", source_cluster_},
                       {"sourceObject",
                        {{"apiGroup", gvr.group}, {"apiVersion", gvr.version}, {"resource", gvr.resource}}},
                       {"error", page.status().ToString()}});
        return page.status();
      }
      for (const json& item : page->items) {
        if (stop_.load()) return CancelledError("events listener stopping");
        OnEvent(gvr, proto::EventType::kResync, item, nullptr);
      }
      if (page->continue_token.empty()) break;
      options.continue_token = page->continue_token;
    }
  }
  std::lock_guard<std::mutex> lock(stats_mu_);
  ++stats_.resyncs;
  return OkStatus();
}

void EventsListener::ResyncLoop() {
  // Periodic resyncs (when resync_period > 0), and re-lists the stream check asks for.
  const bool periodic = config_.resync_period.count() > 0;
  auto next = std::chrono::steady_clock::now() + config_.resync_period;
  Backoff relist_backoff(config_.publish_backoff);
  while (true) {
    bool relist = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto wake = [this] { return stop_.load() || relist_requested_; };
      if (periodic) {
        cv_.wait_until(lock, next, wake);
      } else {
        cv_.wait(lock, wake);
      }
      if (stop_.load()) return;
      relist = relist_requested_;
      relist_requested_ = false;
    }
    Status status = ResyncOnce();
    if (!status.ok() && status.code() == Code::kCancelled) return;
    if (relist) {
      if (status.ok()) {
        std::lock_guard<std::mutex> lock(stats_mu_);
        ++stats_.relists;
        relist_backoff.Reset();
      } else {
        // The source is away: the lost messages still need the re-list; try again.
        std::unique_lock<std::mutex> lock(mu_);
        if (cv_.wait_for(lock, relist_backoff.Next(), [this] { return stop_.load(); })) return;
        relist_requested_ = true;
      }
    }
    next = std::chrono::steady_clock::now() + config_.resync_period;
  }
}

ListenerStats EventsListener::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

std::vector<kube::InformerStats> EventsListener::informer_stats() const {
  std::vector<kube::InformerStats> out;
  for (const auto& w : watched_) out.push_back(w->informer->stats());
  return out;
}

}  // namespace kubesync::eventslistener
