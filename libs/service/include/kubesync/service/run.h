// The one entry point of kubesync's component binaries: parse the flags, build the
// context, run the component's body, and turn the outcome into the process exit code.
//
// Usage, in services/<name>/src/run.cc (main.cc only calls Run):
//
//   int Run(int argc, char** argv) {
//     int workers = 2;  // a flag of this component only
//     return service::RunComponent(argc, argv, {
//         .name = "processor",
//         .description = "kubesync processor: ...",
//         .add_flags = [&](CLI::App& app) { app.add_option("--workers", workers); },
//         .body = [&](service::ServiceContext& ctx, service::ShutdownSignal& shutdown) -> Status {
//           auto source = service::ConnectCluster(ctx.options.source_kubeconfig);
//           if (!source.ok()) {
//             return service::StartFailure(ctx.logger, "error connecting to cluster", source.status());
//           }
//           ...  // start the work
//           shutdown.Wait();
//           return OkStatus();
//         }});
//   }
//
// Exit codes (ExitCodeFor, the one table): 0 after an orderly shutdown, --help, or when
// shutdown came before start-up finished (kCancelled); 2 for bad flags, an invalid plan or
// configuration (kInvalidArgument, kFailedPrecondition); 1 for anything else, a component
// that cannot start or fails while running.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "kubesync/core/log.h"
#include "kubesync/core/status.h"
#include "kubesync/service/context.h"
#include "kubesync/service/shutdown.h"

namespace CLI {
class App;
}

namespace kubesync::service {

enum ExitCode : int { kExitOk = 0, kExitFailure = 1, kExitBadConfig = 2 };

// The Status-to-exit-code table above.
int ExitCodeFor(const Status& status);

struct Component {
  // "processor": the logs' process id, the default consumer id, the plan's
  // components.<name> settings, and the prefix of start-up errors on stderr.
  std::string name;
  std::string description;  // first line of --help
  // Registers the component's own flags (the common ones of options.h are always there).
  // Optional. The variables it binds are set before `body` runs.
  std::function<void(CLI::App&)> add_flags;
  // The component's work, given its validated context; blocks until shutdown is requested
  // (`shutdown` is already listening for SIGTERM/SIGINT) or the component fails. Logs its
  // own errors; its Status only chooses the exit code.
  std::function<Status(ServiceContext&, ShutdownSignal&)> body;
};

// Blocks SIGTERM/SIGINT (ShutdownSignal, before any thread), parses argv into the common
// options and the component's flags, builds the context (MakeContext: plan, id, logger to
// `sink`), runs `body`, and returns the exit code. Bad flags and an invalid context are
// printed to stderr as "<name>: <error>" and exit 2.
int RunComponent(int argc, char** argv, const Component& component,
                 std::shared_ptr<log::Sink> sink = log::StdoutSink());

// Parses argv into `app`. nullopt when the program should go on; otherwise the exit code:
// 0 after --help/--version (printed), 2 for a bad flag (CLI11's message printed). For
// binaries without the common flags (the restorer).
std::optional<int> ParseFlags(CLI::App& app, int argc, char** argv);

// What a body returns when it cannot start or go on: kCancelled (shutdown came first) is
// returned as is and not logged; anything else is logged as `msg` (error) with `fields`
// and an "error" field, and returned as a runtime failure (exit 1) whatever its code (a
// kubeconfig that does not load is a failure to start, not a bad flag).
Status StartFailure(const log::Logger& logger, std::string_view msg, const Status& error,
                    nlohmann::json fields = nlohmann::json::object());

}  // namespace kubesync::service
