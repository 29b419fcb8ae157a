#!/usr/bin/env python3
"""claims_calibrate.py [--sims N] [--seed S] [--out FILE]: the claims engine's error rates and power on simulated
suites (reports/report_lib/calibrate.py). Run by `skipbench claims calibrate` with the project venv. Exit codes:
0 every target met, 1 a target missed, 2 bad arguments."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from report_lib.calibrate import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
