"""Read a suite directory: suite.json, each run's run.json / failed.json / metrics.jsonl / eval_*.json; build the
per-run summaries, the per-configuration aggregates over seeds, and the provenance section of report.json.

metrics.jsonl may be stored gzip-compressed as metrics.jsonl.gz (the committed studies' copies: run_study.sh
compresses them so no tracked file passes 2 MiB); every reader here takes either (metrics_file, open_metrics).

Vocabulary: a *configuration* is every run of the suite that shares a run name (the same settings with different
seeds; run directories are runs/<name>/seed<k>); its aggregate is what report.json calls a group entry and carries
the suite's group label too. Roles: "dense" (variant dense, or skip_middle with zero_init_masks true, whose gates
stay 1), "gated" (skip_middle with learned gates), "other" (forced_skip, a benchmark fixture), "peer" (any other
variant: the peer methods, layerdrop, mod, ..., compared with the dense frontier in report.json's "peers").
"""
import gzip
import json
import os

from .common import BadInput, dig, flatten, is_num, num, num_list, read_json
from .stats import describe, per_layer

SUITE_SCHEMA, RUN_SCHEMA, EVAL_SCHEMA = "skipbench.suite", "skipbench.run", "skipbench.eval"
STATUSES_DONE = ("completed",)
TAIL_BYTES = 1 << 18  # metrics.jsonl: how much of the end to read for a run's progress
HEAD_BYTES = 1 << 16  # ... and of the start, for the step-0 record
EXIT_HINTS = {  # for a failed.json without a reason
    2: "no reason recorded; exit 2 is a skipbench input error (see the run's train.log)",
    3: "no reason recorded; exit 3 is a diverged run",
    126: "no reason recorded; exit 126: the command was not executable",
    127: "no reason recorded; exit 127: the command was not found (was build/skipbench being rebuilt?)",
    134: "no reason recorded; exit 134: aborted (SIGABRT)",
    137: "no reason recorded; exit 137: killed (SIGKILL, e.g. out of memory)",
}


# ---------------------------------------------------------------- reading


def metrics_file(run_dir):
    """The run's metrics file: metrics.jsonl, else metrics.jsonl.gz (a compressed committed copy), else None."""
    for name in ("metrics.jsonl", "metrics.jsonl.gz"):
        p = os.path.join(run_dir, name)
        if os.path.isfile(p):
            return p
    return None


def open_metrics(path):
    """A binary file object over a metrics file's JSON lines, decompressing a .gz one."""
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def load_suite(suite_dir):
    """suite.json, validated; raise BadInput naming the file and the problem."""
    if not os.path.isdir(suite_dir):
        raise BadInput(f"{suite_dir}: not a directory (expected an ablation-suite directory holding suite.json)")
    path = os.path.join(suite_dir, "suite.json")
    if not os.path.isfile(path):
        raise BadInput(f"{path}: not found (is {suite_dir} an ablation-suite directory?)")
    s = read_json(path)
    if not isinstance(s, dict):
        raise BadInput(f"{path}: expected a JSON object")
    if s.get("schema") != SUITE_SCHEMA:
        raise BadInput(f"{path}: not a skipbench suite (\"schema\" is {json.dumps(s.get('schema'))}, "
                       f"expected \"{SUITE_SCHEMA}\")")
    if s.get("schema_version") != 1:
        raise BadInput(f"{path}: suite schema_version {json.dumps(s.get('schema_version'))}, this renderer reads 1")
    runs = s.get("runs")
    if not isinstance(runs, list):
        raise BadInput(f"{path}: \"runs\" must be a list")
    seen = set()
    for i, r in enumerate(runs):
        if not isinstance(r, dict):
            raise BadInput(f"{path}: runs[{i}]: expected an object")
        for k in ("name", "dir"):
            if not isinstance(r.get(k), str) or not r.get(k):
                raise BadInput(f"{path}: runs[{i}]: \"{k}\" must be a non-empty string")
        if "params" in r and not isinstance(r["params"], dict):
            raise BadInput(f"{path}: runs[{i}] ({r['name']}): \"params\" must be an object")
        if r["dir"] in seen:
            raise BadInput(f"{path}: runs[{i}] ({r['name']}): directory {r['dir']} is listed twice")
        seen.add(r["dir"])
    return s


def _read_optional(path, problems):
    """A JSON object from path, None when absent; malformed files are noted in problems and give None."""
    if not os.path.isfile(path):
        return None
    try:
        v = read_json(path)
    except BadInput as e:
        problems.append(str(e))
        return None
    if not isinstance(v, dict):
        problems.append(f"{path}: expected a JSON object")
        return None
    return v


def _lock_held(lock_path):
    """Whether a trainer holds the run directory's lock (harness/common/file_lock.h: flock on train.lock, released
    by the kernel however the trainer ends, so it cannot be stale)."""
    import fcntl
    try:
        fd = os.open(lock_path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)

def records(lines):
    """The JSON objects among metrics.jsonl lines; blank, partial or malformed lines are skipped."""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            yield rec


def metrics_tail(path):
    """Progress from the end of metrics.jsonl: last train step/loss, last val step/loss, lines read. A partial
    last line (a run still writing) is ignored."""
    try:
        if path.endswith(".gz"):  # a finished, compressed copy: no seeking; decompress and keep the end
            with open_metrics(path) as f:
                raw = f.read()
            size, data = len(raw), raw[-TAIL_BYTES:].decode("utf-8", "replace")
        else:
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                f.seek(max(0, size - TAIL_BYTES))
                data = f.read().decode("utf-8", "replace")
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    lines = data.split("\n")
    if size > TAIL_BYTES:
        lines = lines[1:]  # the first may be cut
    out = {"last_train_step": None, "last_train_loss": None, "last_val_step": None, "last_val_loss": None}
    for rec in records(reversed(lines)):
        if rec.get("kind") == "train" and out["last_train_step"] is None:
            out["last_train_step"] = rec.get("step")
            out["last_train_loss"] = num(rec.get("loss"))
        if rec.get("kind") == "val" and out["last_val_step"] is None:
            out["last_val_step"] = rec.get("step")
            out["last_val_loss"] = num(rec.get("val_loss"))
        if out["last_train_step"] is not None and out["last_val_step"] is not None:
            break
    return out


def initial_sparsity(path):
    """Gate sparsity of the initial model: the step-0 training record's gates.sparsity (the first forward, before
    any update), from the head of metrics.jsonl; None when absent."""
    try:
        with open_metrics(path) as f:
            data = f.read(HEAD_BYTES).decode("utf-8", "replace")
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    for rec in records(data.split("\n")[:-1] if len(data) == HEAD_BYTES else data.split("\n")):
        if rec.get("kind") == "train" and rec.get("step") == 0:
            return num(dig(rec, "gates", "sparsity"))
    return None


def metrics_curves(path):
    """Full loss curves from metrics.jsonl (train steps are 0-based there; returned 1-based as in run.json)."""
    tr_s, tr_l, va_s, va_l = [], [], [], []
    try:
        with open_metrics(path) as f:
            for rec in records(line.decode("utf-8", "replace") for line in f):
                if rec.get("kind") == "train" and is_num(rec.get("step")) and is_num(rec.get("loss")):
                    tr_s.append(rec["step"] + 1)
                    tr_l.append(rec["loss"])
                elif rec.get("kind") == "val" and is_num(rec.get("step")) and is_num(rec.get("val_loss")):
                    va_s.append(rec["step"])
                    va_l.append(rec["val_loss"])
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    return {"train": (tr_s, tr_l), "val": (va_s, va_l)}


def load_run(suite_dir, entry, problems):
    """Everything on disk for one suite entry: {'entry','dir','report','failed','status','reason',...}."""
    rdir = os.path.join(suite_dir, entry["dir"])
    rp = os.path.join(rdir, "run.json")
    run = {"entry": entry, "dir": rdir, "report": None, "failed": None, "reason": None, "exit_code": None,
           "progress": None, "evals": {}, "config": None}
    local = []
    run["config"] = _read_optional(os.path.join(rdir, "config.json"), local)  # the runner's resolved config
    report = _read_optional(rp, local)
    if report is not None and (report.get("schema") != RUN_SCHEMA or report.get("schema_version") != 1):
        local.append(f"{rp}: not a skipbench run report v1 (schema {json.dumps(report.get('schema'))}, "
                     f"schema_version {json.dumps(report.get('schema_version'))})")
        report = None
    failed = _read_optional(os.path.join(rdir, "failed.json"), local)
    run["report"], run["failed"] = report, failed
    if failed:
        run["exit_code"] = failed.get("exit_code")
    if report is not None:
        run["status"] = str(report.get("status") or "unknown")
        run["reason"] = report.get("failure") or (failed or {}).get("reason")
    elif failed is not None:
        run["status"] = "failed"
        run["reason"] = failed.get("reason") or EXIT_HINTS.get(failed.get("exit_code"), "failed.json gives no reason")
    elif os.path.isfile(rp):
        run["status"] = "unreadable"
        run["reason"] = local[0] if local else f"{rp}: unreadable"
    else:
        # as `skipbench suite status`: running while a trainer holds train.lock, else pending (possibly
        # interrupted, to resume from its checkpoint)
        run["status"] = "running" if _lock_held(os.path.join(rdir, "train.lock")) else "pending"
    mp = metrics_file(rdir)
    if report is None and failed is None and (mp or os.path.isdir(os.path.join(rdir, "checkpoint"))):
        run["progress"] = (metrics_tail(mp) if mp else None) or {}
        ck = _read_optional(os.path.join(rdir, "checkpoint", "state.json"), [])
        run["progress"]["checkpoint_step"] = ck.get("step") if ck else None
        if run["status"] == "pending":
            run["reason"] = "interrupted: resumes from its last checkpoint" if ck else "interrupted (no checkpoint)"
    if mp:
        run["initial_sparsity"] = initial_sparsity(mp)
    for mode, fname in (("soft", "eval_soft.json"), ("hard_skip", "eval_hard_skip.json")):
        ev = _read_optional(os.path.join(rdir, fname), local)
        if ev is not None and ev.get("schema", EVAL_SCHEMA) == EVAL_SCHEMA:
            run["evals"][mode] = ev
    problems.extend(local)
    return run


def run_curves(run):
    """(train_steps, train_loss, val_steps, val_loss) for a run, from run.json or else metrics.jsonl."""
    rep = run["report"] or {}
    ts, tl = dig(rep, "train_curve", "step"), dig(rep, "train_curve", "loss")
    vs, vl = dig(rep, "val_curve", "step"), dig(rep, "val_curve", "loss")
    if not (isinstance(ts, list) and isinstance(tl, list) and ts):
        mp = metrics_file(run["dir"])
        mc = metrics_curves(mp) if mp else None
        if mc is None:
            return None
        (ts, tl), (vs, vl) = mc["train"], mc["val"]
    vs, vl = vs or [], vl or []

    def pairs(a, b):
        p = [(x, y) for x, y in zip(a, b) if is_num(x) and is_num(y)]
        return [x for x, _ in p], [y for _, y in p]

    return pairs(ts, tl) + pairs(vs, vl)


# ---------------------------------------------------------------- summaries


def _attributes(entry, report, run_config=None):
    p = flatten(entry.get("params") or {})
    cfg = (report or {}).get("config") or run_config or {}

    def pick(cfg_path, key):
        v = dig(cfg, *cfg_path)
        return v if v is not None else p.get(key)

    variant = dig(report, "variant", "name") or pick(("variant", "name"), "variant.name")
    vopts = dig(report, "variant", "options")
    if not isinstance(vopts, dict) or not vopts:
        vopts = dig(cfg, "variant", "options") or {}
        if not vopts:
            vopts = {k[len("variant.options."):]: v for k, v in p.items() if k.startswith("variant.options.")}
    gated = dig(report, "variant", "gated")
    if gated is None and variant is not None:
        gated = variant in ("skip_middle", "forced_skip")
    zero_init = vopts.get("zero_init_masks")
    if zero_init is None and variant == "skip_middle":
        zero_init = False  # the registered default
    attention_gate = vopts.get("attention_gate")
    if attention_gate is None and variant in ("skip_middle", "forced_skip"):
        attention_gate = "key"  # the registered default
    controller = dig(report, "controller", "name") or pick(("train", "controller", "name"), "train.controller.name")
    copts = dig(report, "controller", "options")
    if not isinstance(copts, dict):
        copts = dig(cfg, "train", "controller", "options") or {
            k[len("train.controller.options."):]: v for k, v in p.items() if k.startswith("train.controller.options.")}
    if variant == "dense" or (variant == "skip_middle" and zero_init is True):
        role = "dense"
    elif variant == "skip_middle":
        role = "gated"
    elif variant == "forced_skip":
        role = "other"  # a benchmark fixture, not a method
    else:
        role = "peer"  # layerdrop, mod, ...: the report's "Peers against the dense frontier" rows
    return {
        "variant": variant, "variant_options": vopts, "gated": gated, "zero_init_masks": zero_init,
        "attention_gate": attention_gate, "controller": controller, "controller_options": copts,
        "norm": pick(("model", "norm"), "model.norm"), "n_layers": pick(("model", "n_layers"), "model.n_layers"),
        "dim": pick(("model", "dim"), "model.dim"), "role": role,
    }


def _eval_summary(ev):
    if not ev:
        return None
    sp = num(dig(ev, "gates", "sparsity"))
    if sp is None and is_num(ev.get("computed_fraction")):
        sp = 1 - ev["computed_fraction"]
    reps = ev.get("repeats") if isinstance(ev.get("repeats"), dict) else {}
    return {"mode": ev.get("mode"), "loss": num(ev.get("loss")), "tokens": num(ev.get("tokens")),
            "tokens_per_s": num(ev.get("tokens_per_s")), "computed_fraction": num(ev.get("computed_fraction")),
            "sparsity": sp, "repeats": {"soft_s": num_list(reps.get("soft_s")) or [],
                                        "hard_s": num_list(reps.get("hard_s")) or []} if reps else None}


SPIKE_NATS = 0.5  # a rise of the training loss above its running minimum, after warm-up, that counts as a spike


def loss_spike(rep):
    """{'rise', 'step', 'after_step'}: the largest rise of the per-step training loss above its running minimum
    after the warm-up (int(warmup_frac * steps) steps, the schedule's), or None without a curve."""
    steps = num_list(dig(rep, "train_curve", "step")) or []
    loss = num_list(dig(rep, "train_curve", "loss")) or []
    wf = dig(rep, "config", "train", "warmup_frac")
    n = dig(rep, "final", "steps") or len(loss)
    if not loss or len(steps) != len(loss) or not is_num(wf):
        return None
    warm = int(wf * n)
    best, rise, at = float("inf"), 0.0, None
    for st, lo in zip(steps, loss):
        if lo is None:
            continue
        if st is not None and st > warm and lo - best > rise:
            rise, at = lo - best, int(st)
        best = min(best, lo)
    return {"rise": rise, "step": at, "after_step": warm}


def summarize_run(run):
    e, rep = run["entry"], run["report"] or {}
    a = _attributes(e, run["report"], run["config"])
    gv = dig(rep, "gates", "val") or {}
    has_gates = is_num(gv.get("tokens")) and gv["tokens"] > 0
    gate_mean = num_list(gv.get("gate_mean")) if has_gates else None
    zero_fraction = num_list(gv.get("zero_fraction")) if has_gates else None
    targets = num_list(dig(rep, "controller", "final_state", "mean_targets"))
    mae = None
    if targets and gate_mean and len(targets) == len(gate_mean):
        d = [abs(g - t) for g, t in zip(gate_mean, targets) if g is not None and t is not None]
        mae = sum(d) / len(d) if d else None
    tvals = [t for t in (targets or []) if t is not None]
    gvals = [g for g in (gate_mean or []) if g is not None]
    s = {
        "name": e["name"], "group": e.get("group", e["name"]), "seed": e.get("seed", dig(rep, "seed")),
        "dir": e["dir"], "params": e.get("params") or {},
        "status": run["status"], "failure": run["reason"], "exit_code": run["exit_code"],
        **a,
        "parameters": dig(rep, "model", "parameters"),
        "steps": dig(rep, "final", "steps"), "tokens_seen": num(dig(rep, "final", "tokens_seen")),
        "final_train_loss": num(dig(rep, "final", "train_loss")),
        "final_val_loss": num(dig(rep, "final", "val_loss")),
        "loss_spike": loss_spike(rep),
        "inference_flops_per_token": {
            "standard": num(dig(rep, "flops", "inference_at_val_sparsity", "standard", "forward_per_token")),
            "reference": num(dig(rep, "flops", "inference_at_val_sparsity", "reference", "forward_per_token"))},
        "training_flops_total": {
            "standard": num(dig(rep, "flops", "training_total", "standard")),
            "reference_forward_only": num(dig(rep, "flops", "training_total", "reference_forward_only"))},
        "timing": {"total_s": num(dig(rep, "timing", "total_s")),
                   "tokens_per_s": num(dig(rep, "timing", "tokens_per_s")),
                   "median_step_s": num(dig(rep, "timing", "median_step_s")),
                   "validation_s": num(dig(rep, "timing", "validation_s")),
                   "train_s": num(dig(rep, "timing", "train_s")),
                   "device": dig(rep, "timing", "device")},
        "sparsity": num(gv.get("sparsity")) if has_gates else None,
        "initial_sparsity": run.get("initial_sparsity") if has_gates else None,
        "gate_mean": gate_mean, "zero_fraction": zero_fraction,
        "mean_targets": targets, "target_mae": mae,
        "implied_target_sparsity": (1 - sum(tvals) / len(tvals)) if tvals else None,
        "one_minus_mean_gate": (1 - sum(gvals) / len(gvals)) if gvals else None,
        "zero_eps": dig(rep, "config", "train", "zero_eps"),
        "budget": rep.get("budget"), "resumed_from_step": rep.get("resumed_from_step"),
        "provenance": {"commit": dig(rep, "provenance", "git", "commit"),
                       "dirty": dig(rep, "provenance", "git", "dirty"),
                       "date": dig(rep, "provenance", "date")} if run["report"] else None,
        "progress": run["progress"],
        "eval": {m: _eval_summary(run["evals"].get(m)) for m in ("soft", "hard_skip") if run["evals"].get(m)} or None,
    }
    if s["progress"] is not None:
        s["progress"]["steps_total"] = flatten(e.get("params") or {}).get("train.steps")
    return s


# ---------------------------------------------------------------- aggregates

def inference_us_per_token(s):
    """Measured inference time per token (microseconds): the median of the repeated real-skipping timings of
    `skipbench eval --hard-skip --repeat N` (hard passes; a dense model's hard pass is its dense forward) over the
    tokens evaluated; None without repeats."""
    ev = (s.get("eval") or {}).get("hard_skip") or {}
    reps = (ev.get("repeats") or {}).get("hard_s") or []
    reps = sorted(x for x in reps if x is not None)
    if not reps or not ev.get("tokens"):
        return None
    mid = len(reps) // 2
    med = reps[mid] if len(reps) % 2 else (reps[mid - 1] + reps[mid]) / 2
    return 1e6 * med / ev["tokens"]


AGG_METRICS = {
    "val_loss": lambda s: s["final_val_loss"],
    "inference_us_per_token": inference_us_per_token,
    "inference_flops_standard": lambda s: s["inference_flops_per_token"]["standard"],
    "inference_flops_reference": lambda s: s["inference_flops_per_token"]["reference"],
    "training_flops_standard": lambda s: s["training_flops_total"]["standard"],
    "sparsity": lambda s: s["sparsity"],
    "total_s": lambda s: s["timing"]["total_s"],
    "tokens_per_s": lambda s: s["timing"]["tokens_per_s"],
    "target_mae": lambda s: s["target_mae"],
    "implied_target_sparsity": lambda s: s["implied_target_sparsity"],
    "one_minus_mean_gate": lambda s: s["one_minus_mean_gate"],
    "training_flops_per_token": lambda s: (s["training_flops_total"]["standard"] / s["tokens_seen"]
                                           if s["training_flops_total"]["standard"] and s["tokens_seen"] else None),
}
COMMON_ATTRS = ("variant", "role", "gated", "zero_init_masks", "attention_gate", "controller", "norm", "n_layers",
                "dim")


def _common(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    first = json.dumps(vals[0], sort_keys=True)
    return vals[0] if all(json.dumps(v, sort_keys=True) == first for v in vals) else "mixed"


def aggregate(summaries):
    """One entry per configuration (run name), in suite order; statistics over its completed seeds."""
    order, by = [], {}
    for s in summaries:
        if s["name"] not in by:
            order.append(s["name"])
            by[s["name"]] = []
        by[s["name"]].append(s)
    out = []
    for name in order:
        runs = by[name]
        done = [s for s in runs if s["status"] in STATUSES_DONE]
        informed = [s for s in runs if s["provenance"] is not None] or runs
        statuses = {}
        for s in runs:
            statuses[s["status"]] = statuses.get(s["status"], 0) + 1
        params = [{k: v for k, v in flatten(s["params"]).items() if k not in ("train.seed", "seed")} for s in runs]
        g = {
            "name": name, "group": _common([s["group"] for s in runs]),
            "seeds": [s["seed"] for s in runs], "completed_seeds": [s["seed"] for s in done],
            "n_runs": len(runs), "n_completed": len(done), "statuses": statuses,
            "params": params[0] if all(p == params[0] for p in params) else "mixed",
            **{k: _common([s[k] for s in informed]) for k in COMMON_ATTRS},
            "stats": {k: describe([f(s) for s in done]) for k, f in AGG_METRICS.items()},
            "per_layer": {
                "gate_mean": per_layer([s["gate_mean"] for s in done]),
                "zero_fraction": per_layer([s["zero_fraction"] for s in done]),
                "mean_targets": per_layer([s["mean_targets"] for s in done]),
            },
            "any_diverged": any(s["status"] == "diverged" or (s["status"] == "failed" and s["exit_code"] == 3)
                                for s in runs),
        }
        out.append(g)
    return out


# ---------------------------------------------------------------- provenance


def _gpu_names(gpus):
    if not isinstance(gpus, list):
        return []
    names = []
    for g in gpus:
        if isinstance(g, dict):
            names.append(str(g.get("name") or g.get("model") or json.dumps(g, sort_keys=True)))
        else:
            names.append(str(g))
    return names


def provenance(runs):
    commits, versions, hardware, dates = {}, {}, {}, []
    for r in runs:
        rep = r["report"]
        if not rep:
            continue
        pv = rep.get("provenance") or {}
        # the commit the binary was built from when recorded (provenance.git.build_commit), else the tree's at run time
        c = dig(pv, "git", "build_commit") or dig(pv, "git", "commit") or "unknown"
        e = commits.setdefault(c, {"commit": c, "runs": 0, "dirty_runs": 0, "tree_moved_runs": 0})
        e["runs"] += 1
        built_dirty = dig(pv, "git", "build_dirty")
        if (built_dirty if built_dirty is not None else dig(pv, "git", "dirty")) is True:
            e["dirty_runs"] += 1
        if dig(pv, "git", "binary_matches_tree") is False and built_dirty is False:
            e["tree_moved_runs"] += 1
        for k, v in (pv.get("versions") or {}).items():
            vs = versions.setdefault(k, [])
            if v not in vs:
                vs.append(v)
        hw = pv.get("hardware") or {}
        key = json.dumps([hw.get("cpu"), hw.get("logical_cores"), hw.get("memory_bytes"), _gpu_names(hw.get("gpus")),
                          dig(rep, "timing", "device")])
        h = hardware.setdefault(key, {"cpu": hw.get("cpu"), "logical_cores": hw.get("logical_cores"),
                                      "memory_bytes": hw.get("memory_bytes"), "gpus": _gpu_names(hw.get("gpus")),
                                      "device": dig(rep, "timing", "device"), "hostnames": [], "runs": 0})
        h["runs"] += 1
        if hw.get("hostname") and hw["hostname"] not in h["hostnames"]:
            h["hostnames"].append(hw["hostname"])
        if isinstance(pv.get("date"), str):
            dates.append(pv["date"])
    warnings = []
    if len(commits) > 1:
        warnings.append(f"runs come from {len(commits)} different git commits")
    dirty = sum(c["dirty_runs"] for c in commits.values())
    if dirty:
        warnings.append(f"{dirty} run(s) were built from a dirty work tree (uncommitted changes)")
    moved = sum(c.get("tree_moved_runs", 0) for c in commits.values())
    if moved:
        warnings.append(f"{moved} run(s) ran a binary built at an older commit than the checkout they wrote their "
                        "record in (commits listed are the binaries')")
    if len(hardware) > 1:
        warnings.append(f"runs come from {len(hardware)} different hardware set-ups: wall-clock is not comparable "
                        "across them")
    return {"git_commits": sorted(commits.values(), key=lambda c: -c["runs"]),
            "versions": versions, "hardware": list(hardware.values()),
            "dates": {"first": min(dates) if dates else None, "last": max(dates) if dates else None},
            "warnings": warnings}
