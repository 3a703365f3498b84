// The events listener: watches the source cluster (one informer per resource of the plan,
// plus Namespaces when a rule selects by namespace labels) and publishes one envelope per
// change to the LiveSynchronization's events subject. Every resync period it re-lists
// every resource and publishes RESYNC for each object (the additive resync). Deletes it
// could not see (made while no listener watched) are the reconciler's business: it lists
// the destination and removes what the source no longer has (services/reconciler).
//
// It only reads the source. It does not filter by labels (the processor decides); it only
// drops what the plan's default exclusions drop, so those never reach the bus.
//
// Publishing is at-least-once: an event is published (and acked by JetStream) before the
// informer moves on to the next one; a failed publish is retried with backoff until it
// succeeds or the listener stops. The Nats-Msg-Id "<uid>/<rv>/<type>" lets the stream drop
// the repeats a restart or retry produces.
//
// Thread-safety: Start/Stop from one thread; handlers run on the informers' threads and
// the resync thread, which may publish concurrently (PublishFn must be thread-safe).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kubesync/core/backoff.h"
#include "kubesync/core/clock.h"
#include "kubesync/core/log.h"
#include "kubesync/core/status.h"
#include "kubesync/kube/client.h"
#include "kubesync/kube/informer.h"
#include "kubesync/plan/plan.h"
#include "kubesync/proto/envelope.h"

namespace kubesync::eventslistener {

// Publishes one message and waits for the stream's ack. Must be thread-safe. A message the
// bus can never take fails with bus::IsMessageTooLarge (the listener then gives up on it).
using PublishFn = std::function<Status(std::string_view subject, std::string_view data, std::string_view msg_id)>;

// Records, durably, an event the listener gave up on (an object too large for the bus), so
// that the controller can report it; `error` says why. Must be thread-safe.
using ReportProblemFn = std::function<Status(const proto::Event& event, const Status& error)>;

// Makes sure the stream exists; true when it is not the stream seen before (deleted and
// created again, e.g. a nats-server that lost its store): what was published may be lost.
using StreamCheckFn = std::function<Result<bool>()>;

struct ListenerConfig {
  std::string id;              // "<namespace>.<name>" of the LiveSynchronization
  std::string events_subject;  // bus::EventsSubject(id)
  // The source cluster's epoch (libs/state source_identity.h), stamped on every event; 0:
  // unknown. Records of an older epoch are never compared by resourceVersion.
  uint64_t source_epoch = 0;
  kube::StoreMode store_mode = kube::StoreMode::kLean;
  std::chrono::seconds resync_period{3600};  // 0: no periodic resync
  int64_t page_size = 500;
  BackoffPolicy publish_backoff{std::chrono::milliseconds(100), std::chrono::milliseconds(5000), 2.0, 0.2};
  // Watch tuning (tests shorten these).
  std::chrono::seconds min_watch_timeout{300};
  std::chrono::milliseconds watch_idle_timeout{std::chrono::minutes(5)};
  // How often the stream is checked (SetStreamCheck).
  std::chrono::milliseconds stream_check_period{5000};
};

struct ListenerStats {
  uint64_t published = 0;
  uint64_t excluded = 0;        // default exclusions, never published
  uint64_t publish_errors = 0;  // failed attempts (each retried)
  uint64_t resyncs = 0;         // completed resync rounds
  uint64_t dropped = 0;         // events that could not be encoded (logged)
  uint64_t too_large = 0;       // events larger than the bus takes: reported, not published
  uint64_t relists = 0;         // re-lists because the stream was lost and created again
};

// The Namespace resource, watched in addition when a rule selects by namespace labels.
inline const plan::Gvr kNamespacesGvr{"", "v1", "namespaces"};

// The resources the listener watches: plan.Resources(), plus v1/namespaces when a rule has
// a namespace selector and namespaces are not already among them.
std::vector<plan::Gvr> WatchedResources(const plan::Plan& plan);

// The envelope for one observed change. `kind` fills Event::kind when the object carries
// none (list items do not). InvalidArgument when the object cannot be encoded (e.g. a
// resourceVersion that is not a decimal integer).
Result<proto::Event> MakeEvent(proto::EventType type, const plan::Gvr& gvr, const nlohmann::json& object,
                               std::string_view id, int64_t observed_at_unix_nanos);
// "<uid>/<rv>/<TYPE>" (the object key instead of the uid when the uid is unknown).
std::string MessageId(const proto::Event& event);

class EventsListener {
 public:
  // `source`, `plan` and `clock` must outlive the listener.
  EventsListener(kube::Client& source, const plan::Plan& plan, ListenerConfig config, PublishFn publish,
                 log::Logger logger, nlohmann::json source_cluster, const Clock* clock = &SystemClock::Get());
  ~EventsListener();  // Stop()
  EventsListener(const EventsListener&) = delete;
  EventsListener& operator=(const EventsListener&) = delete;

  // An event too large for the bus is logged ("object too large to replicate", naming the
  // object) and, with `report` set, recorded through it (retried until it succeeds); the
  // informer then moves on, so the rest of the resource keeps flowing.
  void SetProblemReporter(ReportProblemFn report) { report_problem_ = std::move(report); }
  // With `check` set, a thread calls it every stream_check_period; when the stream was lost
  // (it answers true), every watched resource is listed again and published as RESYNC,
  // which brings back whatever the lost stream held (deletes it held: the reconciler).
  void SetStreamCheck(StreamCheckFn check) { stream_check_ = std::move(check); }

  // Starts one informer per watched resource, the resync thread and the stream thread.
  void Start();
  // Stops the informers and the resync thread; an event being published is abandoned only
  // after the current attempt (it is published again by the re-list after a restart).
  void Stop();

  bool WaitForSync(std::chrono::milliseconds timeout) const;
  // Re-lists every watched resource and publishes RESYNC for every object not excluded.
  // Stops early (kCancelled) when the listener stops.
  Status ResyncOnce();
  ListenerStats stats() const;
  std::vector<kube::InformerStats> informer_stats() const;

 private:
  struct Watched;
  // `msg_suffix` (may be empty) is appended to the Nats-Msg-Id.
  void OnEvent(const plan::Gvr& gvr, proto::EventType type, const nlohmann::json& object,
               const nlohmann::json* old_object, std::string_view msg_suffix = "");
  // Publishes until acked or stopping; false when abandoned because of Stop. An event too
  // large for the bus is given up at once (GiveUpTooLarge) and counts as done.
  bool PublishWithRetry(const proto::Event& event, std::string_view msg_suffix = "");
  void ResyncLoop();
  void StreamLoop();
  // Gives up on an event the bus refused for its size: log, report, count.
  void GiveUpTooLarge(const proto::Event& event, const Status& error);

  kube::Client& source_;
  const plan::Plan& plan_;
  ListenerConfig config_;
  PublishFn publish_;
  log::Logger logger_;
  nlohmann::json source_cluster_;
  const Clock* clock_;

  std::vector<std::unique_ptr<Watched>> watched_;
  ReportProblemFn report_problem_;
  StreamCheckFn stream_check_;
  std::thread stream_thread_;
  bool relist_requested_ = false;  // guarded by mu_; wakes the resync thread
  // "list-<unix ms of Start>": appended to the msg-id of the first list's ADDED events, so
  // that the stream's duplicate window never swallows what a restarted listener lists
  // again (an unchanged object whose namespace left the scope meanwhile must reach the
  // processor to be removed).
  std::string initial_list_suffix_;
  std::thread resync_thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;  // wakes the resync thread and publish backoffs on Stop

  mutable std::mutex stats_mu_;
  ListenerStats stats_;
};

}  // namespace kubesync::eventslistener
