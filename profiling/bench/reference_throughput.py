#!/usr/bin/env python3
"""reference_throughput.py: training throughput of the paper's *released* PyTorch code, for a side-by-side with
skipbench's own training step.

What: imports the model and the training-step pieces of github.com/tim-lawson/skip-middle (Lawson & Aitchison,
arXiv 2506.21103) from an external copy (--reference-dir, made by ci/gpu/fetch_reference.sh; none of its code lives
in this repository), builds the paper's 12-layer model (dim 768, 12 heads, seq 1024, GPT-2 vocabulary 50257,
micro-batch 32, global batch 512 -> 16 accumulation micro-steps on one GPU) in its `dense` form (the released
baseline: zero-initialised masks, gates fixed at 1, no controller) and its `gated` form (skip-middle: masks
initialised N(0, 0.02), proportional controller with targets 1 -> 0.5 and multiplier 1e-3, as in
scripts/train_fineweb_gated_*.sh), trains W warm-up + N measured optimizer steps on random tokens (or given
shards) and reports tokens/s (median step), step-time median/p10/p90, peak CUDA memory, MFU, the device, the
torch version, the reference commit and every setting, as JSON.

Why: skipbench's claim 6 ("estimated FLOPs savings show up in wall-clock") and its throughput figures need a
yardstick: how fast does the authors' own code train the same model on the same GPU? The reference is timed
exactly as its training script runs it (projects/skip_middle/train/train.py at the exported commit): bf16 autocast
on CUDA, no torch.compile (the released code never compiles), fused torch.optim.AdamW with three parameter groups,
its DistributedDataLoader, its linear-cosine scheduler, its per-parameter gradient division after accumulation,
its gate metrics and controller update, and its per-step logging (.item() calls included; wandb itself is stubbed).

Modes (each run in its own subprocess, so peak memory and caches are per run):
  as_released  the reference's step re-driven by this script (its objects, its order of operations), with
               torch.cuda.synchronize() around a per-step timer. The default.
  train_fn     the reference's own train() function itself, unmodified, timed from its per-step wandb.log call
               (a stub that synchronizes and stops the run after W + N steps). CUDA only (train() hard-codes it);
               a cross-check that as_released reproduces the released loop.
  compiled     NOT as released: as_released with torch.compile(model). Shows what compilation alone would buy the
               reference; the like-for-like comparison with skipbench (eager LibTorch) is as_released.

Variants: dense (scripts/train_fineweb_baseline_*.sh), gated (scripts/train_fineweb_gated_*.sh), nocontrol
(scripts/train_fineweb_nocontrol_*.sh: learned gates, no controller).

Dependencies: plain torch + numpy. The reference imports simple_parsing (config dataclasses), transformers (only
its Hugging Face wrapper class) and wandb (logging); this script stubs wandb and transformers always, and
simple_parsing when it is not installed (recorded in the JSON as reference.stubbed_modules).

Usage (GPU machine):   python3 profiling/bench/reference_throughput.py --reference-dir .reference/skip-middle \
                           --out reference_throughput.json
       (CPU check):    .venv/bin/python profiling/bench/reference_throughput.py --reference-dir .reference/skip-middle --smoke
See profiling/bench/REFERENCE.md for the reproduction recipe and what the reference's step does.
"""
import argparse
import contextlib
import dataclasses
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import types
from pathlib import Path

SCHEMA = "skipbench.reference_throughput"
SCHEMA_VERSION = 1

# The paper's model and batch (configs/paper-12l.json; the reference's ModelConfig defaults and train_fineweb.py).
PAPER_SHAPE = dict(dim=768, n_layers=12, n_heads=12, vocab_size=50257, max_seq_len=1024,
                   device_batch_size=32, batch_size=512)
SMOKE_SHAPE = dict(dim=64, n_layers=4, n_heads=4, vocab_size=50257, max_seq_len=64,
                   device_batch_size=2, batch_size=4)  # batch 4 / micro-batch 2: 2 accumulation micro-steps
# `build/skipbench flops --config configs/paper-12l.json --mode standard`: training_per_token (3 x forward matmul
# FLOPs, full T x T attention, gate linears included; the reference's dense form computes its gate linears too).
PAPER_FLOPS_PER_TOKEN = 1.024335360e9
# Dense bf16 tensor-core peaks (FLOP/s), matched in order against torch.cuda.get_device_name().
PEAK_BF16 = [("GH200", 989.4e12), ("H200", 989.4e12), ("H100 NVL", 835e12), ("H100 PCIe", 756e12),
             ("H100", 989.4e12), ("A100", 312e12)]
MODES = ("as_released", "train_fn", "compiled")
VARIANTS = ("dense", "gated", "nocontrol")
# The released launch scripts (scripts/train_fineweb_*.sh) export this before torchrun.
RELEASED_ALLOC_CONF = "expandable_segments:True"


def standard_flops_per_token(dim, n_layers, max_seq_len, vocab_size, hidden=None):
    """skipbench's `flops --mode standard` training FLOPs per token (harness/model/flops.h), for the reference's
    graph: per block Q/K/V/O (8d^2), SwiGLU (6dh), attention scores+values over the full T x T (4Td); the LM head
    (2dV); the n_layers/2 gate linears (2d each, computed in every form of the reference model); x3 for training."""
    h = hidden or 4 * dim
    fwd = n_layers * (8 * dim * dim + 6 * dim * h + 4 * max_seq_len * dim) + 2 * dim * vocab_size \
        + (n_layers // 2) * 2 * dim
    return 3.0 * fwd


def peak_flops_for(device_name):
    for key, peak in PEAK_BF16:
        if key.lower() in (device_name or "").lower():
            return peak, f"table: '{key}' in device name (dense bf16)"
    return None, "unknown device (pass --peak-flops)"


def percentile(xs, q):
    """Linear-interpolated percentile, q in [0, 100]."""
    s = sorted(xs)
    if not s:
        return None
    k = (len(s) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def finite_json(x):
    """Strict JSON: non-finite floats (the controller's coef_max = inf, say) become strings."""
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {k: finite_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite_json(v) for v in x]
    return x


def reference_commit(ref_dir):
    ref = Path(ref_dir)
    for f in (ref.with_name(ref.name + ".COMMIT"), ref / ".COMMIT"):
        if f.is_file():
            return f.read_text().strip(), str(f)
    r = subprocess.run(["git", "-C", str(ref), "rev-parse", "HEAD"], capture_output=True, text=True)
    if r.returncode == 0:
        return r.stdout.strip(), "git rev-parse"
    return "unknown", None


# ----------------------------------------------------------------------------------------------------------------
# Stubs for the reference's optional third-party imports (child process only).

class StopBenchmark(Exception):
    """Raised from the wandb stub once the train_fn driver has its steps."""


class _StepRecorder:
    def __init__(self):
        self.stop_after = None  # number of train-step log calls after which to stop the run
        self.sync = lambda: None
        self.times, self.losses, self.n_log_calls = [], [], 0

    def log(self, metrics, step=None, **_):
        self.n_log_calls += 1
        if self.stop_after is None or "train/loss" not in metrics:
            return
        self.sync()
        self.times.append(time.perf_counter())
        self.losses.append(float(metrics["train/loss"]))
        if len(self.times) >= self.stop_after:
            raise StopBenchmark()


RECORDER = _StepRecorder()


def _module(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    m.__file__ = f"<stub {name} from reference_throughput.py>"
    return m


def install_stubs():
    """wandb and transformers: always stubbed (no logging service; the HF wrapper is not used in training and
    transformers' API moves between major versions). simple_parsing: the real one when installed."""
    stubbed = []

    class _Run:
        def watch(self, *a, **k): pass
        def log(self, *a, **k): RECORDER.log(*a, **k)
        def finish(self, *a, **k): pass

    class _Artifact:
        def __init__(self, *a, **k): pass
        def add_file(self, *a, **k): pass
        def save(self, *a, **k): pass

    sys.modules["wandb"] = _module("wandb", init=lambda *a, **k: _Run(), log=RECORDER.log,
                                   finish=lambda *a, **k: None, Artifact=_Artifact,
                                   Histogram=lambda *a, **k: None)
    stubbed.append("wandb")

    class PretrainedConfig:
        def __init__(self, **kwargs):
            self.__dict__.update(kwargs)

    class PreTrainedModel:
        def __init__(self, *a, **k): pass

    class GenerationMixin: pass

    class PushToHubMixin: pass

    class CausalLMOutput(dict): pass

    mods = {
        "transformers": {},
        "transformers.configuration_utils": dict(PretrainedConfig=PretrainedConfig),
        "transformers.generation": {},
        "transformers.generation.utils": dict(GenerationMixin=GenerationMixin),
        "transformers.modeling_outputs": dict(CausalLMOutput=CausalLMOutput),
        "transformers.modeling_utils": dict(PreTrainedModel=PreTrainedModel),
        "transformers.utils": {},
        "transformers.utils.hub": dict(PushToHubMixin=PushToHubMixin),
    }
    for name, attrs in mods.items():
        sys.modules[name] = _module(name, **attrs)
    stubbed.append("transformers")

    try:
        import simple_parsing  # noqa: F401
    except ImportError:
        class Serializable:
            def to_dict(self):
                return dataclasses.asdict(self) if dataclasses.is_dataclass(self) else dict(vars(self))

            def dumps_json(self, **kw):
                return json.dumps(self.to_dict(), default=str, **kw)

            def dumps_yaml(self, **kw):
                return json.dumps(self.to_dict(), default=str, indent=2)

        def subgroups(mapping, default_factory=None, default=None, **_):
            if default_factory is not None:
                return dataclasses.field(default_factory=default_factory)
            return dataclasses.field(default=default)

        def field(*a, **k):
            k = {key: v for key, v in k.items() if key in ("default", "default_factory", "init", "repr", "compare",
                                                           "hash", "metadata", "kw_only")}
            return dataclasses.field(*a, **k)

        def parse(*a, **k):
            raise RuntimeError("simple_parsing is stubbed: command-line parsing is not available")

        sys.modules["simple_parsing"] = _module(
            "simple_parsing", Serializable=Serializable, subgroups=subgroups, field=field, parse=parse,
            ArgumentGenerationMode=types.SimpleNamespace(FLAT="flat", NESTED="nested", BOTH="both"))
        stubbed.append("simple_parsing")
    return stubbed


def import_reference(ref_dir):
    ref_dir = str(Path(ref_dir).resolve())
    marker = Path(ref_dir) / "projects" / "skip_middle" / "train" / "train.py"
    if not marker.is_file():
        raise SystemExit(f"reference_throughput: {marker} not found: --reference-dir must be an export of "
                         "tim-lawson/skip-middle (bash ci/gpu/fetch_reference.sh makes .reference/skip-middle)")
    stubbed = install_stubs()
    sys.path.insert(0, ref_dir)
    try:
        import numpy  # noqa: F401  (the reference's data loader needs it)
    except ImportError as e:
        raise SystemExit("reference_throughput: numpy is required (the reference's lab/train/data.py "
                         f"imports it): {e}")
    import importlib
    R = types.SimpleNamespace(stubbed=stubbed, dir=ref_dir)
    R.train_mod = importlib.import_module("projects.skip_middle.train.train")  # train(), autocast
    R.train_fineweb = importlib.import_module("projects.skip_middle.train_fineweb")  # FineWebTrainConfig
    R.model = importlib.import_module("projects.skip_middle.model")  # Transformer, ModelConfig, get_optimizers
    R.gc = importlib.import_module("projects.skip_middle.gate_controller")
    R.gate_metrics = importlib.import_module("projects.skip_middle.gate_metrics")
    R.data = importlib.import_module("lab.train.data")
    R.sched = importlib.import_module("lab.train.schedulers")
    R.utils = importlib.import_module("lab.train.utils")
    R.lab_utils = importlib.import_module("lab.utils")
    return R


# ----------------------------------------------------------------------------------------------------------------
# Data: shards in the reference's (modded-nanogpt / llm.c) format, read by its own DistributedDataLoader.

def write_shard(path, n_tokens, vocab_size, seed):
    import numpy as np
    header = np.zeros(256, dtype=np.int32)
    header[0], header[1], header[2] = 20240520, 1, n_tokens  # magic, version, token count
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, vocab_size, size=n_tokens, dtype=np.uint16)
    with open(path, "wb") as f:
        f.write(header.tobytes())
        f.write(tokens.tobytes())


def make_config(R, spec, workdir):
    """The reference's FineWebTrainConfig (its defaults: AdamW lr 1e-3, betas (0.8, 0.95), eps 1e-10, wd 0 for
    all three groups; LinearCosine scheduler warm-up 0.1, start 0.1), with the variant's flags as the released
    launch scripts pass them, and data pointing at synthetic (or given) shards."""
    s = spec["shape"]
    cfg = R.train_fineweb.FineWebTrainConfig()
    cfg.model = R.model.ModelConfig(dim=s["dim"], n_layers=s["n_layers"], n_heads=s["n_heads"],
                                    vocab_size=s["vocab_size"], max_seq_len=s["max_seq_len"],
                                    zero_init_masks=(spec["variant"] == "dense"))
    cfg.data.device_batch_size = s["device_batch_size"]
    cfg.data.batch_size = s["batch_size"]
    if spec["variant"] == "gated":
        cfg.gates = R.gc.ProportionalGateControllerConfig(mean_target_start=1.0, mean_target_end=0.5,
                                                          coef_update_multiplier=1e-3)
    else:
        cfg.gates = R.gc.DummyGateControllerConfig()
    cfg.seed = spec["seed"]
    cfg.logdir = os.path.join(workdir, "logs")
    cfg.run_id = "reference-throughput"
    cfg.val_every_steps = 0  # validation only at the last step, which a benchmark never reaches
    cfg.save_every_steps = -1
    cfg.log_every_steps = 1  # the released default: metrics (and their .item() calls) every step

    mb_tokens = s["device_batch_size"] * s["max_seq_len"]
    step_tokens = s["batch_size"] * s["max_seq_len"]
    if spec["tokens"]:
        cfg.data.train_files = spec["tokens"]
        data_desc = f"token shards {spec['tokens']} (reference DistributedDataLoader)"
    else:
        # one more step than needed, so train_steps (derived from the shard size) exceeds warm-up + measured
        n = (spec["warmup"] + spec["steps"] + 1) * step_tokens + 1
        write_shard(os.path.join(workdir, "train_000000.bin"), n, s["vocab_size"], spec["seed"])
        cfg.data.train_files = os.path.join(workdir, "train_*.bin")
        data_desc = (f"synthetic shard of {n} uniform random tokens in [0, {s['vocab_size']}) "
                     "(reference DistributedDataLoader)")
    write_shard(os.path.join(workdir, "val_000000.bin"), mb_tokens + 1, s["vocab_size"], spec["seed"] + 1)
    cfg.data.val_files = os.path.join(workdir, "val_*.bin")
    return cfg, data_desc


# ----------------------------------------------------------------------------------------------------------------
# Drivers (child process).

def describe_optimizer(opt):
    groups = [{"n_params": len(g["params"]), "lr_initial": g.get("initial_lr", g["lr"]), "betas": list(g["betas"]),
               "eps": g["eps"], "weight_decay": g["weight_decay"]} for g in opt.param_groups]
    return {"class": f"{type(opt).__module__}.{type(opt).__qualname__}", "fused": opt.defaults.get("fused"),
            "foreach": opt.defaults.get("foreach"), "groups": groups}


def run_step_loop(R, spec, cfg, dev, torch):
    """as_released / compiled: the step of projects/skip_middle/train/train.py (lines 148-214 at 9b21b2d),
    re-driven here with the reference's own objects and order of operations, timed per step with device syncs."""
    on_cuda = dev.type == "cuda"
    sync = torch.cuda.synchronize if on_cuda else (lambda: None)
    R.utils.seed_everything(cfg.seed, cudnn=False)
    model = R.model.Transformer(cfg.model, device=dev)
    model = model.to(dev)
    model.apply(model._init_weights)
    optimizer = R.model.get_optimizers(model, cfg.optimizer)
    schedulers = [R.sched.get_linear_cosine_scheduler(optimizer, cfg.scheduler, cfg.train_steps)]
    controller = R.gc.get_gate_controller(cfg.gates, cfg.model.n_layers, dev)
    loader = R.data.DistributedDataLoader(cfg.data.train_files, cfg.data.device_batch_size, cfg.model.max_seq_len,
                                          0, 1, cuda=on_cuda)
    loader.reset()
    autocast = R.train_mod.autocast  # the module-level torch.amp.autocast("cuda", bfloat16) object
    forward = torch.compile(model) if spec["mode"] == "compiled" else model
    gated = not cfg.model.zero_init_masks
    grad_acc = cfg.grad_acc_steps
    GateMetrics, cross_entropy = R.gate_metrics.GateMetrics, R.lab_utils.cross_entropy
    wandb = sys.modules["wandb"]

    def one_step(step):
        train_loss = torch.zeros(1, device=dev)
        metrics = GateMetrics(cfg.model.n_layers, cfg.gates_zero_eps, dev, False) if gated else None
        for _ in range(grad_acc):
            with autocast:
                inputs, labels = loader.next_batch()  # two blocking (pageable) host-to-device copies
                logits, info = forward(inputs)
                loss = cross_entropy(logits, labels)
                loss += controller.loss(info.gates)
            loss.backward()
            train_loss += loss.detach()
            if metrics is not None:
                metrics.update(info.masks, info.gates, info.hidden_states)
        for p in model.parameters():  # not distributed: no all_reduce; then the manual average
            p.grad /= grad_acc
        optimizer.step()
        for sc in schedulers:
            sc.step()
        model.zero_grad(set_to_none=True)
        train_loss /= grad_acc
        if metrics is not None:
            metrics.compute()
            controller.update(metrics.gates_mean, metrics.gates_var)
        if spec["logging"]:  # rank 0's per-step print and wandb metrics (log_every_steps = 1), minus wandb itself
            line = f"step:{step}/{cfg.train_steps} train_loss:{train_loss.item():.4f}"
            log = {"train/num_tokens": step * cfg.batch_tokens, "train/loss": train_loss.item(),
                   "train/lr/default": optimizer.param_groups[0]["lr"],
                   "train/lr/masks": optimizer.param_groups[1]["lr"],
                   "train/lr/norms": optimizer.param_groups[2]["lr"]}
            if metrics is not None:
                log.update(metrics.to_dict("train/"))
                log.update(controller.to_dict("train/controller/"))
            wandb.log(log, step=step)
            return line, log["train/loss"]
        return None, None

    times, losses = [], []
    total = spec["warmup"] + spec["steps"]
    for step in range(total):
        sync()
        t0 = time.perf_counter()
        line, loss = one_step(step)
        sync()
        dt = time.perf_counter() - t0
        times.append(dt)
        losses.append(loss)
        if line is not None and spec["print_steps"]:
            print(f"  [{spec['variant']}/{spec['mode']}] {line} step_time:{dt * 1e3:.1f}ms", file=sys.stderr,
                  flush=True)
    extra = {}
    if spec["mode"] == "compiled":
        from torch._dynamo.utils import counters
        extra["dynamo"] = {"unique_graphs": counters["stats"].get("unique_graphs"),
                           "graph_breaks": sum(counters["graph_break"].values())}
    extra.update({"optimizer": describe_optimizer(optimizer),
             "n_params": sum(p.numel() for p in model.parameters()),
             "param_dtypes": sorted({str(p.dtype) for p in model.parameters()}),
             "controller": type(controller).__name__, "grad_acc_steps": grad_acc,
             "scheduler_train_steps": cfg.train_steps})
    return times[spec["warmup"]:], [x for x in losses if x is not None], extra


def run_train_fn(R, spec, cfg, dev, torch, workdir):
    """train_fn: the reference's train(config) itself. Its initialize_logs() broadcasts the log directory with
    torch.distributed even in a single-process run, so a one-process gloo group is created first (the run stays
    non-distributed: no LOCAL_RANK, so initialize_ddp() returns is_distributed=False and no gradient all_reduce,
    as a plain one-GPU run). Per-step times are the gaps between its per-step wandb.log calls (the stub
    synchronizes the device first), i.e. whole released steps including its print and metric .item() calls."""
    import torch.distributed as dist
    on_cuda = dev.type == "cuda"
    if not on_cuda and not spec["cpu_emulate_cuda"]:
        raise RuntimeError("train_fn needs CUDA (the released train() hard-codes it); on CPU only with "
                           "--cpu-emulate-cuda (a code-path check, not a measurement)")
    if spec["cpu_emulate_cuda"] and not on_cuda:
        # test-only: let the CUDA-only train() run on CPU (device "cpu", .cuda() and synchronize as no-ops)
        R.train_mod.initialize_ddp = lambda: R.utils.DDP(0, 1, "cpu", True, False)
        torch.cuda.synchronize = lambda *a, **k: None
        torch.Tensor.cuda = lambda self, *a, **k: self
    RECORDER.sync = torch.cuda.synchronize if on_cuda else (lambda: None)
    RECORDER.stop_after = spec["warmup"] + spec["steps"]
    if cfg.train_steps <= RECORDER.stop_after:
        raise RuntimeError(f"train_steps {cfg.train_steps} from the token files is too few for "
                           f"{RECORDER.stop_after} steps")
    for k in ("LOCAL_RANK", "RANK", "WORLD_SIZE"):
        os.environ.pop(k, None)
    dist.init_process_group("gloo", init_method=f"file://{workdir}/pg_store", rank=0, world_size=1)
    stopped = False
    try:
        with contextlib.redirect_stdout(sys.stderr):
            R.train_mod.train(cfg)
    except StopBenchmark:
        stopped = True
    finally:
        dist.destroy_process_group()
    if not stopped:
        raise RuntimeError("train() returned before the benchmark had its steps")
    t = RECORDER.times  # t[k]: end of step k (its wandb.log); step 0 has no start mark and is warm-up
    gaps = [b - a for a, b in zip(t, t[1:])]  # gaps[k-1] = step k
    measured = gaps[spec["warmup"] - 1:]
    extra = {"grad_acc_steps": cfg.grad_acc_steps, "scheduler_train_steps": cfg.train_steps,
             "wandb_log_calls": RECORDER.n_log_calls,
             "cpu_emulate_cuda": bool(spec["cpu_emulate_cuda"]) and not on_cuda}
    return measured, RECORDER.losses, extra


def child_main(spec_path, result_path):
    spec = json.loads(Path(spec_path).read_text())
    res = {"variant": spec["variant"], "mode": spec["mode"], "status": "failed"}
    try:
        import torch
        R = import_reference(spec["reference_dir"])
        res["reference_stubbed_modules"] = R.stubbed
        if spec["device"] == "auto":
            dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        else:
            dev = torch.device(spec["device"])
        res["device"] = device_info(torch, dev)
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        s = spec["shape"]
        with tempfile.TemporaryDirectory(prefix="refbench-") as workdir:
            cfg, data_desc = make_config(R, spec, workdir)
            autocast = R.train_mod.autocast
            settings = {
                "driver": "reference train()" if spec["mode"] == "train_fn" else "reference_throughput.py step loop",
                "as_released": spec["mode"] != "compiled",
                "torch_compile": spec["mode"] == "compiled",
                **s, "n_kv_heads": cfg.model.n_kv_heads, "ffn_hidden": 4 * s["dim"],
                "zero_init_masks": cfg.model.zero_init_masks,
                "controller_config": type(cfg.gates).__name__,
                "controller_options": dataclasses.asdict(cfg.gates) if dataclasses.is_dataclass(cfg.gates) else {},
                "tokens_per_micro_batch": s["device_batch_size"] * s["max_seq_len"],
                "tokens_per_step": s["batch_size"] * s["max_seq_len"],
                "autocast": {"device_type": getattr(autocast, "device", None),
                             "dtype": str(getattr(autocast, "fast_dtype", None)),
                             "enabled": bool(getattr(autocast, "_enabled", False)) and dev.type == "cuda"},
                "data": data_desc, "warmup_steps": spec["warmup"], "measured_steps": spec["steps"],
                "per_step_logging": spec["logging"] if spec["mode"] != "train_fn" else True,
                "seed": spec["seed"],
                "PYTORCH_CUDA_ALLOC_CONF": os.environ.get("PYTORCH_CUDA_ALLOC_CONF"),
                "attention": "eager: QK^T (bf16 under autocast) + additive fp32 [B,1,T,T] mask (causal + ln gate, "
                             "query-indexed), softmax in fp32, cast back, P.V "
                             "(lab/components/attention/grouped_query_attention.py)",
            }
            res["settings"] = settings
            if spec["mode"] == "train_fn":
                times, losses, extra = run_train_fn(R, spec, cfg, dev, torch, workdir)
            else:
                times, losses, extra = run_step_loop(R, spec, cfg, dev, torch)
            settings.update(extra)
        tokens_per_step = s["batch_size"] * s["max_seq_len"]
        med = statistics.median(times)
        res.update({
            "status": "ok",
            "step_s": {"median": med, "p10": percentile(times, 10), "p90": percentile(times, 90),
                       "mean": statistics.fmean(times), "min": min(times), "max": max(times), "all": times},
            "tokens_per_s": tokens_per_step / med,
            "loss_first": losses[0] if losses else None, "loss_last": losses[-1] if losses else None,
            "losses": losses,  # train loss of every step, warm-up included
        })
    except BaseException as e:  # noqa: BLE001 (report every failure, OOM included, as data)
        name = type(e).__name__
        res["status"] = "oom" if "OutOfMemory" in name else "failed"
        res["error"] = f"{name}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
        res["traceback_tail"] = traceback.format_exc().strip().splitlines()[-12:]
        print(traceback.format_exc(), file=sys.stderr)
    finally:
        try:
            import torch
            if torch.cuda.is_available() and torch.cuda.is_initialized():
                res["memory"] = {"max_allocated_bytes": torch.cuda.max_memory_allocated(),
                                 "max_reserved_bytes": torch.cuda.max_memory_reserved()}
        except Exception:  # noqa: BLE001
            pass
        Path(result_path).write_text(json.dumps(finite_json(res)))
    return 0 if res["status"] == "ok" else 1


def device_info(torch, dev):
    info = {"type": dev.type, "torch": torch.__version__, "cuda": torch.version.cuda,
            "python": platform.python_version(), "host_cpu": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count()}
    if dev.type == "cuda":
        p = torch.cuda.get_device_properties(dev)
        info.update({"name": torch.cuda.get_device_name(dev), "capability": f"{p.major}.{p.minor}",
                     "multiprocessors": p.multi_processor_count, "total_memory_bytes": p.total_memory,
                     "cudnn": torch.backends.cudnn.version()})
    else:
        info["name"] = f"CPU ({platform.machine()}, {os.cpu_count()} logical cores)"
        info["threads"] = torch.get_num_threads()
    return info


# ----------------------------------------------------------------------------------------------------------------
# Parent: one subprocess per (variant, mode), then one JSON.

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference-dir", default=".reference/skip-middle",
                    help="export of tim-lawson/skip-middle (ci/gpu/fetch_reference.sh)")
    ap.add_argument("--variants", default="dense,gated", help=f"comma list of {', '.join(VARIANTS)}")
    ap.add_argument("--modes", default="as_released,train_fn",
                    help=f"comma list of {', '.join(MODES)} (train_fn: CUDA only unless --cpu-emulate-cuda; "
                         "compiled is not as released)")
    ap.add_argument("--warmup", type=int, default=None, help="warm-up optimizer steps, not timed (default 3; smoke 1)")
    ap.add_argument("--steps", type=int, default=None, help="measured optimizer steps (default 10; smoke 2)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny model on any device (4 layers, dim 64, seq 64, micro-batch 2, batch 4)")
    for k in ("dim", "n_layers", "n_heads", "vocab_size", "max_seq_len", "device_batch_size", "batch_size"):
        ap.add_argument("--" + k.replace("_", "-"), type=int, default=None, help=f"override {k}")
    ap.add_argument("--tokens", default="", help="glob of token shards (modded-nanogpt/llm.c .bin format) instead "
                                                  "of random tokens")
    ap.add_argument("--device", default="auto", help="auto, cuda or cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-logging", action="store_true",
                    help="drop the released per-step print/metrics (.item() calls) from the as_released/compiled "
                         "step (not as released)")
    ap.add_argument("--print-steps", action="store_true", help="print each step's loss and time to stderr")
    ap.add_argument("--alloc-conf", default=RELEASED_ALLOC_CONF,
                    help="PYTORCH_CUDA_ALLOC_CONF for the runs (the released scripts' value; '' for none)")
    ap.add_argument("--flops-per-token", type=float, default=None,
                    help=f"training FLOPs per token for MFU (default: {PAPER_FLOPS_PER_TOKEN:.9e} for the paper "
                         "shape, else skipbench's standard-mode formula for the shape)")
    ap.add_argument("--peak-flops", type=float, default=None, help="peak FLOP/s for MFU (default: device table)")
    ap.add_argument("--out", default="", help="also write the JSON here")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per run")
    ap.add_argument("--cpu-emulate-cuda", action="store_true",
                    help="test only: let train_fn's CUDA-only train() run on CPU (a code-path check; implied by "
                         "--smoke when the run is on CPU)")
    ap.add_argument("--_child", nargs=2, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    if a._child:
        return child_main(*a._child)
    ref_dir = Path(a.reference_dir)
    if not (ref_dir / "projects" / "skip_middle" / "train" / "train.py").is_file():
        print(f"reference_throughput: no reference export at {ref_dir}: run `bash ci/gpu/fetch_reference.sh` "
              "(and carry .reference to the GPU machine)", file=sys.stderr)
        return 2
    variants = [v for v in a.variants.split(",") if v]
    modes = [m for m in a.modes.split(",") if m]
    bad = [v for v in variants if v not in VARIANTS] + [m for m in modes if m not in MODES]
    if bad or not variants or not modes:
        print(f"reference_throughput: unknown or empty --variants/--modes: {bad}", file=sys.stderr)
        return 2
    shape = dict(SMOKE_SHAPE if a.smoke else PAPER_SHAPE)
    for k in shape:
        if getattr(a, k) is not None:
            shape[k] = getattr(a, k)
    if shape["batch_size"] % shape["device_batch_size"] or shape["n_layers"] % 2 or shape["dim"] % shape["n_heads"]:
        print("reference_throughput: need batch_size % device_batch_size == 0, even n_layers (the reference "
              "crashes on odd ones) and dim % n_heads == 0", file=sys.stderr)
        return 2
    warmup = a.warmup if a.warmup is not None else (1 if a.smoke else 3)
    steps = a.steps if a.steps is not None else (2 if a.smoke else 10)
    if warmup < 1 or steps < 1:
        print("reference_throughput: need --warmup >= 1 (train_fn times step k from step k-1's end) and --steps >= 1",
              file=sys.stderr)
        return 2
    commit, commit_src = reference_commit(ref_dir)
    is_paper = all(shape[k] == PAPER_SHAPE[k] for k in ("dim", "n_layers", "n_heads", "vocab_size", "max_seq_len"))
    if a.flops_per_token is not None:
        fpt, fpt_src = a.flops_per_token, "--flops-per-token"
    elif is_paper:
        fpt, fpt_src = PAPER_FLOPS_PER_TOKEN, "skipbench flops --config configs/paper-12l.json --mode standard"
    else:
        fpt = standard_flops_per_token(shape["dim"], shape["n_layers"], shape["max_seq_len"], shape["vocab_size"])
        fpt_src = "skipbench standard-mode formula for this shape (harness/model/flops.h)"

    env = dict(os.environ)
    if a.alloc_conf:
        env["PYTORCH_CUDA_ALLOC_CONF"] = a.alloc_conf
    else:
        env.pop("PYTORCH_CUDA_ALLOC_CONF", None)
    env.setdefault("PYTHONUNBUFFERED", "1")
    runs = []
    with tempfile.TemporaryDirectory(prefix="refbench-parent-") as tmp:
        for variant in variants:
            for mode in modes:
                spec = {"reference_dir": str(ref_dir.resolve()), "variant": variant, "mode": mode, "shape": shape,
                        "warmup": warmup, "steps": steps, "tokens": a.tokens, "device": a.device, "seed": a.seed,
                        "logging": not a.no_logging, "print_steps": a.print_steps,
                        "cpu_emulate_cuda": a.cpu_emulate_cuda or a.smoke}  # (only where no GPU is used)
                sp, rp = os.path.join(tmp, f"{variant}-{mode}.spec"), os.path.join(tmp, f"{variant}-{mode}.json")
                Path(sp).write_text(json.dumps(spec))
                print(f"reference_throughput: {variant} / {mode} ...", file=sys.stderr, flush=True)
                t0 = time.perf_counter()
                try:
                    rc = subprocess.run([sys.executable, os.path.abspath(__file__), "--_child", sp, rp], env=env,
                                        timeout=a.timeout).returncode
                except subprocess.TimeoutExpired:
                    rc = "timeout"
                wall = time.perf_counter() - t0
                if os.path.exists(rp):
                    r = json.loads(Path(rp).read_text())
                else:
                    r = {"variant": variant, "mode": mode, "status": "failed",
                         "error": f"run ended without a result (exit {rc})"}
                r["wall_s"] = wall
                runs.append(r)

    device = next((r["device"] for r in runs if "device" in r), {})
    peak, peak_src = (a.peak_flops, "--peak-flops") if a.peak_flops else \
        (peak_flops_for(device.get("name")) if device.get("type") == "cuda" else (None, "no GPU"))
    for r in runs:
        if r.get("status") == "ok":
            r["achieved_flops"] = r["tokens_per_s"] * fpt
            r["mfu"] = r["achieved_flops"] / peak if peak else None
    # the two drivers of the same variant see the same seed and tokens: their per-step losses should agree
    # (bit for bit on CPU; on CUDA up to non-deterministic kernels), which checks that as_released is the
    # released step
    cross_checks = []
    for variant in variants:
        by_mode = {r["mode"]: r for r in runs if r["variant"] == variant and r.get("status") == "ok"}
        if "as_released" in by_mode and "train_fn" in by_mode:
            x, y = by_mode["as_released"]["losses"], by_mode["train_fn"]["losses"]
            n = min(len(x), len(y))
            cross_checks.append({"variant": variant, "compare": "as_released vs train_fn losses", "steps": n,
                                 "max_abs_diff": max(abs(p - q) for p, q in zip(x[:n], y[:n])) if n else None,
                                 "median_step_ratio": by_mode["as_released"]["step_s"]["median"]
                                 / by_mode["train_fn"]["step_s"]["median"]})
    git = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.abspath(__file__)))
    doc = {
        "schema": SCHEMA, "schema_version": SCHEMA_VERSION,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": [sys.executable] + sys.argv,
        "skipbench_commit": git.stdout.strip() if git.returncode == 0 else None,
        "reference": {"repo": "github.com/tim-lawson/skip-middle", "dir": str(ref_dir), "commit": commit,
                      "commit_source": commit_src,
                      "stubbed_modules": next((r["reference_stubbed_modules"] for r in runs
                                               if "reference_stubbed_modules" in r), None)},
        "device": device,
        "smoke": a.smoke,
        "shape": shape,
        "mfu_inputs": {"flops_per_token": fpt, "flops_per_token_source": fpt_src, "peak_flops": peak,
                       "peak_flops_source": peak_src,
                       "definition": "MFU = tokens/s (median step) x training FLOPs per token / peak"},
        "runs": runs,
        "cross_checks": cross_checks,
    }
    text = json.dumps(finite_json(doc), indent=2, allow_nan=False)
    print(text)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text + "\n")
    # human summary
    print(f"\nreference {commit[:12]} on {device.get('name', '?')} (torch {device.get('torch', '?')}), "
          f"{shape['n_layers']}L d{shape['dim']} T{shape['max_seq_len']} micro-batch {shape['device_batch_size']} "
          f"batch {shape['batch_size']}, {steps} measured steps after {warmup}:", file=sys.stderr)
    print(f"{'variant':<10} {'mode':<12} {'status':<7} {'tok/s':>12} {'step ms med':>12} {'p10':>9} {'p90':>9} "
          f"{'MFU':>6} {'max alloc GiB':>14}", file=sys.stderr)
    for r in runs:
        st = r.get("step_s") or {}
        mem = (r.get("memory") or {}).get("max_allocated_bytes")
        print(f"{r['variant']:<10} {r['mode']:<12} {r['status']:<7} "
              f"{r.get('tokens_per_s', float('nan')):>12,.0f} {st.get('median', float('nan')) * 1e3:>12.1f} "
              f"{st.get('p10', float('nan')) * 1e3:>9.1f} {st.get('p90', float('nan')) * 1e3:>9.1f} "
              f"{(r.get('mfu') or float('nan')) * 100:>5.1f}% "
              f"{(mem / 2**30 if mem else float('nan')):>14.2f}"
              + (f"  {r.get('error', '')}" if r["status"] != "ok" else ""), file=sys.stderr)
    for c in cross_checks:
        diff = "n/a (no losses: --no-logging)" if c["max_abs_diff"] is None else f"{c['max_abs_diff']:.3g}"
        print(f"cross-check {c['variant']}: {c['compare']} over {c['steps']} steps: max |diff| {diff}; "
              f"median step time as_released / train_fn {c['median_step_ratio']:.3f}", file=sys.stderr)
    return 0 if all(r.get("status") == "ok" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
