// main.cpp: entry point of build/skipbench; everything lives in harness/cli/commands.cpp.
#include "harness/cli/commands.h"

int main(int argc, char** argv) { return skipbench::run_cli(argc, argv); }
