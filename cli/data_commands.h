// data_commands.h: the `skipbench data prepare` and `skipbench data inspect` subcommands (BPE tokenisation with
// sentencepiece, shard inspection), registered on the `data` subcommand by run_cli().
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace skipbench {

// Adds `prepare` and `inspect` to `data`; returns a function that runs whichever of them was parsed and returns its
// exit code, or -1 when neither was chosen. Errors are thrown as skipbench::Error (the caller prints them).
std::function<int()> register_data_commands(CLI::App& data);

}  // namespace skipbench
