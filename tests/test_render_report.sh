#!/usr/bin/env bash
# test_render_report.sh: reports/render_report.py on synthetic suites (tests/fixtures/make_report_fixture.py, written
# to a temp dir): report.json schema, claims and their expected verdicts, figures as SVG + PNG, self-contained
# HTML, Markdown links, partial suites (pending/failed/diverged runs, no gated runs), repeat renders, and the
# one-line errors with exit code 2 for bad input.
# Usage: tests/test_render_report.sh [PYTHON]   (default: the project venv, .venv/bin/python)
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${1:-$root/.venv/bin/python}"
render="$root/reports/render_report.py"
fixture="$root/tests/fixtures/make_report_fixture.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

# ---- the full fixture
"$py" "$fixture" "$tmp/full" >/dev/null || { echo "FAIL fixture generation"; exit 1; }
if "$py" "$render" "$tmp/full" >"$tmp/out.txt" 2>"$tmp/err.txt"; then ok "render full fixture"; else
  fail "render full fixture (rc=$?)"; cat "$tmp/out.txt" "$tmp/err.txt"; fi
cp "$tmp/full/figures/loss_curves.svg" "$tmp/first.svg" 2>/dev/null

"$py" - "$tmp/full" <<'PY' || fails=$((fails + 1))
import json, os, re, sys
d = sys.argv[1]
errors = []
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        errors.append(what)

import statistics
r = json.load(open(os.path.join(d, "report.json")))
check(r.get("schema") == "skipbench.report" and r.get("schema_version") == 2, "report.json schema skipbench.report v2")
for k in ("suite", "provenance", "runs", "groups", "claims", "figures", "notes"):
    check(k in r, f"report.json has '{k}'")
check(r["suite"]["name"] == "fixture-suite" and r["suite"]["seeds"] == [0, 1, 2, 3, 4], "suite name and seeds")
check(r["suite"]["budget"] == {"kind": "steps", "value": 40}, "suite budget")
check(len(r["runs"]) == 35, "35 run summaries (7 configurations x 5 seeds)")
st = {(x["name"], x["seed"]): x for x in r["runs"]}
check(st[("gated-L8-t0.4-pre", 0)]["status"] == "diverged" and "nan" in st[("gated-L8-t0.4-pre", 0)]["failure"],
      "diverged run: status and failure reason")
f = st[("gated-L8-t0.4-attn_none", 1)]
check(f["status"] == "failed" and f["exit_code"] == 137 and "signal 9" in f["failure"], "failed.json run: status, exit code, reason")
check(st[("gated-L8-t0.4-pre", 4)]["status"] == "pending" and st[("gated-L8-t0.4-pre", 4)]["norm"] == "pre",
      "run with only config.json: pending, attributes from config.json")
run = st[("gated-L8-t0.4", 0)]
for k in ("final_val_loss", "sparsity", "target_mae", "implied_target_sparsity"):
    check(isinstance(run[k], float), f"run summary has {k}")
check(all(isinstance(run["inference_flops_per_token"][m], float) for m in ("standard", "reference")),
      "run summary: inference FLOPs per token in both modes")
check(isinstance(run["training_flops_total"]["standard"], float) and isinstance(run["timing"]["total_s"], float)
      and isinstance(run["timing"]["tokens_per_s"], float), "run summary: training FLOPs, wall-clock, tokens/s")
check(len(run["gate_mean"]) == 8 and len(run["zero_fraction"]) == 8 and len(run["mean_targets"]) == 8,
      "run summary: per-layer gate means, zero fractions and targets")
check(run["eval"]["hard_skip"]["tokens_per_s"] > run["eval"]["soft"]["tokens_per_s"], "run summary: eval files read")
g = {x["name"]: x for x in r["groups"]}
check(len(g) == 7, "7 configuration aggregates")
d4 = g["dense-L4"]["stats"]["val_loss"]
check(d4["n"] == 5 and d4["std"] is not None and d4["min"] <= d4["mean"] <= d4["max"], "aggregate: mean/std/n/min/max")
check(g["gated-L8-t0.4-attn_none"]["stats"]["val_loss"]["n"] == 4, "aggregate: the failed seed is left out")
check(run["initial_sparsity"] == 0 and run["sparsity"] > 0.1, "run summary: initial (step-0) and final sparsity")
check(g["dense-L8"]["role"] == "dense" and g["gated-L8-t0.7"]["role"] == "gated", "roles")
pv = r["provenance"]
check(len(pv["git_commits"]) == 2 and any("dirty" in w for w in pv["warnings"]), "provenance: 2 commits, dirty warning")
check(any("binary built at an older commit" in w and w.startswith("5 run") for w in pv["warnings"]),
      "provenance: runs whose binary predates the checkout are counted by their binary's commit and warned about")

claims = r["claims"]
check([c["id"] for c in claims] == [1, 2, 3, 4, 5, 6], "six claims in order")
valid = {"supported", "not supported", "inconclusive"}
check(all(c["verdict"] in valid for c in claims), "every verdict is supported / not supported / inconclusive")
check(all(c["thresholds"] and c["test"] and c["evidence"]["summary"] for c in claims), "thresholds, test, evidence stated")
check(all(c["margin"]["why"] and c["reason"] for c in claims), "every claim states its margin, why, and its reason")
check(all(c["estimate"]["ci"] and c["n_per_side"] for c in claims if c["id"] != 3),
      "every decided difference claim shows its interval and n per side")
want = {1: "supported", 2: "supported", 3: "supported", 4: "supported", 5: "supported", 6: "supported"}
for c in claims:
    check(c["verdict"] == want[c["id"]], f"claim {c['id']} ({c['claim']}): {c['verdict']} (want {want[c['id']]})")
c3 = claims[2]
check("diverged" in c3["evidence"]["summary"] and "gated-L8-t0.4-pre/seed0" in c3["evidence"]["runs"]
      and "Fisher" in c3["reason"], "claim 3 cites the diverged pre-LN runs and Fisher's test")
c3d = c3["evidence"]["details"]
check(len(c3d) == 1 and c3d[0]["sandwich"] == "gated-L8-t0.4" and c3d[0]["matched_on"] == "every other setting",
      "claim 3 matches pre-LN to its sandwich twin by resolved config (suite params hold only grid values)")
c4d = claims[3]["evidence"]["details"]
check(len(c4d) == 1 and c4d[0]["key"] == "gated-L8-t0.4" and c4d[0]["other"] == "gated-L8-t0.4-attn_none",
      "claim 4 compares only configurations that differ in attention_gate alone")
c5 = claims[4]["evidence"]["details"]
check(all(x["gain"] < 0 for x in c5["comparisons"]), "claim 5: gated above the frontier (negative gain)")
check(c5["frontiers"][0]["kind"] == "piecewise_linear" and len(c5["frontiers"][0]["band"]["flops"]) > 10,
      "claim 5: 3 dense depths give a piecewise-linear frontier with a band")
check(all(0 < x["multiplier"]["value"] < 1 for x in c5["comparisons"]), "claim 5: compute multipliers below 1")
c6 = claims[5]
check(c6["thresholds"]["basis"].startswith("hard_skip") and c6["estimate"]["n"] == {"runs": 3},
      "claim 6 decided by the 3 hard-skip evals with repetitions (the single-timing one left out)")
check("one timing per mode" in c6["evidence"]["summary"], "claim 6 names the eval without repetitions")

figs = {x["id"]: x for x in r["figures"]}
expect = ["loss_vs_inference_flops_standard", "loss_vs_inference_flops_reference", "frontier_fit",
          "loss_vs_training_flops",
          "loss_vs_wall_clock", "loss_vs_inference_time", "loss_curves", "gate_sparsity_per_layer", "realized_vs_target"]
for fid in expect:
    ok = fid in figs and figs[fid]["status"] == "written"
    for ext in ("svg", "png", "pdf"):
        p = os.path.join(d, "figures", f"{fid}.{ext}")
        ok = ok and os.path.isfile(p) and os.path.getsize(p) > 2000
    check(ok, f"figure {fid}: .svg, .png and .pdf written")
# measured inference time per token: the median of the hard-skip repeats over the evaluated tokens, recomputed
for g in r["groups"]:
    got = g["stats"]["inference_us_per_token"]["mean"]
    per = []
    for x in r["runs"]:
        ev = ((x.get("eval") or {}).get("hard_skip") or {})
        if x["name"] == g["name"] and x["status"] == "completed" and (ev.get("repeats") or {}).get("hard_s"):
            per.append(1e6 * statistics.median(ev["repeats"]["hard_s"]) / ev["tokens"])
    want = statistics.mean(per) if per else None
    check((got is None and want is None) or (got is not None and want is not None and abs(got - want) < 1e-9 * want),
          f"{g['name']}: inference time per token = mean over seeds of median(hard_s) / tokens")
pdf = open(os.path.join(d, "figures", "frontier_fit.pdf"), "rb").read()
check(pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF") and b"CreationDate" not in pdf,
      "PDF is a complete PDF without a creation date (reproducible)")

# LaTeX tables: every completed configuration, with its mean and 95% t half-width recomputed here from the runs
import math, statistics
from scipy import stats as sst
tabs = {t["id"]: t["file"] for t in r.get("tables", [])}
check(set(tabs) == {"configurations", "claims", "frontiers"}, "report lists the three LaTeX tables")
conf = open(os.path.join(d, "tables", "configurations.tex")).read()
check("\\toprule" in conf and "\\midrule" in conf and "\\bottomrule" in conf and conf.count("\\begin{table}") == 1,
      "configurations.tex is one booktabs table")
rows_ok = True
for g in r["groups"]:
    vals = [x["final_val_loss"] for x in r["runs"] if x["name"] == g["name"] and x["status"] == "completed"]
    if not vals:
        rows_ok = rows_ok and g["name"].replace("_", "\\_") + " &" not in conf
        continue
    m = statistics.mean(vals)
    cell = f"{m:.3f}"
    if len(vals) > 1:
        h = sst.t.ppf(0.975, len(vals) - 1) * statistics.stdev(vals) / math.sqrt(len(vals))
        cell += f" $\\pm$ {h:.3f}"
    line = next((ln for ln in conf.splitlines() if ln.startswith(g["name"].replace("_", "\\_") + " &")), "")
    if cell not in line or f"& {len(vals)} &" not in line:
        rows_ok = False
        print("   mismatch:", g["name"], cell, "|", line)
check(rows_ok, "configurations.tex: each completed group's n and mean +- t half-width match the runs")
cl = open(os.path.join(d, "tables", "claims.tex")).read()
check(all(f"\\textbf{{{c['verdict']}}}" in cl for c in r["claims"]) and cl.count("\\\\\n") >= 7,
      "claims.tex: a row per claim with its verdict")
fr = open(os.path.join(d, "tables", "frontiers.tex")).read()
check("multiplier" in fr.lower() and "gated-L8-t0.4 &" in fr, "frontiers.tex: frontier and gated multipliers")
png = open(os.path.join(d, "figures", "loss_curves.png"), "rb").read()
check(png[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature")
w, h = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
check(w >= 900 and h >= 500, f"PNG at 150 dpi ({w}x{h} px)")
check(b"pHYs" in png[:200], "PNG carries its dpi")
svg = open(os.path.join(d, "figures", "loss_vs_inference_flops_standard.svg")).read()
check(svg.lstrip().startswith("<?xml") and "<svg" in svg, "SVG is an SVG document")

html = open(os.path.join(d, "report.html"), encoding="utf-8").read()
check(html.startswith("<!DOCTYPE html>") and "</html>" in html, "report.html is a complete document")
check('<table class="claims">' in html and html.count('class="verdict') >= 12, "html: claims table with verdicts")
check(html.count('src="data:image/svg+xml;base64,') == 9, "html: 9 figures inlined as SVG")
check(html.count("What would decide it") == 0 and "CI" in html and "margin" in html,
      "html: every claim decided, intervals and margins shown")
ext = re.findall(r'(?:src|href)="(?!data:|#)([^"]+)"', html)
check(not ext, f"html: no external references {ext[:3]}")
check("<style>" in html and "stylesheet" not in html, "html: CSS inline")
check("gated-L8-t0.4-pre" in html and "diverged" in html and "exit 137" in html, "html: run table with statuses")
check("Sandwich-LN is needed" in html and "Configurations" in html, "html: claims and configuration tables")
md = open(os.path.join(d, "report.md"), encoding="utf-8").read()
links = re.findall(r"!\[[^\]]*\]\((figures/[^)]+\.png)\)", md)
check(len(links) == 9 and all(os.path.isfile(os.path.join(d, l)) for l in links), "md: links the 9 PNG figures")
check("| claim (paper) |" in md and "**supported**" in md, "md: claims table")
check(not [f for f in os.listdir(d) if f.endswith(".tmp")] and
      not [f for f in os.listdir(os.path.join(d, "figures")) if f.endswith(".tmp")], "no temporary files left")
sys.exit(1 if errors else 0)
PY

# ---- a second render gives identical figures (deterministic SVG)
"$py" "$render" "$tmp/full" --quiet 2>/dev/null
if cmp -s "$tmp/first.svg" "$tmp/full/figures/loss_curves.svg"; then ok "re-render: identical SVG"; else fail "re-render: SVG differs"; fi

# ---- partial suites: only dense runs, nothing started yet
for kind in dense-only pending-only; do
  "$py" "$fixture" "$tmp/$kind" --kind "$kind" >/dev/null
  if "$py" "$render" "$tmp/$kind" --quiet 2>"$tmp/err.txt"; then ok "render $kind"; else
    fail "render $kind (rc=$?)"; cat "$tmp/err.txt"; fi
done
"$py" - "$tmp" <<'PY' || fails=$((fails + 1))
import json, os, sys
t = sys.argv[1]
errors = []
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        errors.append(what)
r = json.load(open(os.path.join(t, "dense-only", "report.json")))
v = {c["id"]: c["verdict"] for c in r["claims"]}
check(all(v[i] == "inconclusive" for i in (1, 2, 3, 4, 5, 6)), f"dense-only: every claim inconclusive ({v})")
f = {x["id"]: x for x in r["figures"]}
check(f["loss_vs_inference_flops_standard"]["status"] == "written", "dense-only: frontier figure written")
check(f["gate_sparsity_per_layer"]["status"] == "skipped" and f["gate_sparsity_per_layer"]["note"],
      "dense-only: gate figure skipped with a note")
check(f["realized_vs_target"]["status"] == "skipped", "dense-only: target figure skipped")
html = open(os.path.join(t, "dense-only", "report.html")).read()
check("Figure skipped" in html, "dense-only: html notes the skipped figures")
check(not os.path.exists(os.path.join(t, "dense-only", "figures", "gate_sparsity_per_layer.svg")),
      "dense-only: no file for a skipped figure")
r = json.load(open(os.path.join(t, "pending-only", "report.json")))
check(all(x["status"] == "pending" for x in r["runs"]) and len(r["runs"]) == 15, "pending-only: 15 pending runs")
check(all(x["status"] == "skipped" for x in r["figures"]), "pending-only: every figure skipped")
check(all(c["verdict"] == "inconclusive" for c in r["claims"]), "pending-only: every claim inconclusive")
sys.exit(1 if errors else 0)
PY

# ---- a run still being written (a process holds its train.lock: flock, here), a torn last metrics line;
#      and an interrupted one (metrics.jsonl, a lock file nobody holds): pending with its progress
mkdir -p "$tmp/running"
"$py" "$fixture" "$tmp/running" --kind dense-only >/dev/null
rm "$tmp/running/runs/dense-L8/seed1/run.json" "$tmp/running/runs/dense-L6/seed1/run.json"
printf '{"kind":"train","step":7,"loss":3.2}\n{"kind":"tr' >>"$tmp/running/runs/dense-L8/seed1/metrics.jsonl"
echo 999999999 >"$tmp/running/runs/dense-L6/seed1/train.lock"
flock "$tmp/running/runs/dense-L8/seed1/train.lock" sleep 30 &
lock_pid=$!
for _ in $(seq 1 50); do [[ -e "$tmp/running/runs/dense-L8/seed1/train.lock" ]] && break; sleep 0.05; done
sleep 0.2
if "$py" "$render" "$tmp/running" --quiet 2>"$tmp/err.txt" && "$py" - "$tmp/running/report.json" <<'PY'
import json, sys
r = {(s["name"], s["seed"]): s for s in json.load(open(sys.argv[1]))["runs"]}
a, b = r[("dense-L8", 1)], r[("dense-L6", 1)]
ok = (a["status"] == "running" and a["progress"]["last_train_step"] == 7 and b["status"] == "pending"
      and "interrupted" in b["failure"] and b["progress"]["last_train_step"] == 39 and a["n_layers"] == 8)
sys.exit(0 if ok else 1)
PY
then ok "running and interrupted runs: status and progress from metrics.jsonl"; else fail "running/interrupted runs"; cat "$tmp/err.txt"; fi
kill "$lock_pid" 2>/dev/null; wait "$lock_pid" 2>/dev/null

# ---- metrics.jsonl.gz (the committed studies' compressed copies): the readers give what the plain file gives, a
#      long file's tail included (more than TAIL_BYTES), and a truncated archive is "no metrics", not a crash
if PYTHONPATH="$root/reports" "$py" - "$tmp/gz" <<'PY'
import gzip, json, os, sys
from report_lib import suite as S
d = sys.argv[1]
os.makedirs(d)
lines = [json.dumps({"kind": "train", "step": i, "loss": 5.0 - i * 1e-4, "gates": {"sparsity": 0.25 if i == 0 else 0.5},
                     "pad": "x" * 120}) for i in range(4000)]
lines += [json.dumps({"kind": "val", "step": 4000, "val_loss": 4.5})]
text = "\n".join(lines) + "\n"
assert len(text) > 2 * S.TAIL_BYTES
os.makedirs(f"{d}/plain"); os.makedirs(f"{d}/gz"); os.makedirs(f"{d}/bad")
open(f"{d}/plain/metrics.jsonl", "w").write(text)
with gzip.open(f"{d}/gz/metrics.jsonl.gz", "wt") as f:
    f.write(text)
raw = open(f"{d}/gz/metrics.jsonl.gz", "rb").read()
open(f"{d}/bad/metrics.jsonl.gz", "wb").write(raw[: len(raw) // 3])
p, g, b = (S.metrics_file(f"{d}/{k}") for k in ("plain", "gz", "bad"))
ok = (p.endswith("metrics.jsonl") and g.endswith("metrics.jsonl.gz") and S.metrics_file(d) is None
      and S.metrics_tail(g) == S.metrics_tail(p) and S.metrics_tail(p)["last_train_step"] == 3999
      and S.metrics_tail(p)["last_val_loss"] == 4.5
      and S.metrics_curves(g) == S.metrics_curves(p) and len(S.metrics_curves(p)["train"][0]) == 4000
      and S.initial_sparsity(g) == S.initial_sparsity(p) == 0.25
      and S.metrics_tail(b) is None and S.metrics_curves(b) is None)
sys.exit(0 if ok else 1)
PY
then ok "metrics.jsonl.gz: tail, curves and step-0 sparsity equal the plain file's; a truncated one reads as absent"
else fail "metrics.jsonl.gz readers"; fi

# ---- bad input: one line on stderr naming the file, exit code 2
expect_bad() {  # name, expected substring, args...
  local name="$1" want="$2"; shift 2
  "$py" "$render" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  local rc=$? lines; lines=$(wc -l <"$tmp/stderr")
  if [[ $rc -eq 2 && $lines -eq 1 ]] && grep -q "^skipbench: error: .*$want" "$tmp/stderr"; then
    ok "$name: $(cat "$tmp/stderr")"
  else
    fail "$name: rc=$rc lines=$lines"; cat "$tmp/stderr"
  fi
}
mkdir -p "$tmp/empty" "$tmp/badjson" "$tmp/badschema" "$tmp/badruns"
expect_bad no_suite_json "empty/suite.json: not found" "$tmp/empty"
expect_bad no_dir "nope: not a directory" "$tmp/nope"
echo '{"schema": "skipbench.suite", "runs": [,]}' >"$tmp/badjson/suite.json"
expect_bad malformed_suite "badjson/suite.json: malformed JSON" "$tmp/badjson"
echo '{"schema": "skipbench.run", "schema_version": 1}' >"$tmp/badschema/suite.json"
expect_bad wrong_schema "badschema/suite.json: not a skipbench suite" "$tmp/badschema"
echo '{"schema": "skipbench.suite", "schema_version": 1, "runs": [{"name": "a"}]}' >"$tmp/badruns/suite.json"
expect_bad run_without_dir 'runs\[0\]: "dir" must be' "$tmp/badruns"
expect_bad no_argument "report: " 
[[ ! -e "$tmp/empty/report.json" ]] && ok "bad input writes nothing" || fail "bad input wrote report.json"

# ---- a malformed run.json is reported for that run, not fatal
"$py" "$fixture" "$tmp/corrupt" --kind dense-only >/dev/null
echo '{"schema": "skipbench.run", ' >"$tmp/corrupt/runs/dense-L4/seed0/run.json"
if "$py" "$render" "$tmp/corrupt" --quiet 2>"$tmp/err.txt" && grep -q "run.json: malformed JSON" "$tmp/err.txt" &&
   grep -q '"status": "unreadable"' "$tmp/corrupt/report.json"; then ok "malformed run.json: run marked unreadable, warning"
else fail "malformed run.json"; cat "$tmp/err.txt"; fi

if [[ $fails -ne 0 ]]; then echo "$fails check group(s) failed"; exit 1; fi
echo "all render_report checks passed"
