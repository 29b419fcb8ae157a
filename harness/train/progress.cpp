// progress.cpp: see progress.h.
#include "harness/train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace skipbench {

std::string format_duration(double s) {
  const int64_t t = static_cast<int64_t>(std::llround(std::max(0.0, s)));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld", static_cast<long>(t / 60), static_cast<long>(t % 60));
  return buf;
}

Progress::Progress(std::ostream* out) : out_(out), tty_(out && ::isatty(STDERR_FILENO)) {}

void Progress::line(const std::string& text) {
  if (out_) *out_ << (tty_ ? "\r\033[K" : "") << text << "\n" << std::flush;
}

void Progress::step(int64_t step, double progress, const std::string& kind, double loss, double lr,
                    double tokens_per_s, double elapsed) {
  if (!out_) return;
  const double p = std::max(progress, 1e-9);
  char buf[220];
  std::snprintf(buf, sizeof buf, "step %ld (%.0f%% of %s budget) | loss %.4f | lr %.2e | %.0f tok/s | ETA %s",
                static_cast<long>(step), 100 * progress, kind.c_str(), loss, lr, tokens_per_s,
                format_duration(elapsed / p * (1 - p)).c_str());
  *out_ << (tty_ ? "\r\033[K" : "") << buf << (tty_ ? "" : "\n") << std::flush;
}

void Progress::validation(int64_t step, double val_loss) {
  if (out_) *out_ << (tty_ ? "\r\033[K" : "") << "step " << step << " | val_loss " << val_loss << "\n";
}

}  // namespace skipbench
