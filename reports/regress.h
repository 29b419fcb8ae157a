// regress.h: CI regression of a suite's results against a committed baseline (reports/baselines/*.json).
// Per run (name/seed): the training loss curve and final validation loss within tolerances, the realised sparsity
// (per layer) within a tolerance, and the FLOPs estimator exact: the baseline's FLOPs are recomputed from the run's
// config at the baseline's sparsity and must match to the last digit, so a changed formula cannot hide behind a
// changed sparsity. Missing or failed runs are regressions.
#pragma once
#include <boost/json/object.hpp>
#include <ostream>
#include <string>

namespace skipbench {

struct RegressTolerances {
  double train_loss = 0.05;  // max |delta| at any step (CPU kernels differ slightly between machines)
  double val_loss = 0.03;
  double sparsity = 0.05;    // per layer zero fraction and mean
};

// A baseline document from a finished suite directory.
boost::json::object make_baseline(const std::string& suite_dir, const RegressTolerances& tol);

// Compares suite_dir with the baseline file; prints a table; returns the number of failed checks.
int regress(const std::string& baseline_path, const std::string& suite_dir, std::ostream& out);

}  // namespace skipbench
