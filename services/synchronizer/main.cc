// The synchronizer component binary; see src/run.h.
#include "run.h"

int main(int argc, char** argv) { return kubesync::synchronizer::Run(argc, argv); }
