#include "kubesync/service/run.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <utility>

#include "kubesync/service/options.h"

namespace kubesync::service {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Code::kOk:
    case Code::kCancelled:
      return kExitOk;
    case Code::kInvalidArgument:
    case Code::kFailedPrecondition:
      return kExitBadConfig;
    default:
      return kExitFailure;
  }
}

std::optional<int> ParseFlags(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints and answers 0 for --help, 105, 106, ... for errors: all of those are bad flags.
    return app.exit(e) == 0 ? kExitOk : kExitBadConfig;
  }
  return std::nullopt;
}

int RunComponent(int argc, char** argv, const Component& component, std::shared_ptr<log::Sink> sink) {
  ShutdownSignal shutdown;  // first, before any thread

  CLI::App app{component.description};
  CommonOptions options;
  AddCommonFlags(app, options);
  if (component.add_flags) component.add_flags(app);
  if (std::optional<int> exit_code = ParseFlags(app, argc, argv)) return *exit_code;

  Result<ServiceContext> ctx = MakeContext(component.name, options, std::move(sink));
  if (!ctx.ok()) {
    std::cerr << component.name << ": " << ctx.status().ToString() << "\n";
    return kExitBadConfig;
  }
  return ExitCodeFor(component.body(*ctx, shutdown));
}

Status StartFailure(const log::Logger& logger, std::string_view msg, const Status& error,
                    nlohmann::json fields) {
  if (error.code() == Code::kCancelled) return error;
  fields["error"] = error.ToString();
  logger.Error(msg, std::move(fields));
  return Status(Code::kUnavailable, error.message());
}

}  // namespace kubesync::service
