// main.cpp: entry point of build/skipbench; everything lives in cli/commands.cpp.
#include "cli/commands.h"

int main(int argc, char** argv) { return skipbench::run_cli(argc, argv); }
