#!/usr/bin/env python3
"""Tests for profiling/measured_flops.py (no GPU, no ncu): parsing and analysis of an Nsight Compute raw-page CSV.

tests/data/ncu_sample.csv is SYNTHETIC: hand-written in the layout of `ncu --csv --page raw --print-units base
--log-file` (==PROF== lines, header, units row, one row per kernel, the "thread Domain:Push/Pop_Range:..." NVTX
column), with values chosen so every sum below can be checked by hand. It holds a 2-layer model:
  ID 0      a kernel before the first step (no range)                                     -> outside
  ID 1-9    a warm-up step (1e6-sized values, so leaking it into the totals is obvious)
  ID 10-26  the analysed step: forward on the main thread (step/forward/block.<l>/{gate,attention,ffn}); backward
            with kernels of autograd's device thread (block.1 alone, and no range at all for the LM head before it
            and the embedding after block 0), one kernel in the process-scope form step/backward/block.0, the
            main-thread loss scaling in step/backward; metrics; optimizer; and a range-less kernel at the end.
  Kernel 13 (ffn) also carries an "attention" range of another domain, which must be ignored; kernel 18 has a
  thousands separator ("1,000"), kernel 25 an "n/a" value.
Estimate used (per sequence): attention 1000 + 500, ffn 3000, gate 10, head 2000, forward 6510; 2 sequences/step.

Run: python3 tests/test_measured_flops.py   (exit status non-zero on failure)
"""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SCRIPT = os.path.join(REPO, "profiling", "measured_flops.py")
FIXTURE = os.path.join(HERE, "data", "ncu_sample.csv")
sys.path.insert(0, os.path.join(REPO, "profiling"))
sys.dont_write_bytecode = True  # no profiling/__pycache__ left in the source tree
import measured_flops as mf  # noqa: E402

EST = {"mode": "standard", "seq_len": 4, "mean_sparsity": 0, "n_layers": 2, "forward_per_sequence": 6510,
       "components_per_sequence": {"attention_projections": 1000, "attention_scores_values": 500, "ffn": 3000,
                                   "gate_masks": 10, "head": 2000}}
SEQS = 2
FFMA = mf.S + "ffma_pred_on.sum"


def load(path=FIXTURE, **kw):
    kernels, info = mf.read_ncu_csv(path, **kw)
    mf.compute_flops(kernels)
    return kernels, info


def by_id(kernels):
    return {k.id: k for k in kernels}


def rewrite_csv(src, dst, drop_column=None, transform=None):
    """Copy the fixture, optionally without one column (by header name) or with rows transformed."""
    with open(src, newline="") as f:
        lines = f.read().splitlines(True)
    keep = [ln for ln in lines if ln.startswith("==")]
    rows = list(csv.reader(io.StringIO("".join(ln for ln in lines if not ln.startswith("==")))))
    if drop_column is not None:
        i = next(j for j, h in enumerate(rows[0]) if drop_column in h)
        rows = [r[:i] + r[i + 1:] for r in rows]
    if transform:
        rows = transform(rows)
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    with open(dst, "w") as f:
        f.write("".join(keep[:1]) + out.getvalue())


def run_cli(*args):
    p = subprocess.run([sys.executable, SCRIPT] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, cwd=REPO)
    return p.returncode, p.stdout, p.stderr


class ParseTests(unittest.TestCase):
    def test_reads_fixture_skipping_tool_lines(self):
        kernels, info = load()
        self.assertEqual(len(kernels), 27)
        self.assertEqual(info["format"], "raw")
        self.assertEqual([k.id for k in kernels], list(range(27)))
        self.assertEqual(info["na_metric_values"], 1)  # kernel 25's hadd
        self.assertIn("<default domain>", info["domains_seen"])

    def test_ffma_counted_twice(self):
        k = by_id(load()[0])
        self.assertEqual(k[13].metrics[FFMA], 1500)
        self.assertEqual(k[13].flops, 3000)                      # 2 x 1500 FFMA
        self.assertEqual(k[17].flops, 2 * 1000 + 500 + 500)      # ffma, fadd, fmul
        self.assertEqual(k[25].by_type["fp32"], 2 * 300 + 100)
        self.assertEqual(k[25].by_type["fp64"], 2)               # one DFMA
        self.assertEqual(k[22].by_type["fp16"], 20)              # 10 HFMA
        self.assertEqual(k[12].by_type["tensor_bf16"], 1500)     # hgmma 1400 + hmma 100

    def test_thousands_separator_and_time_units(self):
        k = by_id(load()[0])
        self.assertEqual(k[18].metrics[mf.S + "fadd_pred_on.sum"], 1000)  # "1,000"
        self.assertAlmostEqual(k[12].time_s, 2500e-9)                     # nsecond -> s
        self.assertIsNone(k[25].metrics[mf.S + "hadd_pred_on.sum"])       # "n/a"
        self.assertEqual(mf.unit_scale(mf.TIME_METRIC, "usecond"), 1e-6)
        self.assertEqual(mf.unit_scale(FFMA, "Minst"), 1e6)
        self.assertEqual(mf.unit_scale(FFMA, "inst"), 1.0)
        with self.assertRaises(mf.InputError):
            mf.unit_scale(mf.TIME_METRIC, "fortnight")

    def test_nvtx_cell_forms(self):
        s = mf.nvtx_stack
        cell = ('12  "skipbench:step:none:none:none:none:none:none"  '
                '"skipbench:block.3:none:none:none:none:ASCII:block.3"')
        self.assertEqual(s(cell, "skipbench")[0], ["step", "block.3"])
        self.assertEqual(s('7 "<default domain>:foo:none:none:none:none:none:none"', "skipbench")[0], [])
        self.assertEqual(s('7 "<default domain>:foo:none:none:none:none:none:none"', None)[0], ["foo"])
        self.assertEqual(s('"skipbench:step/forward/block.0/ffn:none:none:none:none:none:none"', "skipbench")[0],
                         ["step", "forward", "block.0", "ffn"])                     # a path in one entry
        self.assertEqual(s('3 skipbench:step:none:none:none:none:none:none', "skipbench")[0], ["step"])  # unquoted
        self.assertEqual(s('"d:mod:a.b:none:none:none:none:none:none"', "d")[0], ["mod:a.b"])  # ':' in a range
        self.assertEqual(s('"skipbench::none:none:none:none:ASCII:gate"', "skipbench")[0], ["gate"])  # message only
        self.assertEqual(s("4250 ", "skipbench")[0], [])
        self.assertEqual(s("", "skipbench")[0], [])


class AttributionTests(unittest.TestCase):
    def setUp(self):
        self.kernels = load()[0]
        self.res = mf.analyze_kernels(self.kernels, EST, SEQS, skip_steps=1)
        self.k = by_id(self.kernels)

    def check(self, kid, phase, component, layer=None, inferred=False):
        k = self.k[kid]
        self.assertEqual((k.phase, k.component, k.layer, k.inferred), (phase, component, layer, inferred),
                         "kernel %d" % kid)

    def test_forward_kernels(self):
        self.check(10, "forward", "embed")
        self.check(11, "forward", "gate", 0)
        self.check(12, "forward", "attention", 0)
        self.check(13, "forward", "ffn", 0)          # the other domain's "attention" range is ignored
        self.check(14, "forward", "block_rest", 0)
        self.check(16, "forward", "attention", 1)
        self.check(18, "forward", "head")            # after the last block

    def test_backward_on_device_thread_and_process_scope(self):
        self.check(19, "backward", "head")                        # main thread, step/backward
        self.check(20, "backward", "head", inferred=True)         # no range, before any block: LM head / loss
        self.check(21, "backward", "block_rest", 1, inferred=True)  # block.1 alone: autograd's device thread
        self.check(22, "backward", "block_rest", 0)               # step/backward/block.0 (process scope / CPU)
        self.check(23, "backward", "embed", inferred=True)        # no range, after block 0: embedding

    def test_other_phases_and_outside(self):
        self.check(24, "metrics", "metrics")
        self.check(25, "optimizer", "optimizer")
        self.check(26, "unattributed", "unattributed")  # range-less after the optimizer: not backward
        self.check(0, "unattributed", "outside")
        self.check(6, "backward", "head", inferred=True)  # the warm-up step is segmented the same way

    def test_steps(self):
        self.assertEqual(self.res["steps"], {"found": 2, "skipped": 1, "analysed": 1, "kernels_outside_steps": 1})

    def test_totals(self):
        t = self.res["totals"]
        # forward 13145 + backward 30224 + metrics 7 + optimizer 702 + unattributed 50
        self.assertEqual(t["measured"], 44128)
        self.assertEqual(t["estimated"], 3 * 6510 * SEQS)
        self.assertAlmostEqual(t["ratio"], 44128 / 39060)
        self.assertEqual(t["kernels"], 17)
        self.assertAlmostEqual(t["kernel_time_s"], 20500e-9)
        self.assertEqual(t["by_type"]["tensor_bf16"], 24000)
        self.assertEqual(t["by_type"]["fp32"], 20106)
        self.assertEqual(t["by_type"]["fp16"], 20)
        self.assertEqual(t["by_type"]["fp64"], 2)
        self.assertEqual(t["by_type"]["tensor_tf32"], 0)
        self.assertEqual(self.res["raw_metric_totals"][FFMA], 1500 + 1000 + 3000 + 3000 + 300)

    def test_phases(self):
        p = self.res["phases"]
        self.assertEqual((p["forward"]["measured"], p["forward"]["estimated"]), (13145, 13020))
        self.assertAlmostEqual(p["forward"]["ratio"], 13145 / 13020)
        self.assertEqual((p["backward"]["measured"], p["backward"]["estimated"]), (30224, 26040))  # 2 x forward
        self.assertEqual(p["backward"]["kernels"], 5)
        self.assertAlmostEqual(p["backward"]["time_s"], 7000e-9)
        self.assertEqual((p["optimizer"]["measured"], p["optimizer"]["estimated"], p["optimizer"]["ratio"]),
                         (702, None, None))
        self.assertEqual(p["metrics"]["measured"], 7)
        self.assertEqual(p["unattributed"]["measured"], 50)
        self.assertNotIn("other", p)

    def test_components(self):
        c = self.res["components"]
        self.assertEqual((c["attention"]["forward"]["measured"], c["attention"]["forward"]["estimated"]), (3000, 3000))
        self.assertEqual(c["attention"]["forward"]["ratio"], 1.0)
        self.assertEqual((c["ffn"]["forward"]["measured"], c["ffn"]["forward"]["estimated"]), (6000, 6000))
        self.assertEqual((c["gate"]["forward"]["measured"], c["gate"]["forward"]["estimated"]), (40, 20))
        self.assertEqual(c["gate"]["forward"]["ratio"], 2.0)
        # backward carries block ranges only: modules are not separable there (null, not 0)
        for m in ("gate", "attention", "ffn"):
            self.assertIsNone(c[m]["backward"]["measured"])
            self.assertIsNone(c[m]["backward"]["ratio"])
            self.assertIsNone(c[m]["training"]["measured"])
        self.assertEqual(c["attention"]["backward"]["estimated"], 6000)  # 2 x forward estimate still shown
        self.assertEqual(c["block_rest"]["forward"]["measured"], 5)
        self.assertIsNone(c["block_rest"]["forward"]["estimated"])
        self.assertEqual((c["blocks"]["forward"]["measured"], c["blocks"]["forward"]["estimated"]), (9045, 9020))
        self.assertEqual((c["blocks"]["backward"]["measured"], c["blocks"]["backward"]["estimated"]), (24020, 18040))
        self.assertAlmostEqual(c["blocks"]["training"]["ratio"], (9045 + 24020) / (3 * 9020))
        self.assertEqual((c["head"]["forward"]["measured"], c["head"]["backward"]["measured"]), (4000, 6004))
        self.assertAlmostEqual(c["head"]["backward"]["ratio"], 6004 / 8000)
        self.assertAlmostEqual(c["head"]["training"]["ratio"], 10004 / 12000)
        self.assertEqual((c["embed"]["forward"]["measured"], c["embed"]["backward"]["measured"]), (100, 200))
        self.assertIsNone(c["embed"]["training"]["ratio"])

    def test_layers(self):
        L = self.res["layers"]
        self.assertEqual([r["layer"] for r in L], [0, 1])
        self.assertEqual((L[0]["forward"]["measured"], L[0]["backward"]["measured"]), (4525, 12020))
        self.assertEqual((L[1]["forward"]["measured"], L[1]["backward"]["measured"]), (4520, 12000))
        self.assertEqual((L[0]["forward"]["estimated"], L[0]["backward"]["estimated"]), (4510, 9020))
        self.assertAlmostEqual(L[1]["backward"]["ratio"], 12000 / 9020)
        self.assertAlmostEqual(L[1]["backward"]["time_s"], 3000e-9)

    def test_without_skipping_the_warmup_step_is_averaged_in(self):
        res = mf.analyze_kernels(load()[0], EST, SEQS, skip_steps=0)
        self.assertEqual(res["steps"]["analysed"], 2)
        self.assertEqual(res["totals"]["measured"], (11e6 + 44128) / 2)

    def test_ratio_math(self):
        self.assertIsNone(mf.ratio(None, 5))
        self.assertIsNone(mf.ratio(5, 0))
        self.assertIsNone(mf.ratio(5, None))
        self.assertEqual(mf.ratio(3, 4), 0.75)


def synthetic(specs):
    """Kernels from (stack, ffma) pairs, in launch order."""
    ks = []
    for i, (stack, ffma) in enumerate(specs):
        k = mf.Kernel(i, i, "k%d" % i, list(stack), {FFMA: ffma}, "")
        ks.append(k)
    mf.compute_flops(ks)
    return ks


class SegmentationTests(unittest.TestCase):
    def test_gradient_accumulation_segments(self):
        F, B = ("step", "forward"), ("step", "backward")
        micro = [(F, 1), (F + ("block.0", "ffn"), 1), (F, 1),         # embed, block, head
                 (B, 1), ((), 1), (("block.0",), 1), ((), 1),          # head, head (device), block, embed (device)
                 (("step", "metrics"), 1)]
        ks = synthetic(micro + micro + [(("step", "optimizer"), 1)] + micro + [(("step", "optimizer"), 1)])
        mf.classify(ks)
        steps, outside = mf.segment_steps(ks)
        self.assertEqual([len(s) for s in steps], [17, 9])
        self.assertEqual(outside, [])
        comps = [k.component for k in steps[0][:16]]
        self.assertEqual(comps, ["embed", "ffn", "head", "head", "head", "block_rest", "embed", "metrics"] * 2)
        res = mf.analyze_kernels(synthetic(micro + micro + [(("step", "optimizer"), 1)]), EST, SEQS)
        self.assertEqual(res["phases"]["backward"]["measured"], 2 * 4 * 2)  # 4 kernels x 1 FFMA x 2, 2 micro-steps
        self.assertEqual(res["components"]["head"]["backward"]["kernels"], 4)

    def test_incomplete_step_is_an_error(self):
        ks = synthetic([(("step", "forward"), 1), (("step", "forward", "block.0", "ffn"), 1)])
        with self.assertRaises(mf.InputError) as cm:
            mf.analyze_kernels(ks, EST, SEQS)
        self.assertIn("no complete training step", str(cm.exception))

    def test_warning_when_no_backward_block_kernels(self):
        ks = synthetic([(("step", "forward", "block.0", "ffn"), 1), (("step", "backward"), 1),
                        (("step", "optimizer"), 1)])
        res = mf.analyze_kernels(ks, EST, SEQS)
        self.assertTrue(any("no backward kernel inside a block" in w for w in res["warnings"]))


class ErrorTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_missing_metric_column(self):
        path = os.path.join(self.dir, "no_ffma.csv")
        rewrite_csv(FIXTURE, path, drop_column="ffma_pred_on")
        with self.assertRaises(mf.InputError) as cm:
            mf.read_ncu_csv(path)
        self.assertIn(FFMA, str(cm.exception))
        rc, out, err = run_cli("analyze", "--csv", path, "--flops-json", self.flops(), "--sequences-per-step", "2")
        self.assertEqual(rc, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("missing metric column", err)
        self.assertIn(path, err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "measured_flops.json")))

    def test_missing_nvtx_column(self):
        path = os.path.join(self.dir, "no_nvtx.csv")
        rewrite_csv(FIXTURE, path, drop_column="Push/Pop_Range")
        with self.assertRaises(mf.InputError) as cm:
            mf.read_ncu_csv(path)
        self.assertIn("no NVTX push/pop column", str(cm.exception))

    def test_wrong_domain(self):
        with self.assertRaises(mf.InputError) as cm:
            mf.read_ncu_csv(FIXTURE, domain="harness")
        self.assertIn("<default domain>", str(cm.exception))
        self.assertIn("skipbench", str(cm.exception))

    def test_not_a_csv(self):
        path = os.path.join(self.dir, "junk.csv")
        with open(path, "w") as f:
            f.write("hello\nworld\n")
        rc, out, err = run_cli("analyze", "--csv", path, "--flops-json", self.flops(), "--sequences-per-step", "2")
        self.assertEqual(rc, 2)
        self.assertIn("no Nsight Compute CSV header", err)

    def test_reference_mode_estimate_rejected(self):
        p = self.flops(dict(EST, mode="reference"))
        rc, out, err = run_cli("analyze", "--csv", FIXTURE, "--flops-json", p, "--sequences-per-step", "2",
                               "--out", self.dir)
        self.assertEqual(rc, 2)
        self.assertIn("--mode standard", err)

    def test_run_without_ncu(self):
        rc, out, err = run_cli("run", "--config", "configs/tiny.json", "--out", self.dir,
                               "--skipbench", sys.executable, "--ncu", os.path.join(self.dir, "nope", "ncu"))
        self.assertEqual(rc, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("ncu not found", err)

    def flops(self, est=EST):
        p = os.path.join(self.dir, "flops.json")
        with open(p, "w") as f:
            json.dump(est, f)
        return p


class CliTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.flops = os.path.join(self.dir, "flops.json")
        with open(self.flops, "w") as f:
            json.dump(EST, f)

    def tearDown(self):
        self.tmp.cleanup()

    def test_analyze_writes_json_and_table(self):
        out = os.path.join(self.dir, "out")
        rc, stdout, err = run_cli("analyze", "--csv", FIXTURE, "--flops-json", self.flops, "--sequences-per-step",
                                  "2", "--skip-steps", "1", "--out", out)
        self.assertEqual(rc, 0, err)
        self.assertIn("blocks", stdout)
        self.assertIn("written:", stdout)
        self.assertEqual(sorted(os.listdir(out)), ["measured_flops.json"])  # no temp file left behind
        with open(os.path.join(out, "measured_flops.json")) as f:
            doc = json.load(f)
        self.assertEqual(doc["schema"], "skipbench.measured_flops")
        self.assertEqual(doc["totals"]["measured"], 44128)
        self.assertEqual(doc["estimate"]["sequences_per_step"], 2)
        self.assertEqual(doc["steps"]["analysed"], 1)
        self.assertIn(mf.TENSOR_METRICS["tensor_fp16"][0], doc["metrics"]["missing_optional"])

    def test_tensor_scale(self):
        rc, stdout, err = run_cli("analyze", "--csv", FIXTURE, "--flops-json", self.flops, "--sequences-per-step",
                                  "2", "--skip-steps", "1", "--out", self.dir, "--tensor-scale", "2", "--quiet")
        self.assertEqual(rc, 0, err)
        self.assertEqual(stdout, "")
        with open(os.path.join(self.dir, "measured_flops.json")) as f:
            doc = json.load(f)
        self.assertEqual(doc["totals"]["by_type"]["tensor_bf16"], 48000)
        self.assertEqual(doc["totals"]["measured"], 44128 + 24000)

    def test_details_page_long_format_gives_the_same_totals(self):
        kernels, _ = load()
        path = os.path.join(self.dir, "details.csv")
        with open(FIXTURE, newline="") as f:
            rows = list(csv.reader(io.StringIO("".join(ln for ln in f if not ln.startswith("==")))))
        head, units, data = rows[0], rows[1], rows[2:]
        nmeta = 13
        long_rows = [head[:nmeta] + ["Section Name", "Metric Name", "Metric Unit", "Metric Value"]]
        for r in data:
            for j in range(nmeta, len(head)):
                long_rows.append(r[:nmeta] + ["Command line profiler metrics", head[j], units[j], r[j]])
        with open(path, "w", newline="") as f:
            csv.writer(f, quoting=csv.QUOTE_ALL).writerows(long_rows)
        lk, info = load(path)
        self.assertEqual(info["format"], "details (one row per metric)")
        self.assertEqual([k.flops for k in lk], [k.flops for k in kernels])
        res = mf.analyze_kernels(lk, EST, SEQS, skip_steps=1)
        self.assertEqual(res["totals"]["measured"], 44128)

    def test_sequences_per_step_sources(self):
        class A(object):
            sequences_per_step = None
            profile_json = None
            config = os.path.join(REPO, "configs", "paper-12l.json")
            set = None
        a = A()
        self.assertEqual(mf.sequences_per_step(a, self.dir)[0], 512)   # JSON with comments
        a.set = ["train.batch_size=8"]
        self.assertEqual(mf.sequences_per_step(a, self.dir)[0], 8)
        with open(os.path.join(self.dir, "profile.json"), "w") as f:
            json.dump({"config": {"train": {"batch_size": 24}}}, f)
        self.assertEqual(mf.sequences_per_step(a, self.dir), (24, os.path.join(self.dir, "profile.json")))
        a.sequences_per_step = 3
        self.assertEqual(mf.sequences_per_step(a, self.dir)[0], 3)

    def test_run_dry_run_commands(self):
        rc, out, err = run_cli("run", "--config", "configs/tiny.json", "--out", self.dir, "--warmup", "2",
                               "--select", "range", "--dry-run", "--ncu", "/opt/ncu/ncu", "--set", "train.device=cuda")
        self.assertEqual(rc, 0, err)
        self.assertIn("/opt/ncu/ncu ", out)
        for part in ("--nvtx ", "--nvtx-push-pop-scope process", "--nvtx-include skipbench@step/",
                     "--range-filter ::3", "--csv --page raw --print-units base",
                     "--log-file %s" % os.path.join(self.dir, "ncu.csv"), FFMA, mf.TIME_METRIC,
                     "profile --config configs/tiny.json --set train.device=cuda --steps 1 --warmup 2",
                     "--nvtx --no-cupti"):
            self.assertIn(part, out)
        rc, out, err = run_cli("run", "--config", "configs/tiny.json", "--out", self.dir, "--warmup", "3",
                               "--steps", "2", "--select", "range", "--dry-run", "--ncu", "/opt/ncu/ncu")
        self.assertIn("--range-filter '::4|5'", out)  # shell-quoted
        rc, out, err = run_cli("run", "--config", "configs/tiny.json", "--out", self.dir, "--select", "all",
                               "--dry-run", "--ncu", "/opt/ncu/ncu")
        self.assertEqual(rc, 0, err)
        self.assertNotIn("--range-filter", out)
        self.assertNotIn("--nvtx-include", out)
        self.assertIn("--nvtx ", out)


FAKE_NCU = r"""#!%(python)s
# A stand-in for ncu (tests only): answers --help/--version/--query-metrics; a profiling call copies the synthetic
# fixture to --log-file and writes the profile.json that skipbench profile would write into its --out.
import json, os, shutil, sys
args = sys.argv[1:]
mode = os.environ.get("FAKE_NCU_MODE", "new")
if "--help" in args:
    print("  --nvtx  --nvtx-include  --range-filter  --nvtx-push-pop-scope" if mode == "new" else "  --nvtx-include")
    sys.exit(0)
if "--version" in args:
    print("NVIDIA (R) Nsight Compute Command Line Profiler\nVersion 2025.3.1.0 (fake)")
    sys.exit(0)
if "--query-metrics" in args:
    drop = os.environ.get("FAKE_NCU_DROP", "").split(",")
    for m in %(metrics)r:
        base = m.rsplit(".", 1)[0]
        if base not in drop:
            print("%%-70s  description" %% base)
    sys.exit(0)
log = args[args.index("--log-file") + 1]
shutil.copy(%(fixture)r, log)
out = args[args.index("--out") + 1]
with open(os.path.join(out, "profile.json"), "w") as f:
    json.dump({"config": {"train": {"batch_size": 2}}}, f)
with open(os.path.join(out, "fake_ncu_argv.json"), "w") as f:
    json.dump(args, f)
sys.exit(int(os.environ.get("FAKE_NCU_RC", "0")))
"""


class RunOrchestrationTests(unittest.TestCase):
    """`run` end to end against a fake ncu (no GPU here): command, preflight, metadata, warm-up handling, analysis."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.ncu = os.path.join(self.dir, "ncu")
        with open(self.ncu, "w") as f:
            f.write(FAKE_NCU % {"python": sys.executable, "metrics": mf.metric_list(True), "fixture": FIXTURE})
        os.chmod(self.ncu, 0o755)
        self.flops = os.path.join(self.dir, "flops.json")
        with open(self.flops, "w") as f:
            json.dump(EST, f)

    def tearDown(self):
        self.tmp.cleanup()

    def run_fake(self, out, env=None, *extra):
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run([sys.executable, SCRIPT, "run", "--config", "configs/tiny.json", "--out", out,
                            "--warmup", "1", "--ncu", self.ncu, "--skipbench", sys.executable, "--flops-json",
                            self.flops] + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, cwd=REPO, env=e)
        return p.returncode, p.stdout, p.stderr

    def load(self, out, name):
        with open(os.path.join(out, name)) as f:
            return json.load(f)

    def test_range_mode_with_process_scope(self):
        out = os.path.join(self.dir, "range")
        rc, stdout, err = self.run_fake(out, {"FAKE_NCU_DROP": mf.TENSOR_METRICS["tensor_tf32"][1].rsplit(".", 1)[0]})
        self.assertEqual(rc, 0, err)
        argv = self.load(out, "fake_ncu_argv.json")
        cmd = " ".join(argv)
        self.assertIn("--nvtx-push-pop-scope process --nvtx-include skipbench@step/ --range-filter ::2", cmd)
        self.assertNotIn(mf.TENSOR_METRICS["tensor_tf32"][1], cmd)     # optional metric missing on the chip
        self.assertIn(mf.TENSOR_METRICS["tensor_tf32"][0], cmd)
        meta = self.load(out, "measured_flops_run.json")
        self.assertEqual((meta["select"], meta["skip_steps"], meta["status"]), ("range", 0, "ncu exit 0"))
        self.assertIn("2025.3.1", meta["ncu_version"])
        doc = self.load(out, "measured_flops.json")
        # the fake profiled both steps although the range filter asked for one: detected, warm-up dropped
        self.assertEqual(doc["steps"]["skipped"], 1)
        self.assertTrue(any("ignored --range-filter" in w for w in doc["warnings"]))
        self.assertEqual(doc["totals"]["measured"], 44128)
        self.assertEqual(doc["estimate"]["sequences_per_step"], 2)  # from the profile.json skipbench writes

    def test_all_mode_when_ncu_lacks_process_scope(self):
        out = os.path.join(self.dir, "all")
        rc, stdout, err = self.run_fake(out, {"FAKE_NCU_MODE": "old"})
        self.assertEqual(rc, 0, err)
        self.assertIn("no --nvtx-push-pop-scope", err)
        self.assertNotIn("--range-filter", " ".join(self.load(out, "fake_ncu_argv.json")))
        meta = self.load(out, "measured_flops_run.json")
        self.assertEqual((meta["select"], meta["skip_steps"]), ("all", 1))
        doc = self.load(out, "measured_flops.json")
        self.assertEqual((doc["steps"]["found"], doc["steps"]["skipped"]), (2, 1))
        self.assertEqual(doc["totals"]["measured"], 44128)

    def test_required_metric_missing_on_chip(self):
        out = os.path.join(self.dir, "nometric")
        rc, stdout, err = self.run_fake(out, {"FAKE_NCU_DROP": FFMA.rsplit(".", 1)[0]})
        self.assertEqual(rc, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("not available on chip gh100", err)

    def test_ncu_failure(self):
        out = os.path.join(self.dir, "fail")
        rc, stdout, err = self.run_fake(out, {"FAKE_NCU_RC": "3"})
        self.assertEqual(rc, 1)
        self.assertIn("ncu failed (exit 3)", err)
        self.assertEqual(self.load(out, "measured_flops_run.json")["status"], "ncu exit 3")
        self.assertFalse(os.path.exists(os.path.join(out, "measured_flops.json")))


class CalibrationTests(unittest.TestCase):
    """calibrate's analysis on a synthetic CSV (torch.cuda.nvtx ranges live in ncu's default domain)."""

    def write(self, path, hgmma):
        head = ["ID", "thread Domain:Push/Pop_Range:PL_Type:PL_Value:CLR_Type:Color:Msg_Type:Msg", "Kernel Name"]
        head += mf.REQUIRED
        rows = [head, ["", "", ""] + [""] * (len(head) - 4) + ["nsecond"]]

        def r(i, rng, kernel, **v):
            cell = '99  "<default domain>:%s:none:none:none:none:none:none"' % rng if rng else "99 "
            return [str(i), cell, kernel] + [str(v.get(m, 0)) for m in mf.REQUIRED]
        rows.append(r(0, None, "warmup_gemm", **{mf.REQUIRED[0]: 5}))
        rows.append(r(1, "calib_gemm_bf16_4096", "sm90_gemm", **{mf.REQUIRED[0]: hgmma}))
        rows.append(r(2, "calib_mul_fp32_16M", "mul", **{mf.S + "fmul_pred_on.sum": 1 << 24}))
        with open(path, "w", newline="") as f:
            csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)

    def test_calibration_verdicts(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "calibrate.csv")
            self.write(p, 2 * 4096 ** 3)
            res, verdict, cell, info = mf.calibration_results(p)
            self.assertAlmostEqual(res["calib_gemm_bf16_4096"]["ratio"], 1.0)
            self.assertEqual(res["calib_gemm_bf16_4096"]["measured"], 137438953472)
            self.assertEqual(res["calib_mul_fp32_16M"]["ratio"], 1.0)
            self.assertIn("error", res["calib_gemm_tf32_2048"])
            self.assertTrue(verdict.startswith("ok"))
            self.assertIn("calib_gemm_bf16_4096", cell)
            self.write(p, 4096 ** 3)  # a counter that counted MACs
            res, verdict, cell, info = mf.calibration_results(p)
            self.assertAlmostEqual(res["calib_gemm_bf16_4096"]["ratio"], 0.5)
            self.assertIn("--tensor-scale 2", verdict)


if __name__ == "__main__":
    unittest.main(verbosity=2)
