// The synchronizer component binary; see src/synchronizer.h.
#include "synchronizer.h"

int main(int argc, char** argv) { return kubesync::synchronizer::Run(argc, argv); }
