"""report_lib: turn a skipbench ablation-suite directory into report.json, figures, report.html and report.md.

Modules:
  common   BadInput, JSON reading with one-line errors, atomic writes, number helpers
  stats    summaries over seeds, Welch / jackknife-t intervals, the three-outcome decision rules
  frontier loss-vs-FLOPs frontiers (power law or monotone piecewise linear) and compute multipliers
  suite    suite.json + per-run files -> run summaries, configuration aggregates, provenance
  claims   the paper's claims as stated tests (rules); claims_text: their prose
  simulate synthetic suites with known truth through the same code; calibrate: the engine's error rates
  figures  matplotlib figures (SVG + 150 dpi PNG)
  render   report.html (self-contained) and report.md
  cli      the entry point used by reports/render_report.py
"""
SCHEMA = "skipbench.report"
SCHEMA_VERSION = 2  # v2: claims carry estimate, interval, margin, n, reason, decide
