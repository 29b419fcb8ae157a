// commands.h: the `skipbench` command line (CLI11). Subcommands:
//   train     --config FILE [--set k=v ...] --out DIR     one training run -> DIR/run.json, DIR/metrics.jsonl
//   variants                                             every registered variant and controller, with options
//   flops     --config FILE [--set ...] [--mode M] [--sparsity S]   estimated FLOPs breakdown as JSON
//   data embed [--source DIR] [--out DIR]                 build the embedded default data set
// Errors print one line "skipbench: error: ..." and exit with code 2.
#pragma once

namespace skipbench {
int run_cli(int argc, char** argv);
}
