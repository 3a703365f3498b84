#include "src/run.h"

int main(int argc, char** argv) { return kubesync::reconciler::Run(argc, argv); }
