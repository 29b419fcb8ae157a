#!/usr/bin/env python3
"""render_report.py DIR: turn a finished (or partly finished) skipbench ablation-suite directory into

  DIR/report.json   schema skipbench.report v2: suite, provenance, per-run summaries, per-configuration aggregates
                    over seeds, the paper's claims with evidence and verdicts, the figure list
  DIR/figures/      *.svg and 150 dpi *.png
  DIR/report.html   self-contained (CSS and figures inlined)
  DIR/report.md     the same in Markdown, linking figures/*.png

Run by `skipbench report DIR` with the project venv (python 3.11, matplotlib, numpy). Exit codes: 0 rendered,
2 bad input (one line on stderr naming the file and the problem), 1 internal error.
"""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from report_lib.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
