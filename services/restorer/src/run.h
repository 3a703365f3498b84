// The restorer binary's entry point: flags, logger, destination client, RestoreTaskRun
// (restorer.h). Returns the restorer's ExitCode; a bad flag is kExitNoStatus (2).
#pragma once

namespace kubesync::restorer {

int Run(int argc, char** argv);

}  // namespace kubesync::restorer
