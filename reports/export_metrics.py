#!/usr/bin/env python3
"""export_metrics.py: `skipbench export DIR --format csv|tensorboard [--out PATH]`: a run's or a suite's
metrics.jsonl in the formats other tools read.

  csv          one tidy (long) table, a row per (run, seed, kind, step, metric): columns run, group, seed, kind
               (train/val), step, tokens, metric, value. Nested values are flattened with dots and per-layer
               lists get their layer index (gates.zero_fraction.3). Default PATH: DIR/metrics.csv.
  tensorboard  TensorBoard event files, one directory per run (PATH/<run>/seed<k>), scalars named
               <kind>/<metric> at global step = optimizer step, per-layer lists as <kind>/<metric>/layer<i>;
               TensorBoard, Aim (aim convert tensorboard) and W&B (wandb sync --sync-tensorboard) read them.
               Written with the `tensorboard` package's own event writer (pinned in ci/setup.sh).
               Default PATH: DIR/tensorboard.

DIR is a run directory (holds metrics.jsonl) or a suite directory (holds suite.json; every run with a
metrics.jsonl is exported); a gzip-compressed metrics.jsonl.gz (the committed studies' copies) is read the same
way. Output is written to a temporary name and renamed, so an interrupted export leaves the previous one whole.
Exit codes: 0 written, 2 bad input (one line naming the file and the fix).
"""
import argparse
import csv
import gzip
import io
import json
import math
import os
import shutil
import sys
import tempfile

PREFIX = "skipbench: error: "


class BadInput(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        sys.stderr.write(f"{PREFIX}export: {message} (usage: skipbench export DIR --format csv|tensorboard "
                         "[--out PATH])\n")
        sys.exit(2)


def metrics_file(run_dir):
    """metrics.jsonl, else metrics.jsonl.gz, in run_dir; None when neither."""
    for name in ("metrics.jsonl", "metrics.jsonl.gz"):
        if os.path.isfile(os.path.join(run_dir, name)):
            return os.path.join(run_dir, name)
    return None


def find_runs(d):
    """[(run_name, group, seed, metrics_path)] for a run or suite directory."""
    if metrics_file(d):
        name = os.path.basename(os.path.abspath(d))
        seed = None
        try:
            with open(os.path.join(d, "run.json")) as f:
                seed = json.load(f).get("seed")
        except (OSError, ValueError):
            pass
        return [(name, name, seed, metrics_file(d))]
    suite = os.path.join(d, "suite.json")
    if not os.path.isfile(suite):
        raise BadInput(f"{d}: neither a run directory (metrics.jsonl) nor a suite directory (suite.json); "
                       "give a directory written by `skipbench train` or `skipbench suite run`")
    try:
        with open(suite) as f:
            entries = json.load(f)["runs"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise BadInput(f"{suite}: not a suite manifest ({e}); rerun `skipbench suite run` to rewrite it")
    out = []
    for e in entries:
        try:
            rel, name, seed = e["dir"], e["name"], e["seed"]
        except (KeyError, TypeError):
            raise BadInput(f"{suite}: a run entry lacks dir/name/seed; rerun `skipbench suite run` to rewrite it")
        m = metrics_file(os.path.join(d, rel))
        if m:
            out.append((name, e.get("group", name), seed, m))
    if not out:
        raise BadInput(f"{d}: no run of this suite has a metrics.jsonl yet; run the suite first")
    return out


def flatten(obj, prefix=""):
    """Yields (name, value) for every finite number in obj; lists index their elements."""
    if isinstance(obj, bool):
        return
    if isinstance(obj, (int, float)):
        if math.isfinite(obj):
            yield prefix, float(obj)
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from flatten(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from flatten(v, f"{prefix}.{i}")


def records(path):
    """(kind, step, tokens, {metric: value}) per metrics line; a torn last line (a run still writing) is skipped."""
    try:
        with (gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")) as f:
            lines = f.read().split("\n")
    except (OSError, EOFError, UnicodeDecodeError) as e:  # gzip.BadGzipFile is an OSError
        raise BadInput(f"{path}: unreadable ({e}); restore it from git or rerun the run to rewrite it")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except ValueError:
            if i >= len(lines) - 2:
                continue  # the line being written
            raise BadInput(f"{path}:{i + 1}: not JSON; the file is damaged (rerun the run to rewrite it)")
        if not isinstance(r, dict) or not isinstance(r.get("step"), int):
            raise BadInput(f"{path}:{i + 1}: a metrics line needs an integer 'step'")
        kind = r.get("kind", "train")
        vals = {k: v for k, v in flatten({k: v for k, v in r.items() if k not in ("kind", "step", "tokens")})}
        yield kind, r["step"], r.get("tokens"), vals


def export_csv(runs, out):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["run", "group", "seed", "kind", "step", "tokens", "metric", "value"])
    n = 0
    for name, group, seed, path in runs:
        for kind, step, tokens, vals in records(path):
            for k, v in vals.items():
                w.writerow([name, group, "" if seed is None else seed, kind, step, "" if tokens is None else tokens,
                            k, repr(v)])
                n += 1
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write(buf.getvalue())
    os.replace(tmp, out)
    return n


def export_tensorboard(runs, out):
    try:
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary
    except ImportError:
        raise BadInput("the `tensorboard` package is not in the project .venv; run bash ci/setup.sh")
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tensorboard-", dir=parent)
    n = 0
    try:
        for name, group, seed, path in runs:
            d = os.path.join(tmp, name, f"seed{seed}" if seed is not None else "")
            os.makedirs(d, exist_ok=True)
            events = []  # read the whole file first: a damaged line stops the export before any writer starts
            clock = 0.0  # wall time = the run's cumulative training-step seconds (step_s), so time axes mean it
            for kind, step, tokens, vals in records(path):
                clock += vals.get("step_s", 0.0) if kind == "train" else 0.0
                values = []
                for k, v in vals.items():
                    head, _, last = k.rpartition(".")
                    tag = f"{kind}/{head}/layer{last}" if head and last.isdigit() else f"{kind}/{k}"
                    values.append(Summary.Value(tag=tag, simple_value=v))
                    n += 1
                events.append(Event(step=step, wall_time=clock, summary=Summary(value=values)))
            w = EventFileWriter(d, flush_secs=3600, filename_suffix="")
            try:
                for ev in events:
                    w.add_event(ev)
            finally:
                w.close()
        if os.path.isdir(out):
            old = out + ".old"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return n


def main(argv=None):
    ap = _Parser(prog="skipbench export", description=__doc__.splitlines()[0])
    ap.add_argument("dir", help="run directory (metrics.jsonl) or suite directory (suite.json)")
    ap.add_argument("--format", required=True, choices=["csv", "tensorboard"])
    ap.add_argument("--out", default="", help="output file (csv) or directory (tensorboard); default inside DIR")
    a = ap.parse_args(argv)
    d = a.dir.rstrip("/") or "/"
    try:
        runs = find_runs(d)
        out = a.out or os.path.join(d, "metrics.csv" if a.format == "csv" else "tensorboard")
        n = (export_csv if a.format == "csv" else export_tensorboard)(runs, out)
    except BadInput as e:
        sys.stderr.write(f"{PREFIX}{e}\n")
        return 2
    except OSError as e:
        sys.stderr.write(f"{PREFIX}{e.filename or d}: cannot export ({e.strerror or e})\n")
        return 2
    print(f"export: {n:,} values from {len(runs)} run(s) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
