// Objects the pipeline gave up on, where an operator (and the controller) can see them
// (issue 10, items 3 and 6): an object too large for the bus, a sync message that kept
// failing and was parked, an object the destination refuses.
//
//   kubesync:<id>:problems  hash: field = object key "group/resource/namespace/name",
//                                 value = JSON {"uid", "resourceVersion", "reason",
//                                 "component", "message", "deliveries", "at"}
//
// One entry per object, so the hash is bounded by the number of objects. A report keeps
// the newest source resourceVersion (an older report never replaces a newer one). The
// entry goes once a version at least as new reaches the destination (Resolve). Until then
// the synchronizer does not apply versions older than the entry's: the object stays at
// what it was rather than going back in time.
//
// Thread-safe (RedisClient is). Errors: kUnavailable when Redis is away (retry),
// kInvalidArgument for a bad id or key, kDataLoss for an entry that is not valid JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubesync/core/clock.h"
#include "kubesync/core/status.h"
#include "kubesync/state/redis_client.h"

namespace kubesync::state {

// Problem::reason values.
inline constexpr std::string_view kProblemTooLarge = "MessageTooLarge";     // over the bus's message limit
inline constexpr std::string_view kProblemDeliveryLimit = "DeliveryLimit";  // kept failing; parked
inline constexpr std::string_view kProblemRejected = "Rejected";            // the destination refused it

struct Problem {
  std::string object_key;  // "group/resource/namespace/name"
  std::string uid;
  uint64_t rv = 0;         // source resourceVersion of the version given up on
  std::string reason;      // kProblem*
  std::string component;   // "eventslistener", "processor", "synchronizer"
  std::string message;     // the last error
  int64_t deliveries = 0;  // attempts made (0: refused before any)
  int64_t at_unix_ms = 0;  // set by Report
};

class ProblemStore {
 public:
  // `redis` and `clock` must outlive the store.
  explicit ProblemStore(RedisClient* redis, const Clock* clock = &SystemClock::Get());

  // "kubesync:<id>:problems"; InvalidArgument for a bad id.
  static Result<std::string> Key(std::string_view id);

  // Records `problem` unless an entry for a newer version of the object exists.
  Status Report(std::string_view id, const Problem& problem);
  Result<std::optional<Problem>> Get(std::string_view id, std::string_view object_key);
  // Removes the object's entry when it is for a version <= rv. True when one went.
  Result<bool> Resolve(std::string_view id, std::string_view object_key, uint64_t rv);
  Result<int64_t> Count(std::string_view id);
  // Up to `limit` entries, in no particular order.
  Result<std::vector<Problem>> List(std::string_view id, size_t limit = 100);

 private:
  RedisClient* redis_;
  const Clock* clock_;
};

}  // namespace kubesync::state
