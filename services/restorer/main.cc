// The restorer binary: runs one TaskRun's Task on the destination; see src/restorer.h.
#include "run.h"

int main(int argc, char** argv) { return kubesync::restorer::Run(argc, argv); }
