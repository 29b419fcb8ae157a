// data_commands.cpp: see data_commands.h. (Placeholder until prepare/inspect land.)
#include "harness/cli/data_commands.h"

namespace skipbench {

std::function<int()> register_data_commands(CLI::App&) {
  return [] { return -1; };
}

}  // namespace skipbench
