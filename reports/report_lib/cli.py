"""Entry point: render_report.py DIR -> DIR/report.json, DIR/figures/*.{svg,png,pdf}, DIR/tables/*.tex (booktabs),
DIR/report.html, DIR/report.md.

Exit codes: 0 rendered (warnings about individual runs go to stderr), 2 bad input (one line on stderr naming the
file and the problem), 1 an internal error (one line; SKIPBENCH_DEBUG=1 shows the traceback).
"""
import argparse
import datetime
import json
import os
import sys
import tempfile

from . import SCHEMA, SCHEMA_VERSION
from .common import BadInput, clean_for_json, write_atomic

PREFIX = "skipbench: error: "


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        sys.stderr.write(f"{PREFIX}report: {message} (usage: skipbench report DIR)\n")
        sys.exit(2)


def _matplotlib_config():
    if "MPLCONFIGDIR" not in os.environ:
        home_cfg = os.path.join(os.path.expanduser("~"), ".config")
        if not os.access(home_cfg if os.path.isdir(home_cfg) else os.path.expanduser("~"), os.W_OK):
            os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="skipbench-mpl-")


def build(suite_dir, quiet=False):
    from .claims import evaluate_claims, evaluate_peers
    from .suite import aggregate, load_run, load_suite, provenance, summarize_run

    suite = load_suite(suite_dir)
    problems = []
    runs = [load_run(suite_dir, e, problems) for e in suite["runs"]]
    summaries = [summarize_run(r) for r in runs]
    groups = aggregate(summaries)
    claims = evaluate_claims(summaries, groups, runs)
    peers = evaluate_peers(summaries, groups, runs)

    _matplotlib_config()
    from .figures import make_figures
    from .render import render_html, render_md

    runs_by_name = {}
    for r in runs:
        runs_by_name.setdefault(r["entry"]["name"], []).append(r)
    zero_eps = next((s["zero_eps"] for s in summaries if s["zero_eps"] is not None), None)
    figs = make_figures(os.path.join(suite_dir, "figures"), groups, runs_by_name, zero_eps, claims)

    counts = {}
    for s in summaries:
        counts[s["status"]] = counts.get(s["status"], 0) + 1
    excluded = [f"{s['name']}/seed{s['seed']} ({s['status']})" for s in summaries if s["status"] != "completed"]
    notes = list(problems)
    if excluded:
        notes.append("Not completed, so left out of the figures and statistics: " + ", ".join(excluded) + ".")
    from .suite import SPIKE_NATS
    spiky = [f"{s['name']}/seed{s['seed']} (+{s['loss_spike']['rise']:.2f} at step {s['loss_spike']['step']})"
             for s in summaries if s["status"] == "completed" and s.get("loss_spike")
             and s["loss_spike"]["rise"] > SPIKE_NATS]
    if spiky:
        notes.append(f"Loss spikes: training loss rose more than {SPIKE_NATS} nats above its running minimum after "
                     "warm-up in " + ", ".join(spiky) + ".")
    for f in figs:
        if f["status"] != "written":
            notes.append(f"Figure '{f['title']}' skipped: {f['note']}.")
    rep = {
        "schema": SCHEMA, "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "generator": "reports/render_report.py",
        "suite": {"name": suite.get("name") or os.path.basename(os.path.abspath(suite_dir)),
                  "description": suite.get("description"), "file": suite.get("file"),
                  "budget": suite.get("budget"), "seeds": suite.get("seeds"), "n_runs": len(summaries),
                  "status_counts": counts},
        "provenance": provenance(runs),
        "runs": summaries,
        "groups": groups,
        "claims": claims,
        "peers": peers,
        "figures": figs,
        "notes": notes,
    }
    from .tables import write_tables
    rep["tables"] = write_tables(rep, suite_dir)
    rep = clean_for_json(rep)
    paths = {k: os.path.join(suite_dir, f"report.{k}") for k in ("json", "html", "md")}
    write_atomic(paths["json"], json.dumps(rep, indent=1, allow_nan=False) + "\n")
    write_atomic(paths["html"], render_html(rep, suite_dir))
    write_atomic(paths["md"], render_md(rep))

    for p in problems:
        sys.stderr.write(f"skipbench: warning: {p}\n")
    if not quiet:
        written = [f for f in figs if f["status"] == "written"]
        print(f"report: {paths['html']}  {paths['md']}  {paths['json']}")
        print(f"figures: {len(written)} in {os.path.join(suite_dir, 'figures')} (SVG + PNG + PDF)"
              + (f", {len(figs) - len(written)} skipped (no data)" if len(written) < len(figs) else ""))
        print("tables (LaTeX, booktabs): " + ", ".join(os.path.join(suite_dir, t["file"]) for t in rep["tables"]))
        print("runs: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
        print("claims:")
        for c in claims:
            print(f"  {c['id']}. {c['verdict']:<14} {c['claim']}")
    return rep


def main(argv=None):
    ap = _Parser(prog="skipbench report",
                 description="Render an ablation-suite directory into report.json, figures/, report.html, report.md")
    ap.add_argument("dir", help="suite directory (holds suite.json)")
    ap.add_argument("--quiet", action="store_true", help="print nothing on success")
    args = ap.parse_args(argv)
    try:
        build(args.dir.rstrip("/") or "/", args.quiet)
    except BadInput as e:
        sys.stderr.write(f"{PREFIX}{e}\n")
        return 2
    except OSError as e:
        if os.environ.get("SKIPBENCH_DEBUG"):
            raise
        where = e.filename or args.dir
        sys.stderr.write(f"{PREFIX}{where}: cannot write the report ({e.strerror or e})\n")
        return 2
    except Exception as e:  # noqa: BLE001 - one line for the user; the traceback on request
        if os.environ.get("SKIPBENCH_DEBUG"):
            raise
        msg = str(e).replace("\n", " ")
        sys.stderr.write(f"{PREFIX}report: internal error in reports/render_report.py ({type(e).__name__}: {msg}); "
                         f"rerun with SKIPBENCH_DEBUG=1 for a traceback\n")
        return 1
    return 0
