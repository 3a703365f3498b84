// The restorer binary: runs one TaskRun's Task on the destination; see src/restorer.h.
#include "restorer.h"

int main(int argc, char** argv) { return kubesync::restorer::Main(argc, argv); }
