#!/usr/bin/env python3
"""measured_flops.py: FLOPs of one training step measured from GPU hardware counters (Nsight Compute), set
against the analytic estimate of `skipbench flops --mode standard`, by component, phase and layer.

Why: every FLOPs number elsewhere in skipbench is an estimate (profiling/flops.cpp). This answers "does the GPU
execute what the estimate says?" (e.g. causal attention kernels doing about half of the full T x T the estimate
counts, soft gates computing every block, backward costing 2x forward, norms/softmax/optimizer work the estimate
leaves out). Python 3 standard library only; needs `ncu` only for `run` and `calibrate`.

Subcommands
  run        ncu over ONE training step of `skipbench profile` (warm-up excluded, harness CUPTI tracer off:
             --no-cupti, NVTX on: --nvtx), writes DIR/ncu.csv (+ DIR/ncu.ncu-rep, DIR/profile.json,
             DIR/skipbench.log, DIR/measured_flops_run.json), then analyses it.
  analyze    DIR/ncu.csv + config -> DIR/measured_flops.json and a printed table.
  calibrate  a 4096^3 bf16 GEMM (and fp32/tf32 GEMMs, fp32 elementwise ops) under ncu, to check the metric names
             and the FLOPs-per-count convention on the machine, and to show what the NVTX column looks like.

Metrics (Hopper, sm_90) and why
  tensor cores  sm__ops_path_tensor_op_hgmma_src_bf16_dst_fp32_sparsity_off.sum  wgmma: sm90 GEMMs (cuBLASLt,
                                                                                 cuDNN, FlashAttention-3)
                sm__ops_path_tensor_op_hmma_src_bf16_dst_fp32_sparsity_off.sum   mma.sync: sm80-style kernels (FA2,
                                                                                 mem-efficient SDPA, CUTLASS 2.x)
                ..._{hgmma,hmma}_src_tf32_dst_fp32_sparsity_off.sum  (optional) fp32 matmuls when TF32 is allowed
                ..._hgmma_src_fp16_sparsity_off.sum, ..._hmma_src_fp16_dst_{fp32,fp16}_sparsity_off.sum
                                                                     (optional, --tensor-fp16; unused by skipbench)
                Each is counted as FLOPs directly (x --tensor-scale, default 1): public scripts do so, and on
                Blackwell the analogous counter equals 2*M*N*K (NVIDIA/DCGM#251). UNVERIFIED on Hopper: `calibrate`
                checks it (a 4096^3 bf16 GEMM should read 1.374e11).
  SIMT          smsp__sass_thread_inst_executed_op_{ffma,fadd,fmul,hfma,hadd,hmul,dfma,dadd,dmul}_pred_on.sum
                per-thread predicated-on instructions; FLOPs = add + mul + 2*fma per precision. skipbench trains in
                fp32 by default (train.precision), where cuBLAS runs SGEMM on the FMA pipe: those FLOPs live here,
                not in the tensor counters. Packed half2 instructions (HFMA2) may do two ops per thread instruction;
                the raw counts are kept in the JSON so the convention can be changed (UNVERIFIED, see calibrate).
  time          gpu__time_duration.sum per kernel (ns). Under ncu kernels are serialised and replayed, so this
                is kernel time under the profiler, not the step's wall-clock.

How kernels are attributed (NVTX domain "skipbench", push/pop ranges; the range message is the leaf name)
  The raw page's "thread Domain:Push/Pop_Range:..." column gives each kernel's NVTX stack, which this script
  parses (quoted "Domain:Range:PL_Type:PL_Value:CLR_Type:Color:Msg_Type:Msg" entries after a thread id; entries of
  other domains are ignored; "a/b/c" range paths are split too). Per training step the ranges are
  step > {data, forward > block.<l> > {gate, attention, ffn}, backward, metrics, optimizer}; the LM head, loss
  and controller regulariser run in forward after the last block, the embedding and input norm before block 0.
  The backward pass per block is marked by autograd hooks that push block.<l> on the thread that runs them: on a
  GPU that is autograd's device thread, whose stack is just block.<l> (a kernel with block.<l> and no phase is
  backward), and backward kernels outside any block (LM head / loss before the first block, embedding after
  block 0) carry no range at all: such a kernel belongs to the backward pass when the kernel launched before it
  (by ncu ID, i.e. launch order) was in forward or backward. With --nvtx-push-pop-scope process (ncu's process-wide
  stack) or on a CPU the same kernels show step/backward/block.<l>; both forms are handled. Backward kernels carry
  no gate/attention/ffn range, so backward is split per block and per layer but not per module ("blocks" row).
  Forward kernels inside a block but outside gate/attention/ffn (residual-norm statistics) are "block_rest".

Selecting one step, warm-up excluded (`run --select`)
  range  (default when ncu has --nvtx-push-pop-scope) profile only kernels inside the (W+1)-th "step" range:
         --nvtx --nvtx-push-pop-scope process --nvtx-include skipbench@step/ --range-filter ::<W+1>.
         Process scope is what lets the filter see backward kernels launched on autograd's device thread.
         Should the CSV hold all W+N steps anyway (filter not applied), analyze drops the first W and warns.
  all    profile every kernel (warm-up too; slower) with the default thread scope; the analysis segments the
         kernels into steps (a step starts at the first data/forward kernel after an optimizer kernel) and drops
         the first W. The fallback when ncu lacks process scope, or when `range` drops backward kernels.

UNVERIFIED (no GPU where this was written; check on the H100, ncu 2025.3.1):
  - metric names: `ncu --query-metrics --chips gh100` (run does this preflight and drops missing optional ones);
  - tensor counters = FLOPs (python3 profiling/measured_flops.py calibrate --out DIR: 4096^3 bf16 -> 1.374e11);
  - the exact text of the NVTX column (calibrate prints one), and that ncu 2025.3.1 has --nvtx-push-pop-scope and
    applies --range-filter to NVTX push/pop instances in kernel replay mode (the analysis checks the result:
    it warns when no backward block kernels were profiled, and counts the steps it found);
  - half-precision packed instruction convention (see above).

Exit codes: 0 ok; 2 bad input or missing tool (one line on stderr naming the file or tool); 1 a tool failed.
"""
import argparse
import csv
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

SCHEMA = "skipbench.measured_flops"
SCHEMA_VERSION = 1
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_NCU = "/opt/nvidia/nsight-compute/2025.3.1/ncu"
DOMAIN = "skipbench"

# ---------------------------------------------------------------------------------------------- metrics
T = "sm__ops_path_tensor_op_"
TENSOR_METRICS = {  # FLOPs type -> counters (summed, x tensor_scale)
    "tensor_bf16": [T + "hgmma_src_bf16_dst_fp32_sparsity_off.sum", T + "hmma_src_bf16_dst_fp32_sparsity_off.sum"],
    "tensor_tf32": [T + "hgmma_src_tf32_dst_fp32_sparsity_off.sum", T + "hmma_src_tf32_dst_fp32_sparsity_off.sum"],
    "tensor_fp16": [T + "hgmma_src_fp16_sparsity_off.sum", T + "hmma_src_fp16_dst_fp32_sparsity_off.sum",
                    T + "hmma_src_fp16_dst_fp16_sparsity_off.sum"],
}
S = "smsp__sass_thread_inst_executed_op_"
SIMT_METRICS = {  # FLOPs type -> (add, mul, fma) instruction counters: FLOPs = add + mul + 2 * fma
    "fp32": (S + "fadd_pred_on.sum", S + "fmul_pred_on.sum", S + "ffma_pred_on.sum"),
    "fp16": (S + "hadd_pred_on.sum", S + "hmul_pred_on.sum", S + "hfma_pred_on.sum"),
    "fp64": (S + "dadd_pred_on.sum", S + "dmul_pred_on.sum", S + "dfma_pred_on.sum"),
}
TIME_METRIC = "gpu__time_duration.sum"
REQUIRED = TENSOR_METRICS["tensor_bf16"] + list(SIMT_METRICS["fp32"]) + [TIME_METRIC]
KNOWN_METRICS = set(sum(TENSOR_METRICS.values(), []) + sum((list(v) for v in SIMT_METRICS.values()), []) +
                    [TIME_METRIC])
FLOP_TYPES = ["tensor_bf16", "tensor_tf32", "tensor_fp16", "fp32", "fp16", "fp64"]


def metric_list(tensor_fp16=False):
    """Metrics requested by `run` / `calibrate`, required ones first."""
    names = list(TENSOR_METRICS["tensor_bf16"]) + list(TENSOR_METRICS["tensor_tf32"])
    if tensor_fp16:
        names += TENSOR_METRICS["tensor_fp16"]
    for t in ("fp32", "fp16", "fp64"):
        names += list(SIMT_METRICS[t])
    return names + [TIME_METRIC]


class InputError(Exception):
    """Bad input or a missing tool: one line, exit 2."""


class ToolError(Exception):
    """A tool we ran failed: one line, exit 1."""


# ---------------------------------------------------------------------------------------------- CSV parsing
NVTX_PUSHPOP_MARK = "Push/Pop_Range"
TIME_SCALE = {"nsecond": 1e-9, "ns": 1e-9, "usecond": 1e-6, "us": 1e-6, "msecond": 1e-3, "ms": 1e-3,
              "second": 1.0, "s": 1.0}
PREFIX = {"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
COUNT_UNITS = {"inst", "op", "ops", "flop", "warp", "thread", "cycle"}


def parse_number(text):
    """A metric cell as float, or None for n/a, empty or 'no data'. Thousands separators are dropped."""
    t = (text or "").strip().replace(",", "")
    if not t or t.lower() in ("n/a", "na", "no data", "nan", "-"):
        return None
    try:
        return float(t)
    except ValueError:
        return None


def unit_scale(metric, unit):
    """Factor to base units: seconds for time, plain counts otherwise (ncu --print-units base needs 1)."""
    u = (unit or "").strip()
    if metric == TIME_METRIC:
        if not u:
            return 1e-9  # no units row: ncu's base unit for gpu__time_duration is the nanosecond
        if u not in TIME_SCALE:
            raise InputError("unknown time unit '%s' for %s" % (u, metric))
        return TIME_SCALE[u]
    if len(u) > 1 and u[0] in PREFIX and u[1:] in COUNT_UNITS:
        return PREFIX[u[0]]
    return 1.0


def nvtx_stack(cell, domain):
    """Range names (outermost first, as ncu lists them) of one kernel's push/pop NVTX cell, for `domain`
    (None = every domain). Returns (names, domains_seen)."""
    text = (cell or "").strip()
    entries = re.findall(r'"([^"]*)"', text)
    if not entries and ":" in text:  # unquoted variant: optional thread id, then whitespace-separated entries
        entries = [tok for tok in text.split() if ":" in tok]
    names, seen = [], []
    for e in entries:
        fields = e.split(":")
        if len(fields) < 2:
            continue
        dom = fields[0].strip()
        if len(fields) >= 8:  # Domain:Range:PL_Type:PL_Value:CLR_Type:Color:Msg_Type:Msg (range may hold ':')
            rng = ":".join(fields[1:len(fields) - 6])
            if rng.strip() in ("", "none") and fields[-1].strip() not in ("", "none"):
                rng = fields[-1]
        else:
            rng = fields[1]
        seen.append(dom)
        if domain is not None and dom != domain:
            continue
        names += [p.strip() for p in rng.split("/") if p.strip() and p.strip() != "none"]
    return names, seen


class Kernel(object):
    __slots__ = ("id", "order", "name", "stack", "metrics", "nvtx_cell", "phase", "layer", "module", "in_step",
                 "inferred", "component", "flops", "by_type", "time_s")

    def __init__(self, kid, order, name, stack, metrics, nvtx_cell):
        self.id, self.order, self.name, self.stack, self.metrics = kid, order, name, stack, metrics
        self.nvtx_cell = nvtx_cell
        self.phase = self.layer = self.module = self.component = None
        self.in_step = self.inferred = False
        self.flops, self.by_type, self.time_s = 0.0, {}, 0.0


def read_ncu_csv(path, domain=DOMAIN, require=REQUIRED):
    """Parse an `ncu --csv --page raw` export (one row per kernel, a units row after the header; --log-file output
    with ==PROF== lines is fine) or a --page details export (one row per metric). `domain` None keeps NVTX ranges
    of every domain. Returns (kernels in launch order, info dict). Raises InputError naming the file for anything
    unusable: no header, no kernels, a missing required metric column, no NVTX column, no range of `domain`."""
    try:
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
            lines = [ln for ln in f if not ln.startswith("==")]
    except OSError as e:
        raise InputError("%s: cannot read (%s)" % (path, e.strerror or e))
    rows = list(csv.reader(io.StringIO("".join(lines))))
    header, units, long_format = None, None, False
    raw = []  # (header, units, row)
    skipped = 0
    for row in rows:
        if not row or not any(c.strip() for c in row):
            continue
        if row[0].strip() == "ID" and "Kernel Name" in row:
            header, units = row, None
            long_format = "Metric Name" in row and "Metric Value" in row
            continue
        if header is None:
            skipped += 1
            continue
        if len(row) != len(header):
            skipped += 1
            continue
        if not row[0].strip():
            if units is None and not long_format:
                units = row
            continue
        raw.append((header, units, row))
    if header is None:
        raise InputError("%s: no Nsight Compute CSV header (a row starting \"ID\" with \"Kernel Name\"); "
                         "export with ncu --csv --page raw" % path)
    if not raw:
        raise InputError("%s: no kernels in the CSV (did ncu profile anything? with run --select range, "
                         "try --select all)" % path)

    # Columns: check once per distinct header
    by_id = {}  # id -> [name, nvtx_cell, metrics{}, order]
    nvtx_present = False
    present_metrics = set()
    for hdr, unt, row in raw:
        idx = {h: i for i, h in enumerate(hdr)}
        nvtx_col = next((i for i, h in enumerate(hdr) if NVTX_PUSHPOP_MARK in h), None)
        nvtx_present = nvtx_present or nvtx_col is not None
        kid_text = row[idx["ID"]].strip()
        try:
            kid = int(float(kid_text.replace(",", "")))
        except ValueError:
            skipped += 1
            continue
        entry = by_id.get(kid)
        if entry is None:
            entry = by_id[kid] = [row[idx["Kernel Name"]], row[nvtx_col] if nvtx_col is not None else "", {},
                                  len(by_id)]
        if long_format:
            mname = row[idx["Metric Name"]].strip()
            unit = row[idx["Metric Unit"]] if "Metric Unit" in idx else ""
            present_metrics.add(mname)
            if mname in KNOWN_METRICS:
                v = parse_number(row[idx["Metric Value"]])
                entry[2][mname] = None if v is None else v * unit_scale(mname, unit)
        else:
            for m, i in idx.items():
                if not re.match(r"^[a-z0-9_]+__[A-Za-z0-9_.]+$", m):
                    continue  # not a metric: "ID", "Kernel Name", "Block Size", the NVTX columns, ...
                present_metrics.add(m)
                if m in KNOWN_METRICS:
                    v = parse_number(row[i])
                    entry[2][m] = None if v is None else v * unit_scale(m, unt[i] if unt else "")
    missing = [m for m in require if m not in present_metrics]
    if missing:
        raise InputError("%s: missing metric column%s %s (collect with ncu --metrics %s)"
                         % (path, "s" if len(missing) > 1 else "", ", ".join(missing), ",".join(missing)))
    if not nvtx_present:
        raise InputError("%s: no NVTX push/pop column (\"thread Domain:Push/Pop_Range:...\"); profile with ncu "
                         "--nvtx and a skipbench run with --nvtx" % path)
    kernels, domains_seen, na_cells = [], set(), 0
    for kid in sorted(by_id):
        name, cell, metrics, order = by_id[kid]
        stack, seen = nvtx_stack(cell, domain)
        domains_seen.update(seen)
        na_cells += sum(1 for m, v in metrics.items() if v is None)
        kernels.append(Kernel(kid, order, name, stack, metrics, cell))
    if not any(k.stack for k in kernels):
        raise InputError("%s: no kernel carries NVTX ranges of domain '%s' (domains seen: %s); was skipbench run "
                         "with --nvtx, or is the domain spelled differently (--domain)?"
                         % (path, domain or "any", ", ".join(sorted(domains_seen)) or "none"))
    info = {"kernels": len(kernels), "format": "details (one row per metric)" if long_format else "raw",
            "metrics_present": sorted(present_metrics), "unparsed_rows": skipped, "na_metric_values": na_cells,
            "domains_seen": sorted(domains_seen)}
    return kernels, info


def compute_flops(kernels, tensor_scale=1.0):
    """Per kernel: FLOPs by type (tensor counters x tensor_scale; SIMT add + mul + 2*fma) and time."""
    for k in kernels:
        m = k.metrics
        g = lambda name: m.get(name) or 0.0  # noqa: E731  (missing or n/a -> 0)
        bt = {}
        for t, names in TENSOR_METRICS.items():
            bt[t] = sum(g(n) for n in names) * tensor_scale
        for t, (add, mul, fma) in SIMT_METRICS.items():
            bt[t] = g(add) + g(mul) + 2.0 * g(fma)
        k.by_type = bt
        k.flops = sum(bt.values())
        k.time_s = g(TIME_METRIC)


# ---------------------------------------------------------------------------------------------- attribution
PHASES = ("data", "forward", "backward", "metrics", "optimizer")
MODULES = ("gate", "attention", "ffn")
BLOCK_RE = re.compile(r"^block\.(\d+)$")


def classify(kernels):
    """Phase / layer / module from each kernel's own stack; kernels without a skipbench range stay phase None."""
    for k in kernels:
        k.phase = k.layer = k.module = k.component = None
        k.in_step = k.inferred = False
        for n in k.stack:
            if n in PHASES:
                k.phase = n
            elif n in MODULES:
                k.module = n
            elif n == "step":
                k.in_step = True
            else:
                mt = BLOCK_RE.match(n)
                if mt:
                    k.layer = int(mt.group(1))
        if k.phase is None and k.layer is not None:
            k.phase, k.inferred = "backward", True  # block.<l> alone: an autograd-hook range on the device thread
        elif k.phase is None and k.in_step:
            k.phase = "other"


def segment_steps(kernels):
    """Split kernels (launch order) into training steps; resolve kernels with no skipbench range. A step starts at a
    data/forward kernel that follows an optimizer kernel (or at the first phased kernel). A range-less kernel after
    a forward/backward kernel is backward (autograd's device thread outside any block); any other range-less
    kernel is 'unattributed' (or outside every step). Returns (steps, outside)."""
    steps, outside, current, prev = [], [], None, None
    for k in sorted(kernels, key=lambda x: (x.id, x.order)):
        if k.phase is not None:
            if current is None or (k.phase in ("data", "forward") and prev == "optimizer"):
                current = []
                steps.append(current)
            prev = k.phase
        elif current is not None and prev in ("forward", "backward"):
            k.phase, k.inferred = "backward", True
        else:
            k.phase = "unattributed"
        (current if current is not None else outside).append(k)
    for step in steps:  # components of kernels outside blocks, by position within each forward/backward segment
        seg_phase, seen_block = None, False
        for k in step:
            if k.phase != seg_phase:
                seg_phase, seen_block = k.phase, False
            if k.phase in ("forward", "backward"):
                if k.layer is not None:
                    seen_block = True
                    k.component = k.module or "block_rest"
                elif k.phase == "forward":
                    k.component = "head" if seen_block else "embed"
                else:
                    k.component = "embed" if seen_block else "head"
            else:
                k.component = k.phase
    for k in outside:
        k.component = "outside"
    return steps, outside


def step_complete(step):
    phases = {k.phase for k in step}
    return {"forward", "backward", "optimizer"} <= phases


# ---------------------------------------------------------------------------------------------- estimate
def strip_jsonc(text):
    """JSON with // and /* */ comments (skipbench's config files) -> JSON."""
    out, i, n, in_str = [], 0, len(text), False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def sequences_per_step(args, csv_dir):
    """Sequences per optimizer step (train.batch_size): --sequences-per-step, else the resolved config in
    profile.json next to the CSV (written by skipbench profile), else the config file with --set overrides."""
    if args.sequences_per_step:
        return int(args.sequences_per_step), "--sequences-per-step"
    prof = args.profile_json or os.path.join(csv_dir, "profile.json")
    if os.path.exists(prof):
        try:
            with open(prof) as f:
                cfg = json.load(f).get("config", {})
            return int(cfg["train"]["batch_size"]), prof
        except (ValueError, KeyError, TypeError):
            if args.profile_json:
                raise InputError("%s: no config.train.batch_size" % prof)
    if not args.config:
        raise InputError("sequences per step unknown: pass --config, --profile-json or --sequences-per-step")
    try:
        with open(args.config) as f:
            cfg = json.loads(strip_jsonc(f.read()))
    except (OSError, ValueError) as e:
        raise InputError("%s: cannot read config (%s)" % (args.config, e))
    batch = cfg.get("train", {}).get("batch_size", 16)  # config.h default
    for s in args.set or []:
        key, _, val = s.partition("=")
        if key.strip() == "train.batch_size":
            batch = val
    try:
        return int(batch), args.config
    except ValueError:
        raise InputError("%s: train.batch_size is not an integer" % args.config)


def estimate(args):
    """`skipbench flops --mode standard` JSON (or --flops-json)."""
    if args.flops_json:
        try:
            with open(args.flops_json) as f:
                est = json.load(f)
        except (OSError, ValueError) as e:
            raise InputError("%s: cannot read FLOPs JSON (%s)" % (args.flops_json, e))
        src = args.flops_json
    else:
        if not args.config:
            raise InputError("analyze needs --config (for skipbench flops) or --flops-json")
        exe = args.skipbench
        if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
            raise InputError("skipbench binary not found at %s (use --skipbench PATH or --flops-json FILE)" % exe)
        cmd = [exe, "flops", "--config", args.config, "--mode", "standard"]
        for s in args.set or []:
            cmd += ["--set", s]
        if args.sparsity:
            cmd += ["--sparsity"] + [str(x) for x in args.sparsity]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        if p.returncode != 0:
            raise ToolError("%s failed (exit %d): %s" % (" ".join(cmd[:2]), p.returncode,
                                                        (p.stderr.strip().splitlines() or ["?"])[-1]))
        try:
            est = json.loads(p.stdout)
        except ValueError:
            raise ToolError("skipbench flops printed no JSON")
        src = " ".join(shlex.quote(c) for c in cmd)
    comps = est.get("components_per_sequence")
    if not isinstance(comps, dict) or "forward_per_sequence" not in est:
        raise InputError("%s: not a skipbench flops JSON (components_per_sequence, forward_per_sequence)" % src)
    if est.get("mode") not in (None, "standard"):
        raise InputError("%s: FLOPs estimate is mode '%s'; measured FLOPs compare with --mode standard"
                         % (src, est.get("mode")))
    return est, src


# ---------------------------------------------------------------------------------------------- aggregation
def new_acc():
    return {"flops": 0.0, "time_s": 0.0, "kernels": 0, "by_type": {t: 0.0 for t in FLOP_TYPES}}


def add(acc, k):
    acc["flops"] += k.flops
    acc["time_s"] += k.time_s
    acc["kernels"] += 1
    for t, v in k.by_type.items():
        acc["by_type"][t] += v


def scaled(acc, f):
    return {"flops": acc["flops"] * f, "time_s": acc["time_s"] * f, "kernels": acc["kernels"] * f,
            "by_type": {t: v * f for t, v in acc["by_type"].items()}}


def ratio(measured, estimated):
    if measured is None or not estimated:
        return None
    return measured / estimated


def row(measured_acc, estimated, separable=True):
    m = measured_acc["flops"] if separable else None
    return {"measured": m, "estimated": estimated, "ratio": ratio(m, estimated),
            "kernels": measured_acc["kernels"], "time_s": measured_acc["time_s"]}


def analyze_kernels(kernels, est, seqs, skip_steps=0):
    """Aggregate per analysed step (mean over the complete steps after `skip_steps`). Pure function of its inputs:
    the tests call it directly."""
    classify(kernels)
    steps, outside = segment_steps(kernels)
    if not steps:
        raise InputError("no training step found (no kernel inside skipbench ranges)")
    kept = steps[skip_steps:]
    complete = [s for s in kept if step_complete(s)]
    warnings = []
    if len(complete) < len(kept):
        warnings.append("%d incomplete step(s) (no forward, backward or optimizer kernels) left out"
                        % (len(kept) - len(complete)))
    if not complete:
        raise InputError("no complete training step after skipping %d (found %d step(s): %s)"
                         % (skip_steps, len(steps), ", ".join(
                             "/".join(sorted({k.phase for k in s})) for s in steps)))
    n = float(len(complete))
    n_layers = int(est.get("n_layers") or 0)
    comps = est["components_per_sequence"]
    fwd_total = float(est["forward_per_sequence"]) * seqs
    est_fwd = {
        "gate": comps.get("gate_masks", 0.0) * seqs,
        "attention": (comps.get("attention_projections", 0.0) + comps.get("attention_scores_values", 0.0)) * seqs,
        "ffn": comps.get("ffn", 0.0) * seqs,
        "block_rest": None,
        "head": comps.get("head", 0.0) * seqs,
        "embed": None,
    }
    est_fwd["blocks"] = est_fwd["gate"] + est_fwd["attention"] + est_fwd["ffn"]

    total, phases, comp, layers = new_acc(), {}, {}, {}
    names, has_modules = {}, set()
    for s in complete:
        for k in s:
            if k.module:
                has_modules.add(k.phase)
            add(total, k)
            add(phases.setdefault(k.phase, new_acc()), k)
            if k.phase in ("forward", "backward"):
                add(comp.setdefault((k.phase, k.component), new_acc()), k)
                if k.layer is not None:
                    add(comp.setdefault((k.phase, "blocks"), new_acc()), k)
                    add(layers.setdefault((k.layer, k.phase), new_acc()), k)
            nm = names.setdefault(k.name, new_acc())
            add(nm, k)
    mean = lambda a: scaled(a, 1.0 / n)  # noqa: E731

    phase_rows = {}
    for p in ("forward", "backward", "optimizer", "metrics", "data", "other", "unattributed"):
        acc = mean(phases.get(p, new_acc()))
        e = {"forward": fwd_total, "backward": 2.0 * fwd_total}.get(p)
        if acc["kernels"] or e:
            phase_rows[p] = row(acc, e)
    comp_rows = {}
    for c in ("gate", "attention", "ffn", "block_rest", "blocks", "head", "embed"):
        r = {}
        for p, mult in (("forward", 1.0), ("backward", 2.0)):
            acc = mean(comp.get((p, c), new_acc()))
            e = None if est_fwd[c] is None else est_fwd[c] * mult
            # in a phase where no kernel carries a gate/attention/ffn range although block kernels exist
            # (backward: the hooks mark blocks only) the modules are not separable: null, not 0
            sep = not (c in MODULES and p not in has_modules and (p, "blocks") in comp)
            r[p] = row(acc, e, sep)
        tr_m = None if (r["forward"]["measured"] is None or r["backward"]["measured"] is None) else \
            r["forward"]["measured"] + r["backward"]["measured"]
        tr_e = None if est_fwd[c] is None else 3.0 * est_fwd[c]
        r["training"] = {"measured": tr_m, "estimated": tr_e, "ratio": ratio(tr_m, tr_e)}
        comp_rows[c] = r
    layer_rows = []
    per_layer_est = est_fwd["blocks"] / n_layers if n_layers and not est.get("per_layer_sparsity") else None
    seen_layers = sorted({l for l, _ in layers})
    for l in range(max([n_layers - 1] + seen_layers) + 1 if (n_layers or seen_layers) else 0):
        r = {"layer": l}
        for p, mult in (("forward", 1.0), ("backward", 2.0)):
            acc = mean(layers.get((l, p), new_acc()))
            r[p] = row(acc, None if per_layer_est is None else per_layer_est * mult)
        layer_rows.append(r)
    tot = mean(total)
    totals = {"measured": tot["flops"], "estimated": 3.0 * fwd_total, "ratio": ratio(tot["flops"], 3.0 * fwd_total),
              "kernels": tot["kernels"], "kernel_time_s": tot["time_s"],
              "achieved_tflops_under_ncu": (tot["flops"] / tot["time_s"] / 1e12) if tot["time_s"] else None,
              "by_type": tot["by_type"],
              "tensor_fraction": (sum(v for t, v in tot["by_type"].items() if t.startswith("tensor")) / tot["flops"])
              if tot["flops"] else None}
    raw_totals = {}
    for s in complete:
        for k in s:
            for m, v in k.metrics.items():
                if v is not None and m in KNOWN_METRICS:
                    raw_totals[m] = raw_totals.get(m, 0.0) + v / n
    top = sorted(names.items(), key=lambda kv: -kv[1]["flops"])[:15]
    top_kernels = [{"name": nm, "launches": a["kernels"] / n, "flops": a["flops"] / n, "time_s": a["time_s"] / n}
                   for nm, a in top]
    bwd_blocks = comp.get(("backward", "blocks"), new_acc())["kernels"]
    if not bwd_blocks:
        warnings.append("no backward kernel inside a block.<l> range: autograd's device-thread kernels may have "
                        "been filtered out (run --select all) or the backward hooks did not fire")
    inferred = sum(1 for s in complete for k in s if k.inferred) / n
    return {
        "steps": {"found": len(steps), "skipped": min(skip_steps, len(steps)), "analysed": len(complete),
                  "kernels_outside_steps": len(outside)},
        "sequences_per_step": seqs,
        "totals": totals,
        "phases": phase_rows,
        "components": comp_rows,
        "layers": layer_rows,
        "raw_metric_totals": raw_totals,
        "top_kernels": top_kernels,
        "attribution": {"backward_kernels_inferred_per_step": inferred,
                        "per_layer_estimate": "blocks estimate / n_layers" if per_layer_est is not None else None},
        "warnings": warnings,
    }


# ---------------------------------------------------------------------------------------------- output
def fmt(x, kind="e"):
    if x is None:
        return "-"
    if kind == "r":
        return "%.3f" % x
    if kind == "ms":
        return "%.2f" % (x * 1e3)
    if kind == "i":
        return "%d" % round(x)
    return "%.4g" % x


def render_table(res):
    L = []
    t = res["totals"]
    st = res["steps"]
    L.append("measured FLOPs per training step (ncu hardware counters) vs skipbench flops --mode standard")
    L.append("steps: %d analysed (%d found, %d skipped as warm-up); %d sequences/step; %s kernels; kernel time %s ms"
             " under ncu" % (st["analysed"], st["found"], st["skipped"], res["sequences_per_step"],
                             fmt(t["kernels"], "i"), fmt(t["kernel_time_s"], "ms")))
    L.append("")
    L.append("%-14s %12s %12s %8s %8s %10s" % ("phase", "measured", "estimated", "ratio", "kernels", "time_ms"))
    for p, r in res["phases"].items():
        L.append("%-14s %12s %12s %8s %8s %10s" % (p, fmt(r["measured"]), fmt(r["estimated"]), fmt(r["ratio"], "r"),
                                                 fmt(r["kernels"], "i"), fmt(r["time_s"], "ms")))
    L.append("%-14s %12s %12s %8s %8s %10s" % ("total", fmt(t["measured"]), fmt(t["estimated"]), fmt(t["ratio"], "r"),
                                             fmt(t["kernels"], "i"), fmt(t["kernel_time_s"], "ms")))
    L.append("")
    L.append("%-11s %11s %11s %7s %11s %11s %7s %11s" % ("component", "fwd meas", "fwd est", "ratio", "bwd meas",
                                                       "bwd est", "ratio", "train ratio"))
    for c, r in res["components"].items():
        f, b = r["forward"], r["backward"]
        L.append("%-11s %11s %11s %7s %11s %11s %7s %11s" % (
            c, fmt(f["measured"]), fmt(f["estimated"]), fmt(f["ratio"], "r"), fmt(b["measured"]),
            fmt(b["estimated"]), fmt(b["ratio"], "r"), fmt(r["training"]["ratio"], "r")))
    L.append("")
    L.append("%-6s %11s %11s %7s %11s %11s %7s %9s" % ("layer", "fwd meas", "fwd est", "ratio", "bwd meas", "bwd est",
                                                     "ratio", "time_ms"))
    for r in res["layers"]:
        f, b = r["forward"], r["backward"]
        L.append("%-6d %11s %11s %7s %11s %11s %7s %9s" % (
            r["layer"], fmt(f["measured"]), fmt(f["estimated"]), fmt(f["ratio"], "r"), fmt(b["measured"]),
            fmt(b["estimated"]), fmt(b["ratio"], "r"), fmt(f["time_s"] + b["time_s"], "ms")))
    L.append("")
    bt = t["by_type"]
    tot = t["measured"] or 1.0
    L.append("by type: " + ", ".join("%s %s (%.1f%%)" % (k, fmt(v), 100.0 * v / tot) for k, v in bt.items() if v))
    if t["achieved_tflops_under_ncu"] is not None:
        L.append("achieved under ncu: %.1f TFLOP/s (kernel time only, serialised by the profiler)"
                 % t["achieved_tflops_under_ncu"])
    for w in res["warnings"]:
        L.append("warning: " + w)
    return "\n".join(L)


def write_json_atomic(path, obj):
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".measured_flops.", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2, sort_keys=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------------------------------- analyze
def cmd_analyze(args):
    csv_path = args.csv
    if os.path.isdir(csv_path):
        csv_path = os.path.join(csv_path, "ncu.csv")
    csv_dir = os.path.dirname(os.path.abspath(csv_path))
    out_dir = args.out or csv_dir
    run_meta_path = os.path.join(csv_dir, "measured_flops_run.json")
    run_meta = None
    if os.path.exists(run_meta_path):
        try:
            with open(run_meta_path) as f:
                run_meta = json.load(f)
        except ValueError:
            run_meta = None
    skip = args.skip_steps
    if skip is None:
        skip = int(run_meta.get("skip_steps", 0)) if run_meta else 0
    kernels, info = read_ncu_csv(csv_path, domain=args.domain)
    compute_flops(kernels, args.tensor_scale)
    extra_warnings = []
    if run_meta and run_meta.get("select") == "range" and args.skip_steps is None:
        classify(kernels)
        found = len(segment_steps(kernels)[0])
        expected_all = int(run_meta.get("warmup", 0)) + int(run_meta.get("steps", 1))
        if found == expected_all and found > int(run_meta.get("steps", 1)):
            skip = int(run_meta.get("warmup", 0))  # the NVTX range filter profiled every step: drop the warm-up
            extra_warnings.append("--select range profiled all %d steps (ncu ignored --range-filter?); the first "
                                  "%d were dropped as warm-up" % (found, skip))
    est, est_src = estimate(args)
    if args.sparsity and len(args.sparsity) > 1:
        est = dict(est, per_layer_sparsity=list(args.sparsity))
    seqs, seqs_src = sequences_per_step(args, csv_dir)
    res = analyze_kernels(kernels, est, seqs, skip)
    res["warnings"] = extra_warnings + res["warnings"]
    missing_optional = [m for m in metric_list(tensor_fp16=True) if m not in info["metrics_present"]]
    doc = {
        "schema": SCHEMA, "schema_version": SCHEMA_VERSION,
        "question": "Does the GPU execute the FLOPs that skipbench's estimate says (per component, phase, layer)?",
        "source": {"csv": os.path.abspath(csv_path), "csv_info": info, "run": run_meta,
                   "config": args.config, "set": args.set or [], "domain": args.domain},
        "estimate": {"source": est_src, "mode": "standard", "per_sequence": est,
                     "sequences_per_step": seqs, "sequences_per_step_from": seqs_src,
                     "convention": "forward = flops forward_per_sequence x sequences; backward = 2 x forward; "
                                   "training = 3 x forward; optimizer, norms, softmax and embedding are not "
                                   "estimated"},
        "metrics": {"tensor": TENSOR_METRICS, "simt": {k: list(v) for k, v in SIMT_METRICS.items()},
                    "time": TIME_METRIC, "missing_optional": missing_optional,
                    "flops": "tensor: counter x tensor_scale; simt: add + mul + 2 x fma per precision",
                    "tensor_scale": args.tensor_scale},
    }
    doc.update(res)
    doc["notes"] = [
        "Values are per training step, mean over the analysed steps.",
        "Backward kernels carry block.<l> ranges only (autograd hooks), so backward is split per block, not per "
        "gate/attention/ffn: compare the 'blocks' row.",
        "attention_scores_values in the estimate is the full T x T; causal kernels (flash / memory-efficient SDPA) "
        "compute about half of it, the math path all of it.",
        "Kernel time is measured under ncu (kernels serialised and replayed), not the step's wall-clock.",
    ]
    out_json = os.path.join(out_dir, "measured_flops.json")
    write_json_atomic(out_json, doc)
    if not args.quiet:
        print(render_table(res))
        print("written: %s" % out_json)
    return 0


# ---------------------------------------------------------------------------------------------- ncu helpers
def resolve_ncu(path):
    cands = [path] if path else [os.environ.get("NCU"), DEFAULT_NCU, shutil.which("ncu")]
    for c in cands:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    raise InputError("ncu not found at %s (install Nsight Compute or pass --ncu PATH)"
                     % (path or " or ".join(c for c in [os.environ.get("NCU"), DEFAULT_NCU, "PATH"] if c)))


def tool_output(cmd, timeout=120):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                           timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return 1, str(e)
    return p.returncode, p.stdout


def ncu_features(ncu):
    rc, text = tool_output([ncu, "--help"])
    return {"help_ok": rc == 0, "process_scope": "nvtx-push-pop-scope" in text, "range_filter": "range-filter" in text}


def available_metrics(ncu, chip, wanted):
    """Which of `wanted` exist on `chip` per `ncu --query-metrics --chips CHIP` (base names, suffix dropped).
    Returns (available set or None when the listing could not be read, raw text)."""
    rc, text = tool_output([ncu, "--query-metrics", "--chips", chip], timeout=300)
    if rc != 0:
        return None, text
    found = set()
    for m in wanted:
        base = m.rsplit(".", 1)[0]
        if re.search(r"(?<![\w])" + re.escape(base) + r"(?![\w])", text):
            found.add(m)
    if not any(m in found for m in REQUIRED):  # listing not in a form we understand: do not guess
        return None, text
    return found, text


def check_metrics(args, ncu, out_dir, metrics):
    if args.no_metric_check:
        return metrics, "skipped (--no-metric-check)"
    found, text = available_metrics(ncu, args.chip, metrics)
    with open(os.path.join(out_dir, "query_metrics.txt"), "w") as f:
        f.write(text)
    if found is None:
        print("measured_flops: note: could not read `ncu --query-metrics --chips %s`; requesting all metrics"
              % args.chip, file=sys.stderr)
        return metrics, "unreadable"
    missing_req = [m for m in REQUIRED if m in metrics and m not in found]
    if missing_req:
        raise InputError("metric %s not available on chip %s (ncu --query-metrics --chips %s; listing in %s)"
                         % (missing_req[0], args.chip, args.chip, os.path.join(out_dir, "query_metrics.txt")))
    dropped = [m for m in metrics if m not in found]
    for m in dropped:
        print("measured_flops: note: optional metric %s not on %s, not collected" % (m, args.chip), file=sys.stderr)
    return [m for m in metrics if m in found], "ok" + (" (dropped %s)" % ", ".join(dropped) if dropped else "")


def ncu_base_args(args, metrics):
    return ["--target-processes", "all", "--replay-mode", "kernel", "--clock-control", args.clock_control,
            "--cache-control", args.cache_control, "--metrics", ",".join(metrics),
            "--csv", "--page", "raw", "--print-units", "base"]


def build_run_command(args, ncu, skipbench, out_dir, metrics, select):
    cmd = [ncu] + ncu_base_args(args, metrics) + ["--nvtx"]
    if select == "range":
        instances = "|".join(str(args.warmup + 1 + i) for i in range(args.steps))
        cmd += ["--nvtx-push-pop-scope", "process", "--nvtx-include", DOMAIN + "@step/",
                "--range-filter", "::" + instances]
    cmd += ["--log-file", os.path.join(out_dir, "ncu.csv"), "-f", "-o", os.path.join(out_dir, "ncu")]
    cmd += list(args.ncu_arg or [])
    cmd += [skipbench, "profile", "--config", args.config]
    for s in args.set or []:
        cmd += ["--set", s]
    cmd += ["--steps", str(args.steps), "--warmup", str(args.warmup), "--out", out_dir, "--nvtx", "--no-cupti"]
    return cmd


def last_lines(path, n=3):
    try:
        with open(path, errors="replace") as f:
            lines = [ln.strip() for ln in f if ln.strip()]
        return " | ".join(lines[-n:])
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------------- run
def cmd_run(args):
    out_dir = args.out
    if args.steps < 1 or args.warmup < 0:
        raise InputError("--steps must be >= 1 and --warmup >= 0")
    if not os.path.isfile(args.config):
        raise InputError("%s: config not found" % args.config)
    skipbench = args.skipbench
    if not args.dry_run and not (os.path.isfile(skipbench) and os.access(skipbench, os.X_OK)):
        raise InputError("skipbench binary not found at %s (build it, or pass --skipbench PATH)" % skipbench)
    if args.dry_run:
        try:
            ncu = resolve_ncu(args.ncu)
        except InputError:
            ncu = args.ncu or DEFAULT_NCU
    else:
        ncu = resolve_ncu(args.ncu)
        os.makedirs(out_dir, exist_ok=True)
    metrics = metric_list(args.tensor_fp16)
    select, feats = args.select, None
    if select == "auto":
        if os.path.isfile(ncu):
            feats = ncu_features(ncu)
            select = "range" if feats["process_scope"] and feats["range_filter"] else "all"
            if select == "all":
                print("measured_flops: note: this ncu has no --nvtx-push-pop-scope/--range-filter; profiling every "
                      "step (warm-up too) and keeping step %d" % (args.warmup + 1), file=sys.stderr)
        else:
            select = "range"
    metric_check = "not run (--dry-run)"
    if not args.dry_run:
        metrics, metric_check = check_metrics(args, ncu, out_dir, metrics)
    cmd = build_run_command(args, ncu, skipbench, out_dir, metrics, select)
    if args.dry_run:
        print(" ".join(shlex.quote(c) for c in cmd))
        return 0
    meta = {"ncu_command": cmd, "select": select, "warmup": args.warmup, "steps": args.steps,
            "skip_steps": args.warmup if select == "all" else 0, "metrics": metrics, "metric_check": metric_check,
            "ncu_version": (tool_output([ncu, "--version"])[1].strip().splitlines() or [None])[-1],
            "ncu_features": feats, "status": "running"}
    write_json_atomic(os.path.join(out_dir, "measured_flops_run.json"), meta)
    log = os.path.join(out_dir, "skipbench.log")
    print("measured_flops: running ncu (this replays every profiled kernel; minutes): log %s" % log, file=sys.stderr)
    with open(log, "w") as lf:
        try:
            p = subprocess.run(cmd, stdout=lf, stderr=subprocess.STDOUT, timeout=args.timeout or None)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    meta["status"] = "ncu exit %s" % rc
    write_json_atomic(os.path.join(out_dir, "measured_flops_run.json"), meta)
    if rc != 0:
        raise ToolError("ncu failed (%s); see %s and %s: %s" % (
            "timed out" if rc == "timeout" else "exit %d" % rc, log, os.path.join(out_dir, "ncu.csv"),
            last_lines(os.path.join(out_dir, "ncu.csv")) or last_lines(log)))
    args.csv = os.path.join(out_dir, "ncu.csv")
    args.skip_steps = None  # analyze reads measured_flops_run.json (skip_steps, and the range-filter check)
    args.out = out_dir
    return cmd_analyze(args)


# ---------------------------------------------------------------------------------------------- calibrate
CALIB_WORKLOAD = r'''
import torch
dev = "cuda"
def case(name, fn):
    fn(); torch.cuda.synchronize()                      # warm-up outside the range (library init, heuristics)
    torch.cuda.nvtx.range_push(name); fn(); torch.cuda.synchronize(); torch.cuda.nvtx.range_pop()
torch.backends.cuda.matmul.allow_tf32 = False
a = torch.randn(4096, 4096, device=dev, dtype=torch.bfloat16); b = torch.randn_like(a)
case("calib_gemm_bf16_4096", lambda: a @ b)
x = torch.randn(2048, 2048, device=dev); y = torch.randn_like(x)
case("calib_gemm_fp32_2048", lambda: x @ y)
torch.backends.cuda.matmul.allow_tf32 = True
case("calib_gemm_tf32_2048", lambda: x @ y)
torch.backends.cuda.matmul.allow_tf32 = False
n = 1 << 24
u = torch.randn(n, device=dev); v = torch.randn_like(u); w = torch.randn_like(u)
case("calib_mul_fp32_16M", lambda: u * v)
case("calib_addcmul_fp32_16M", lambda: torch.addcmul(u, v, w))
ub, vb = u.bfloat16(), v.bfloat16()
case("calib_mul_bf16_16M", lambda: ub * vb)
'''
CALIB_EXPECT = {  # case -> (FLOPs type checked, expected FLOPs, what it shows)
    "calib_gemm_bf16_4096": ("tensor_bf16", 2.0 * 4096 ** 3, "tensor counter = FLOPs (2*M*N*K)?"),
    "calib_gemm_fp32_2048": ("fp32", 2.0 * 2048 ** 3, "fp32 SGEMM on the FMA pipe, ffma counted twice"),
    "calib_gemm_tf32_2048": ("tensor_tf32", 2.0 * 2048 ** 3, "TF32 tensor counter"),
    "calib_mul_fp32_16M": ("fp32", float(1 << 24), "one FMUL per element"),
    "calib_addcmul_fp32_16M": ("fp32", 2.0 * (1 << 24), "one FFMA per element (if contracted)"),
    "calib_mul_bf16_16M": (None, float(1 << 24), "bf16 elementwise: fp32 math (opmath) or packed half2?"),
}


def cmd_calibrate(args):
    out_dir = args.out
    ncu = resolve_ncu(args.ncu)
    python = args.python or ("/opt/torch/.venv/bin/python3" if os.path.exists("/opt/torch/.venv/bin/python3")
                             else sys.executable)
    os.makedirs(out_dir, exist_ok=True)
    metrics = metric_list(args.tensor_fp16)
    metrics, metric_check = check_metrics(args, ncu, out_dir, metrics)
    wl = os.path.join(out_dir, "calibrate_workload.py")
    with open(wl, "w") as f:
        f.write(CALIB_WORKLOAD)
    csv_path = os.path.join(out_dir, "calibrate.csv")
    cmd = [ncu] + ncu_base_args(args, metrics) + ["--nvtx", "--log-file", csv_path, "-f", "-o",
                                                  os.path.join(out_dir, "calibrate"), python, wl]
    log = os.path.join(out_dir, "calibrate.log")
    with open(log, "w") as lf:
        rc = subprocess.run(cmd, stdout=lf, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        raise ToolError("ncu failed (exit %d); see %s: %s" % (rc, log, last_lines(csv_path) or last_lines(log)))
    results, verdict, sample_cell, info = calibration_results(csv_path, args.tensor_scale)
    print("%-24s %-12s %12s %12s %8s  %s" % ("case", "type", "measured", "expected", "ratio", "checks"))
    for name, r in results.items():
        if "error" in r:
            print("%-24s %s" % (name, r["error"]))
        else:
            print("%-24s %-12s %12s %12s %8s  %s" % (name, r["type"], fmt(r["measured"]), fmt(r["expected"]),
                                                     fmt(r["ratio"], "r"), r["checks"]))
    if verdict:
        print(verdict)
    print("NVTX column of the first calibration kernel: %r" % sample_cell)
    doc = {"schema": SCHEMA + ".calibration", "schema_version": SCHEMA_VERSION, "ncu_command": cmd,
           "metric_check": metric_check, "csv_info": info, "cases": results, "tensor_verdict": verdict,
           "nvtx_cell_sample": sample_cell, "tensor_scale": args.tensor_scale}
    out_json = os.path.join(out_dir, "calibration.json")
    write_json_atomic(out_json, doc)
    print("written: %s" % out_json)
    return 0


def calibration_results(csv_path, tensor_scale=1.0):
    """Sum FLOPs by type per calib_* NVTX range (any domain) and compare with CALIB_EXPECT."""
    kernels, info = read_ncu_csv(csv_path, domain=None)
    compute_flops(kernels, tensor_scale)
    cases, sample_cell = {}, None
    for k in kernels:
        name = next((n for n in k.stack if n.startswith("calib_")), None)
        if name is None:
            continue
        if sample_cell is None:
            sample_cell = k.nvtx_cell
        acc = cases.setdefault(name, new_acc())
        add(acc, k)
    results = {}
    for name, (typ, expected, what) in CALIB_EXPECT.items():
        acc = cases.get(name)
        if acc is None:
            results[name] = {"error": "no kernels found in this NVTX range"}
            continue
        measured = acc["by_type"][typ] if typ else acc["flops"]
        results[name] = {"type": typ or "all", "measured": measured, "expected": expected,
                         "ratio": ratio(measured, expected), "kernels": acc["kernels"], "by_type": acc["by_type"],
                         "checks": what}
    g = results.get("calib_gemm_bf16_4096", {})
    verdict = None
    if g.get("ratio"):
        r = g["ratio"]
        verdict = ("ok: the bf16 tensor counter reads FLOPs (ratio %.3f)" % r if abs(r - 1.0) < 0.05 else
                   "the bf16 tensor counter reads %.3g x FLOPs: analyse with --tensor-scale %.4g" % (r, 1.0 / r))
    return results, verdict, sample_cell, info


# ---------------------------------------------------------------------------------------------- CLI
def main(argv=None):
    ap = argparse.ArgumentParser(prog="measured_flops.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd")

    def common_analysis(p):
        p.add_argument("--set", action="append", metavar="K=V", help="config override (as skipbench --set)")
        p.add_argument("--skipbench", default=os.path.join(REPO, "build", "skipbench"), help="skipbench binary")
        p.add_argument("--flops-json", help="use this `skipbench flops --mode standard` JSON instead of running it")
        p.add_argument("--sparsity", type=float, nargs="+", help="passed to skipbench flops (default 0)")
        p.add_argument("--sequences-per-step", type=int, help="override train.batch_size")
        p.add_argument("--profile-json", help="skipbench profile.json with the resolved config")
        p.add_argument("--tensor-scale", type=float, default=1.0, help="FLOPs per tensor-op count (calibrate)")
        p.add_argument("--domain", default=DOMAIN, help="NVTX domain of the ranges (default skipbench)")
        p.add_argument("--quiet", action="store_true", help="no table on stdout")

    def common_ncu(p):
        p.add_argument("--ncu", help="ncu binary (default $NCU, %s, or ncu on PATH)" % DEFAULT_NCU)
        p.add_argument("--chip", default="gh100", help="chip for the metric preflight (H100/H200: gh100)")
        p.add_argument("--no-metric-check", action="store_true", help="skip the ncu --query-metrics preflight")
        p.add_argument("--tensor-fp16", action="store_true", help="also collect the fp16 tensor counters")
        p.add_argument("--clock-control", default="none", choices=["none", "base", "boost"])
        p.add_argument("--cache-control", default="all", choices=["all", "none"])

    r = sub.add_parser("run", help="profile one training step under ncu, then analyze")
    r.add_argument("--config", required=True)
    r.add_argument("--out", required=True, help="output directory")
    r.add_argument("--warmup", type=int, default=2, help="warm-up steps, not profiled (default 2)")
    r.add_argument("--steps", type=int, default=1, help="profiled steps (default 1)")
    r.add_argument("--select", choices=["auto", "range", "all"], default="auto",
                   help="range: NVTX filter on the (W+1)-th step; all: profile everything, keep step W+1")
    r.add_argument("--ncu-arg", action="append", help="extra ncu argument (repeatable)")
    r.add_argument("--timeout", type=float, default=0, help="seconds before ncu is stopped (default none)")
    r.add_argument("--dry-run", action="store_true", help="print the ncu command and exit")
    common_analysis(r)
    common_ncu(r)
    r.set_defaults(skip_steps=None, csv=None)

    a = sub.add_parser("analyze", help="analyse an ncu CSV against the estimate")
    a.add_argument("--csv", required=True, help="ncu raw-page CSV (or a directory holding ncu.csv)")
    a.add_argument("--config", help="config JSON (for skipbench flops and the batch size)")
    a.add_argument("--out", help="directory for measured_flops.json (default: the CSV's)")
    a.add_argument("--skip-steps", type=int, default=None,
                   help="drop the first K steps found (default: from measured_flops_run.json, else 0)")
    common_analysis(a)

    c = sub.add_parser("calibrate", help="known GEMMs / elementwise ops under ncu: check names and conventions")
    c.add_argument("--out", required=True)
    c.add_argument("--python", help="python with torch (default /opt/torch/.venv/bin/python3 if present)")
    c.add_argument("--tensor-scale", type=float, default=1.0)
    common_ncu(c)

    args = ap.parse_args(argv)
    if not args.cmd:
        ap.print_help()
        return 2
    try:
        return {"run": cmd_run, "analyze": cmd_analyze, "calibrate": cmd_calibrate}[args.cmd](args)
    except InputError as e:
        print("measured_flops: error: %s" % e, file=sys.stderr)
        return 2
    except ToolError as e:
        print("measured_flops: error: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
