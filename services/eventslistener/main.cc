#include "src/run.h"

int main(int argc, char** argv) { return kubesync::eventslistener::Run(argc, argv); }
