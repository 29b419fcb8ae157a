// commands.h: the `skipbench` command line (CLI11). Subcommands:
//   train     --config FILE [--set k=v ...] --out DIR     one training run -> DIR/run.json, DIR/metrics.jsonl
//   variants                                             every registered variant and controller, with options
//   flops     --config FILE [--set ...] [--mode M] [--sparsity S]   estimated FLOPs breakdown as JSON
//   data embed [--source DIR] [--out DIR]                 build the embedded default data set
//   data synth [--out DIR] [--vocab N] ...                synthetic copy/random data with difficulty labels
//   eval      --run DIR [--hard-skip] [--data GLOB]        evaluate a trained run (soft gates or real skipping)
//   suite run FILE --out DIR [--jobs N]                   run or resume an ablation suite, then render its report
//   suite status DIR                                      done / running / failed / pending per run
//   report    DIR                                         report.json / .html / .md and figures of a suite
//   regress   --baseline FILE DIR [--update]              compare a suite with a committed baseline (exit 1)
// Errors print one line "skipbench: error: ..." and exit with code 2.
#pragma once

namespace skipbench {
int run_cli(int argc, char** argv);
}
