#!/usr/bin/env python3
"""test_export.py: `skipbench export` on the synthetic report fixture (tests/fixtures/make_report_fixture.py).

CSV: every value of chosen metrics lines (scalars and per-layer list elements) is found in the tidy table under
its run, seed, kind and step; a torn last line is skipped, a damaged middle line is an error. TensorBoard: the
event files are read back with TensorBoard's own EventAccumulator and the train and validation losses equal the
metrics.jsonl values at their steps (float32), per-layer gates are tagged layer<i>. Bad input: exit 2, one line.
Usage: test_export.py [path/to/skipbench]   (default build/skipbench; from the repository root)
"""
import csv
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "skipbench")
fails = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails.append(what)


def run(*args):
    return subprocess.run([BIN, "export", *args], capture_output=True, text=True)


tmp = tempfile.mkdtemp()
try:
    suite = os.path.join(tmp, "suite")
    subprocess.run([sys.executable, os.path.join(ROOT, "tests/fixtures/make_report_fixture.py"), suite],
                   check=True, capture_output=True)
    entries = json.load(open(os.path.join(suite, "suite.json")))["runs"]
    with_metrics = [e for e in entries if os.path.isfile(os.path.join(suite, e["dir"], "metrics.jsonl"))]

    # ---- CSV
    r = run(suite, "--format", "csv")
    check(r.returncode == 0 and "metrics.csv" in r.stdout, f"csv export exits 0 ({r.returncode}: {r.stderr.strip()})")
    rows = list(csv.DictReader(open(os.path.join(suite, "metrics.csv"))))
    check(rows and list(rows[0].keys()) == ["run", "group", "seed", "kind", "step", "tokens", "metric", "value"],
          "csv: tidy header run,group,seed,kind,step,tokens,metric,value")
    index = {(x["run"], x["seed"], x["kind"], x["step"], x["metric"]): float(x["value"]) for x in rows}
    check(len(index) == len(rows), "csv: one row per (run, seed, kind, step, metric)")
    check({x["run"] for x in rows} == {e["name"] for e in with_metrics}, "csv: every run with metrics is there")
    found = missing = 0
    for e in with_metrics[:6]:
        lines = [json.loads(ln) for ln in open(os.path.join(suite, e["dir"], "metrics.jsonl")) if ln.strip()]
        for m in lines[:: max(1, len(lines) // 5)]:
            kind = m.get("kind", "train")
            want = {k: v for k, v in m.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
                    and k not in ("step", "tokens")}
            for k, v in (m.get("gates") or {}).items():
                if isinstance(v, list):
                    want.update({f"gates.{k}.{i}": x for i, x in enumerate(v)})
            for k, v in want.items():
                got = index.get((e["name"], str(e["seed"]), kind, str(m["step"]), k))
                if got is not None and abs(got - v) <= 1e-12 * max(1.0, abs(v)):
                    found += 1
                else:
                    missing += 1
    check(found > 50 and missing == 0, f"csv: sampled metrics values all present and equal ({found} found, "
          f"{missing} missing or different)")

    # a torn last line (a run still writing) is skipped; a damaged middle line is an error naming file and line
    one = os.path.join(suite, with_metrics[0]["dir"])
    pristine = open(os.path.join(one, "metrics.jsonl")).read()
    with open(os.path.join(one, "metrics.jsonl"), "a") as f:
        f.write('{"kind":"train","step":99')
    r = run(one, "--format", "csv", "--out", os.path.join(tmp, "one.csv"))
    check(r.returncode == 0 and "1 run(s)" in r.stdout, "run directory with a torn last line exports")
    lines = open(os.path.join(one, "metrics.jsonl")).read().split("\n")
    lines.insert(1, "{not json")
    open(os.path.join(one, "metrics.jsonl"), "w").write("\n".join(lines))
    r = run(one, "--format", "csv", "--out", os.path.join(tmp, "two.csv"))
    check(r.returncode == 2 and "metrics.jsonl:2: not JSON" in r.stderr and r.stderr.count("\n") == 1
          and not os.path.exists(os.path.join(tmp, "two.csv")), "damaged middle line: exit 2, file:line, no output")
    r = run(suite, "--format", "tensorboard", "--out", os.path.join(tmp, "tb-bad"))
    check(r.returncode == 2 and r.stderr.count("\n") == 1 and not os.path.exists(os.path.join(tmp, "tb-bad"))
          and not [f for f in os.listdir(tmp) if f.startswith(".tensorboard-")],
          "tensorboard with a damaged run: exit 2, one line, nothing left behind")
    open(os.path.join(one, "metrics.jsonl"), "w").write(pristine)

    # a compressed copy (metrics.jsonl.gz, as the committed studies store them) exports the same table, and a
    # damaged one is exit 2 naming the file
    r = run(one, "--format", "csv", "--out", os.path.join(tmp, "plain.csv"))
    gz_dir = os.path.join(tmp, "gz-run")
    os.makedirs(gz_dir)
    if os.path.exists(os.path.join(one, "run.json")):
        shutil.copy(os.path.join(one, "run.json"), gz_dir)
    with open(os.path.join(one, "metrics.jsonl"), "rb") as src, gzip.open(os.path.join(gz_dir, "metrics.jsonl.gz"), "wb") as dst:
        dst.write(src.read())
    r2 = run(gz_dir, "--format", "csv", "--out", os.path.join(tmp, "gz.csv"))
    # run and group are the directory's name, which differs; every other column must match row for row
    plain_rows = [row[2:] for row in csv.reader(open(os.path.join(tmp, "plain.csv")))]
    gz_rows = [row[2:] for row in csv.reader(open(os.path.join(tmp, "gz.csv")))] if r2.returncode == 0 else []
    check(r.returncode == 0 and r2.returncode == 0 and len(plain_rows) > 10 and plain_rows == gz_rows,
          f"metrics.jsonl.gz exports the same rows as metrics.jsonl ({len(gz_rows)} rows; {r2.stderr.strip()})")
    raw = open(os.path.join(gz_dir, "metrics.jsonl.gz"), "rb").read()
    open(os.path.join(gz_dir, "metrics.jsonl.gz"), "wb").write(raw[: len(raw) // 2])
    r = run(gz_dir, "--format", "csv", "--out", os.path.join(tmp, "gz2.csv"))
    check(r.returncode == 2 and "metrics.jsonl.gz: unreadable" in r.stderr and r.stderr.count("\n") == 1,
          f"a truncated metrics.jsonl.gz: exit 2, one line naming it ({r.stderr.strip()})")

    # ---- TensorBoard
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        print("skip tensorboard checks: the tensorboard package is missing (bash ci/setup.sh installs it)")
        EventAccumulator = None
    if EventAccumulator:
        e = with_metrics[1]
        r = run(suite, "--format", "tensorboard", "--out", os.path.join(tmp, "tb"))
        check(r.returncode == 0, f"tensorboard export exits 0 ({r.stderr.strip()})")
        d = os.path.join(tmp, "tb", e["name"], f"seed{e['seed']}")
        ea = EventAccumulator(d, size_guidance={"scalars": 0})
        ea.Reload()
        lines = [json.loads(ln) for ln in open(os.path.join(suite, e["dir"], "metrics.jsonl")) if ln.strip()]
        train = {m["step"]: m["loss"] for m in lines if m.get("kind", "train") == "train" and "loss" in m}
        val = {m["step"]: m["val_loss"] for m in lines if m.get("kind") == "val" and "val_loss" in m}
        got = {s.step: s.value for s in ea.Scalars("train/loss")}
        check(set(got) == set(train) and all(abs(got[k] - train[k]) <= 1e-6 * abs(train[k]) for k in train),
              f"tensorboard: train/loss equals metrics.jsonl at all {len(train)} steps")
        gv = {s.step: s.value for s in ea.Scalars("val/val_loss")} if "val/val_loss" in ea.Tags()["scalars"] else {}
        check(val and set(gv) == set(val) and all(abs(gv[k] - val[k]) <= 1e-6 * abs(val[k]) for k in val),
              "tensorboard: val/val_loss equals metrics.jsonl")
        layer_tags = [t for t in ea.Tags()["scalars"] if "/layer" in t]
        check(any(t.endswith("/layer0") for t in layer_tags), "tensorboard: per-layer lists tagged <metric>/layer<i>")
        # a second export replaces the first whole
        r2 = run(suite, "--format", "tensorboard", "--out", os.path.join(tmp, "tb"))
        files = os.listdir(d)
        check(r2.returncode == 0 and len(files) == 1, "re-export replaces the event files (one file per run)")

    # ---- bad input
    r = run(tmp, "--format", "csv")
    check(r.returncode == 2 and "neither a run directory" in r.stderr, "not a run or suite directory: exit 2")
    r = run(suite, "--format", "xml")
    check(r.returncode == 2 and "invalid choice" in r.stderr, "unknown format: exit 2")

    # ---- --help reaches the helper: its options are listed, not only the subcommand's one-line description
    r = run("--help")
    check(r.returncode == 0 and "--format" in r.stdout and "--out" in r.stdout, "export --help lists --format and --out")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

if fails:
    print(f"{len(fails)} check(s) failed")
    sys.exit(1)
print("all export checks passed")
