// The eventslistener binary's composition root: flags -> context -> source client, NATS
// connection and stream -> EventsListener, until SIGTERM/SIGINT. Returns the exit code
// (0 after an orderly shutdown, 2 for invalid flags or plan, 1 when it cannot start).
#pragma once

namespace kubesync::eventslistener {

int Run(int argc, char** argv);

}  // namespace kubesync::eventslistener
