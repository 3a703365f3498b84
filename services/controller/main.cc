#include "controller.h"

int main(int argc, char** argv) { return kubesync::controller::Run(argc, argv); }
