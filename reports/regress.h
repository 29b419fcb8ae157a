// regress.h: CI regression of a suite's results against a committed baseline (reports/baselines/*.json).
//
// A baseline is a summary of one finished suite: per run (name/seed) its status, resolved config, the checksums of
// the data it read, its training loss and lr curves, its validation curve, its realised sparsity and per-layer zero
// fractions, and the FLOPs estimator's values at those zero fractions; plus the machine fingerprint (CPU model,
// family/model, flags, the vector ISA LibTorch dispatched to, torch version, compiler, threads) and the tolerances
// of the tolerance mode, with the measurement they were derived from.
//
// Checks, per run:
//   - data        the train/val token checksums must equal the baseline's; a mismatch is an Error (exit 2, a
//                 message saying how to rebuild the data or the baseline), not a regression: nothing is compared.
//   - config      the resolved config must be equal (a changed suite needs a new baseline, not a silent mix).
//   - curves      every step of the train loss and lr curves, every validation loss, the sparsity and every
//                 layer's zero fraction; lists of different lengths are a regression (never truncated).
//   - FLOPs       recomputed from the run's config at the baseline's zero fractions, equal to the last digit.
// Modes:
//   exact       (default when the fingerprint matches the baseline's): CPU runs are bit-identical on one machine
//               type, so every number must be within 1e-6 (in practice: equal).
//   tolerance   (default otherwise): within the baseline's tolerances, derived from the spread measured between
//               the baseline's suite and the same suite run with other kernels (make_baseline's spread_dirs).
#pragma once
#include <boost/json/object.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace skipbench {

constexpr double kExactTolerance = 1e-6;

enum class RegressMode { automatic, exact, tolerance };
RegressMode parse_regress_mode(const std::string& s);  // "auto" | "exact" | "tolerance"; throws Error

struct BaselineOptions {
  // Suite directories of the same suite run on other kernels (another CPU, or ATEN_CPU_CAPABILITY /
  // MKL_ENABLE_INSTRUCTIONS set to another ISA): the tolerance mode's tolerances are `factor` times the largest
  // difference seen between them and the baseline's own runs, per metric, and at least `floor` (for the
  // sparsity at least one validation token's share, the smallest step a zero fraction takes).
  std::vector<std::string> spread_dirs;
  double factor = 3.0;
  double floor = 1e-5;
};

// A baseline document from a finished suite directory.
boost::json::object make_baseline(const std::string& suite_dir, const BaselineOptions& opts = {});

// Compares suite_dir with the baseline file; prints the mode and a table; returns the number of failed checks.
// Throws Error when the data differs from the baseline's, or the baseline is not one.
int regress(const std::string& baseline_path, const std::string& suite_dir, std::ostream& out,
            RegressMode mode = RegressMode::automatic);

}  // namespace skipbench
