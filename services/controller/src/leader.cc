#include "leader.h"

#include "kubesync/core/clock.h"
#include "kubesync/kube/errors.h"
#include "typed.h"

namespace kubesync::controller {

using nlohmann::json;

namespace {

kube::ResourceRef LeaseRef(const std::string& ns, const std::string& name = "") {
  return {.group = "coordination.k8s.io", .version = "v1", .resource = "leases", .ns = ns, .name = name};
}

// MicroTime: RFC 3339 with microseconds.
std::string MicroNow() { return FormatRfc3339(SystemClock::Get().Now(), 6); }

}  // namespace

LeaderElector::LeaderElector(kube::Client& client, LeaderElectionOptions options, log::Logger logger)
    : client_(client), options_(std::move(options)), logger_(std::move(logger)) {}

LeaderElector::~LeaderElector() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (renewer_.joinable()) renewer_.join();
}

LeaderElector::Attempt LeaderElector::TryAcquireOrRenew() {
  const auto now = std::chrono::steady_clock::now();
  const int lease_seconds = static_cast<int>(std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration).count()));
  auto lease = client_.Get(LeaseRef(options_.ns, options_.name));
  if (!lease.ok()) {
    if (lease.status().code() != Code::kNotFound) {
      LogError(lease.status());
      return Attempt::kError;
    }
    json fresh = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", options_.name}, {"namespace", options_.ns}}},
                  {"spec",
                   {{"holderIdentity", options_.identity},
                    {"leaseDurationSeconds", lease_seconds},
                    {"acquireTime", MicroNow()},
                    {"renewTime", MicroNow()},
                    {"leaseTransitions", 0}}}};
    auto created = client_.Create(LeaseRef(options_.ns), fresh);
    if (created.ok()) return Attempt::kHeld;
    if (created.status().code() == Code::kAlreadyExists) return Attempt::kHeldByOther;
    LogError(created.status());  // e.g. the Lease's namespace does not exist
    return Attempt::kError;
  }
  const std::string holder = StringOr(*lease, "spec.holderIdentity");
  const std::string record = holder + "@" + StringOr(*lease, "spec.renewTime");
  if (record != observed_record_) {
    observed_record_ = record;
    observed_at_ = now;
  }
  const bool expired = now >= observed_at_ + options_.lease_duration;
  if (!holder.empty() && holder != options_.identity && !expired) return Attempt::kHeldByOther;
  json updated = *lease;
  json& spec = updated["spec"];
  if (!spec.is_object()) spec = json::object();
  if (holder != options_.identity) {
    spec["acquireTime"] = MicroNow();
    spec["leaseTransitions"] = IntOr(*lease, "spec.leaseTransitions") + 1;
  }
  spec["holderIdentity"] = options_.identity;
  spec["leaseDurationSeconds"] = lease_seconds;
  spec["renewTime"] = MicroNow();
  auto written = client_.Update(LeaseRef(options_.ns, options_.name), updated);
  if (written.ok()) {
    observed_record_ = options_.identity + "@" + StringOr(*written, "spec.renewTime");
    observed_at_ = now;
    return Attempt::kHeld;
  }
  if (kube::IsConflict(written.status())) return Attempt::kHeldByOther;
  LogError(written.status());
  return Attempt::kError;
}

void LeaderElector::LogError(const Status& status) {
  // Once per distinct error, so a missing namespace is said, not repeated every retry.
  const std::string text = status.ToString();
  if (text == last_error_) return;
  last_error_ = text;
  logger_.Warn("cannot read or write the leader election Lease",
               {{"lease", options_.ns + "/" + options_.name}, {"error", text}});
}

bool LeaderElector::Acquire(const std::atomic<bool>& stop) {
  logger_.Info("waiting to become the leader",
               {{"lease", options_.ns + "/" + options_.name}, {"identity", options_.identity}});
  while (!stop.load()) {
    if (TryAcquireOrRenew() == Attempt::kHeld) {
      std::lock_guard lock(mu_);
      held_ = true;
      logger_.Info("became the leader",
                   {{"lease", options_.ns + "/" + options_.name}, {"identity", options_.identity}});
      return true;
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, options_.retry_period, [&] { return stop_; });
    if (stop_) return false;
  }
  return false;
}

void LeaderElector::KeepRenewing(std::function<void()> on_lost) {
  renewer_ = std::thread([this, on_lost = std::move(on_lost)] {
    auto last_renew = std::chrono::steady_clock::now();
    while (true) {
      {
        std::unique_lock lock(mu_);
        if (cv_.wait_for(lock, options_.retry_period, [&] { return stop_; })) return;
      }
      const Attempt attempt = TryAcquireOrRenew();
      const auto now = std::chrono::steady_clock::now();
      if (attempt == Attempt::kHeld) {
        last_renew = now;
        continue;
      }
      if (attempt == Attempt::kHeldByOther || now - last_renew > options_.renew_deadline) {
        {
          std::lock_guard lock(mu_);
          held_ = false;
        }
        logger_.Error("lost the leadership", {{"lease", options_.ns + "/" + options_.name},
                                              {"identity", options_.identity},
                                              {"heldByOther", attempt == Attempt::kHeldByOther}});
        on_lost();
        return;
      }
    }
  });
}

void LeaderElector::Release() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (renewer_.joinable()) renewer_.join();
  bool held;
  {
    std::lock_guard lock(mu_);
    held = held_;
    held_ = false;
  }
  if (!held) return;
  auto lease = client_.Get(LeaseRef(options_.ns, options_.name));
  if (!lease.ok() || StringOr(*lease, "spec.holderIdentity") != options_.identity) return;
  json updated = *lease;
  updated["spec"]["holderIdentity"] = "";
  updated["spec"]["leaseDurationSeconds"] = 1;
  auto written = client_.Update(LeaseRef(options_.ns, options_.name), updated);
  logger_.Info("released the leadership",
               {{"lease", options_.ns + "/" + options_.name}, {"ok", written.ok()}});
}

}  // namespace kubesync::controller
