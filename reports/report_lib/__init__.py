"""report_lib: turn a skipbench ablation-suite directory into report.json, figures, report.html and report.md.

Modules:
  common   BadInput, JSON reading with one-line errors, atomic writes, number helpers
  stats    mean/std/min/max summaries, piecewise-linear interpolation
  suite    suite.json + per-run files -> run summaries, configuration aggregates, provenance
  claims   the paper's claims checked against the suite, with thresholds and verdicts
  figures  matplotlib figures (SVG + 150 dpi PNG)
  render   report.html (self-contained) and report.md
  cli      the entry point used by reports/render_report.py
"""
SCHEMA = "skipbench.report"
SCHEMA_VERSION = 1
