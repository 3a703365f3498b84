#include "src/run.h"

int main(int argc, char** argv) { return kubesync::processor::Run(argc, argv); }
