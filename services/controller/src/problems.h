// The objects a LiveSynchronization's pipeline gave up on (issue 10, items 3 and 6): read
// from the problems record the components write (state::ProblemStore), for the status count
// and a Warning Event. The controller's status step calls ReadProblems once per reconcile
// of a running set and, when the count is not zero, records ProblemsMessage as an Event
// (reason "ObjectsNotReplicated").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kubesync/core/status.h"
#include "kubesync/state/problems.h"
#include "kubesync/state/redis_client.h"

namespace kubesync::controller {

inline constexpr std::string_view kProblemsEventReason = "ObjectsNotReplicated";

struct ProblemSummary {
  int64_t count = 0;                     // objects given up on
  std::vector<state::Problem> examples;  // up to the number asked for
};

// kUnavailable when Redis is away (keep the last count); kInvalidArgument for a bad id.
Result<ProblemSummary> ReadProblems(state::RedisClient& redis, std::string_view id, size_t max_examples = 3);

// "2 objects are not replicated: /configmaps/app/big at resourceVersion 12 (MessageTooLarge,
// eventslistener: ...); ..." with the examples sorted by key, each error cut to 200
// characters; "" when the count is 0.
std::string ProblemsMessage(const ProblemSummary& summary);

}  // namespace kubesync::controller
