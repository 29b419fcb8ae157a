// progress.h: the live progress lines of `skipbench train` on stderr: a header, one line every log_every steps
// (step, share of the budget, loss, lr, tokens/s, ETA) and one per validation. On a terminal the step line
// rewrites itself in place; elsewhere (logs, suites) each is its own line.
#pragma once
#include <ostream>
#include <string>

namespace skipbench {

std::string format_duration(double seconds);  // "m:ss"

class Progress {
 public:
  explicit Progress(std::ostream* out);  // null: silent
  void line(const std::string& text);    // a header or message line
  // progress in [0, 1] of the budget; elapsed: wall-clock seconds of the whole run so far (ETA from both)
  void step(int64_t step, double progress, const std::string& budget_kind, double loss, double lr,
            double tokens_per_s, double elapsed);
  void validation(int64_t step, double val_loss);

 private:
  std::ostream* out_;
  bool tty_ = false;
};

}  // namespace skipbench
