"""The report's figures (matplotlib, Agg): each written as SVG (fonts as paths, deterministic ids) and 150 dpi PNG.

Only completed runs are drawn. Markers and error bars are per configuration (a run name: its seeds): the mean over
completed seeds and +-1 sample std (no bar with one seed). Colours: Okabe-Ito (colour-blind safe), each
configuration also with its own marker; the dense frontier is black.
"""
import io
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import (FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter,  # noqa: E402
                               NullLocator)

from .common import write_atomic  # noqa: E402
from .stats import t_quantile  # noqa: E402
from .suite import run_curves  # noqa: E402

# Okabe-Ito without black (the dense frontier) and yellow (too pale on white); with the 10 markers every
# configuration up to 30 gets its own (colour, marker) pair.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "*"]
MAX_CURVE_POINTS = 1000
FIGSIZE = (7.4, 4.6)
LOSS_LABEL = "final validation loss (cross-entropy, nats/token)"
ERRBAR_NOTE = "mean ± 1 std over seeds"

plt.rcParams.update({
    "font.family": "DejaVu Sans", "font.size": 10, "axes.labelsize": 10.5, "axes.titlesize": 11.5,
    "legend.fontsize": 8.5, "legend.title_fontsize": 8.5, "xtick.labelsize": 9, "ytick.labelsize": 9,
    "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6, "axes.spines.top": False,
    "axes.spines.right": False, "svg.hashsalt": "skipbench-report", "svg.fonttype": "path",
    "savefig.dpi": 150, "figure.dpi": 100, "lines.linewidth": 1.5, "errorbar.capsize": 3,
})


LINESTYLES = ["-", (0, (5, 2)), (0, (1, 1.5)), (0, (6, 2, 1, 2))]


def styles_for(groups):
    """A stable (colour, marker, train-line style) per configuration name: non-dense configurations first (they
    share the loss-vs-cost plots with the black dense line), then dense ones, each in suite order. Colours repeat
    after 6; the marker and, in the loss curves, the line style tell repeats apart."""
    order = [g for g in groups if g["role"] != "dense"] + [g for g in groups if g["role"] == "dense"]
    n = len(OKABE_ITO)
    return {g["name"]: (OKABE_ITO[i % n], MARKERS[i % len(MARKERS)], LINESTYLES[(i // n) % len(LINESTYLES)])
            for i, g in enumerate(order)}


def _flop_unit(v):
    for e, name in ((18, "EFLOP"), (15, "PFLOP"), (12, "TFLOP"), (9, "GFLOP"), (6, "MFLOP"), (3, "kFLOP")):
        if v >= 10 ** e:
            return 10.0 ** e, name
    return 1.0, "FLOP"


def _time_unit(v):
    if v >= 3 * 3600:
        return 3600.0, "h"
    if v >= 180:
        return 60.0, "min"
    return 1.0, "s"


def _nan(xs):
    """None (a non-finite value in the JSON) -> NaN, which matplotlib leaves out."""
    return [math.nan if v is None else v for v in xs]


def _fmt(v, _pos=None):
    return f"{v:.3g}"


def _log_axis(ax, lo, hi):
    """Log x axis; over less than a decade, ticks at round linear values (a log axis would show one or none)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_fmt))
    if hi / max(lo, 1e-300) < 10:
        ticks = [t for t in MaxNLocator(nbins=7, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi) if t > 0]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
    elif hi / lo < 1000:
        ax.xaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
        ax.xaxis.set_minor_formatter(FuncFormatter(_fmt))
    else:
        ax.xaxis.set_minor_formatter(NullFormatter())


def _save(fig, out_dir, fid):
    files = {}
    for ext, kw in (("svg", {"metadata": {"Date": None}}), ("png", {"dpi": 150}),
                    ("pdf", {"metadata": {"CreationDate": None, "ModDate": None}})):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, bbox_inches="tight", pad_inches=0.08, **kw)
        write_atomic(os.path.join(out_dir, f"{fid}.{ext}"), buf.getvalue())
        files[ext] = f"figures/{fid}.{ext}"
    plt.close(fig)
    return files


def _legend_outside(ax, handles=None, title=None):
    kw = {"handles": handles} if handles is not None else {}
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, title=title, borderaxespad=0, **kw)


def _n_label(g):
    n = g["n_completed"]
    return f"{g['name']} (n={n})"


# ----------------------------------------------------------------------------- loss vs cost


def fig_loss_vs(groups, styles, out_dir, fid, metric, xlabel, kind, title):
    """Validation loss against a cost metric (aggregate stats key). kind: 'flops' (log axis), 'time' (seconds,
    shown in s/min/h), or any other string: the metric's own unit, unscaled."""
    pts = [g for g in groups if g["n_completed"] > 0 and g["stats"][metric]["mean"] is not None
           and g["stats"]["val_loss"]["mean"] is not None and g["stats"][metric]["mean"] > 0]
    if not pts:
        return None, f"no completed run has both a final validation loss and {metric.replace('_', ' ')}"
    xmax = max(g["stats"][metric]["max"] for g in pts)
    scale, unit = (_flop_unit(xmax) if kind == "flops" else _time_unit(xmax) if kind == "time" else (1.0, kind))
    fig, ax = plt.subplots(figsize=FIGSIZE)
    dense = [g for g in pts if g["role"] == "dense"]
    ctxs = {}
    for g in dense:
        ctxs.setdefault((g["norm"], g["dim"]), []).append(g)
    handles = []
    greys = ["#000000", "#666666", "#999999"]
    for i, (ctx, gs) in enumerate(sorted(ctxs.items(), key=lambda kv: str(kv[0]))):
        gs.sort(key=lambda g: g["stats"][metric]["mean"])
        xs = [g["stats"][metric]["mean"] / scale for g in gs]
        ys = [g["stats"]["val_loss"]["mean"] for g in gs]
        ye = [g["stats"]["val_loss"]["std"] or 0.0 for g in gs]
        xe = [(g["stats"][metric]["std"] or 0.0) / scale for g in gs]
        col = greys[i % len(greys)]
        lab = "dense frontier" + (f" (norm={ctx[0]}, dim={ctx[1]})" if len(ctxs) > 1 else "")
        lab += f", {len(gs)} depths"
        h = ax.errorbar(xs, ys, yerr=ye, xerr=xe, color=col, marker="o", ms=5, lw=1.6, ls="-", label=lab, zorder=3)
        handles.append(h)
        for g, x, y in zip(gs, xs, ys):
            ax.annotate(f"L={g['n_layers']}", (x, y), textcoords="offset points", xytext=(7, -4), fontsize=8.5,
                        color=col, va="top", bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none",
                                                   "alpha": 0.85}, zorder=5)
    for g in pts:
        if g["role"] == "dense":
            continue
        c, m, _ = styles[g["name"]]
        x = g["stats"][metric]["mean"] / scale
        xe = (g["stats"][metric]["std"] or 0.0) / scale
        y, ye = g["stats"]["val_loss"]["mean"], g["stats"]["val_loss"]["std"] or 0.0
        h = ax.errorbar([x], [y], xerr=[xe], yerr=[ye], color=c, marker=m, ms=7, ls="none", mec="black", mew=0.5,
                        label=_n_label(g), zorder=4)
        handles.append(h)
    if kind == "flops":
        xv = [g["stats"][metric]["min"] / scale for g in pts] + [g["stats"][metric]["max"] / scale for g in pts]
        _log_axis(ax, min(xv), max(xv))
    ax.set_xlabel(f"{xlabel} [{unit}]")
    ax.set_ylabel(LOSS_LABEL)
    ax.set_title(title)
    _legend_outside(ax, handles, title=ERRBAR_NOTE)
    note = None if dense else "no completed dense runs: no frontier line"
    return _save(fig, out_dir, fid), note


# ----------------------------------------------------------------------------- fitted frontier


def _mean_ci(st):
    """Half-width of the 95% t interval of a mean from describe() stats; 0 with one seed."""
    if st["std"] is None or st["n"] < 2:
        return 0.0
    return t_quantile(0.975, st["n"] - 1) * st["std"] / math.sqrt(st["n"])


def fig_frontier_fit(groups, styles, out_dir, fid, claim5):
    """(a) The fitted dense frontier with its pointwise 95% band, dense and gated means with 95% intervals;
    (b) each gated configuration's compute multiplier with its interval (1 = no gain)."""
    det = (claim5 or {}).get("evidence", {}).get("details") or {}
    curves, comps = det.get("frontiers") or [], det.get("comparisons") or []
    if not curves:
        return None, "fewer than 2 dense depths of one norm and width: no frontier to fit"
    by = {g["name"]: g for g in groups}
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(FIGSIZE[0] * 1.35, FIGSIZE[1]),
                                 gridspec_kw={"width_ratios": [1.6, 1]})
    allx = [p["flops"] for c in curves for p in c["points"]] + [d["flops_per_token"] for d in comps
                                                                  if d.get("flops_per_token")]
    scale, unit = _flop_unit(max(allx))
    handles = []
    greys = ["#000000", "#666666", "#999999"]
    for i, c in enumerate(curves):
        col = greys[i % len(greys)]
        b = c["band"]
        xs = [x / scale for x in b["flops"]]
        lab = f"dense {c['kind'].replace('_', '-')} fit" + (
            f" (norm={c['context']['norm']}, dim={c['context']['dim']})" if len(curves) > 1 else "")
        if c.get("fit"):
            f = c["fit"]
            lab += f": E={f['E']:.3f}, α={f['alpha']:.2f}"
        handles += ax.plot(xs, b["mean"], color=col, lw=1.6, label=lab, zorder=3)
        ok = [(x, lo, hi) for x, lo, hi in zip(xs, b["lo"], b["hi"]) if lo is not None and hi is not None]
        if ok:
            handles.append(ax.fill_between([o[0] for o in ok], [o[1] for o in ok], [o[2] for o in ok], color=col,
                                           alpha=0.15, lw=0, label="95% band (jackknife over seeds)", zorder=2))
        for p in c["points"]:
            g = next((g for g in groups if g["role"] == "dense" and g["stats"]["inference_flops_standard"]["mean"]
                      == p["flops"] and g["norm"] == c["context"]["norm"] and g["dim"] == c["context"]["dim"]), None)
            ye = _mean_ci(g["stats"]["val_loss"]) if g else 0.0
            ax.errorbar([p["flops"] / scale], [p["loss"]], yerr=[ye], color=col, marker="o", ms=5, ls="none",
                        zorder=4)
            if g:
                ax.annotate(f"L={g['n_layers']}", (p["flops"] / scale, p["loss"]), textcoords="offset points",
                            xytext=(7, -4), fontsize=8.5, color=col, va="top", zorder=5)
    names, vals, los, his, ext = [], [], [], [], []
    for d in comps:
        g = by.get(d["configuration"])
        if not g or not d.get("flops_per_token"):
            continue
        c, m, _ = styles[g["name"]]
        st = g["stats"]["val_loss"]
        handles.append(ax.errorbar([d["flops_per_token"] / scale], [st["mean"]], yerr=[_mean_ci(st)], color=c,
                                   marker=m, ms=7, ls="none", mec="black", mew=0.5, label=_n_label(g), zorder=6))
        mu = d.get("multiplier") or {}
        if mu.get("value"):
            names.append(g["name"])
            vals.append(mu["value"])
            los.append(mu["ci"][0] if mu.get("ci") else mu["value"])
            his.append(mu["ci"][1] if mu.get("ci") else mu["value"])
            ext.append(bool(mu.get("extrapolated")))
    _log_axis(ax, min(allx) / scale, max(allx) / scale)
    ax.set_xlabel(f"estimated inference FLOPs per token (standard mode) [{unit}]")
    ax.set_ylabel(LOSS_LABEL)
    ax.set_title("(a) dense frontier fit, 95% intervals")
    ax.legend(handles=handles, loc="lower left", fontsize=8, frameon=True, framealpha=0.9, edgecolor="none")
    if names:
        ys = list(range(len(names)))
        for y, v, lo, hi, e, n in zip(ys, vals, los, his, ext, names):
            c, m, _ = styles[n]
            bx.errorbar([v], [y], xerr=[[v - lo], [hi - v]], color=c, marker=m, ms=7, ls="none", capsize=3,
                        mfc="white" if e else c, mec="black", mew=0.5)
        bx.axvline(1.0, color="black", lw=1, ls="--")
        bx.set_yticks(ys)
        bx.set_yticklabels(names, fontsize=8.5)
        bx.invert_yaxis()
        bx.set_xlabel("compute multiplier C_dense(L) / C (1 = no gain)")
        bx.set_title("(b) compute multipliers (hollow: extrapolated)")
    else:
        bx.text(0.5, 0.5, "no multiplier: the frontier does not reach\nany gated configuration's loss",
                ha="center", va="center", transform=bx.transAxes, fontsize=9)
        bx.set_axis_off()
    fig.tight_layout()
    return _save(fig, out_dir, fid), None


# ----------------------------------------------------------------------------- loss curves


def _downsample(xs, ys, n=MAX_CURVE_POINTS):
    if len(xs) <= n:
        return xs, ys, 1
    k = math.ceil(len(xs) / n)
    bx, by = [], []
    for i in range(0, len(xs), k):
        cx, cy = xs[i:i + k], ys[i:i + k]
        bx.append(sum(cx) / len(cx))
        by.append(sum(cy) / len(cy))
    return bx, by, k


def fig_loss_curves(groups, runs_by_name, styles, out_dir, fid):
    curves = []
    for g in groups:
        for r in runs_by_name.get(g["name"], []):
            if r["status"] != "completed":
                continue
            c = run_curves(r)
            if c and (c[0] or c[2]):
                curves.append((g, r, c))
    if not curves:
        return None, "no completed run has loss curves"
    fig, ax = plt.subplots(figsize=FIGSIZE)
    lows, tops, binned = [], [], 1
    seen = set()
    handles = []
    for g, r, (ts, tl, vs, vl) in curves:
        c, m, lstyle = styles[g["name"]]
        if ts:
            xs, ys, k = _downsample(ts, tl)
            binned = max(binned, k)
            ax.plot(xs, ys, color=c, lw=0.8, alpha=0.55, ls=lstyle, zorder=2)
            lows.append(min(ys))
            tops.append(ys[min(len(ys) - 1, max(1, len(ys) // 20))])
        if vs:
            every = max(1, len(vs) // 12)
            ax.plot(vs, vl, color=c, marker=m, ms=5.5, lw=1.0, ls="--", markevery=every, mec="black", mew=0.4,
                    zorder=3)
            lows.append(min(vl))
            tops.append(vl[min(len(vl) - 1, len(vl) // 20)])  # the first 5% of training may be cut off
        if g["name"] not in seen:
            seen.add(g["name"])
            handles.append(Line2D([], [], color=c, marker=m, mec="black", mew=0.4, ls=lstyle, label=_n_label(g)))
    key = [Line2D([], [], color="#555555", lw=0.8, alpha=0.7,
                  label="train loss" + (f" (mean of each {binned} steps)" if binned > 1 else ", per step")),
           Line2D([], [], color="#555555", marker="o", ls="--", lw=1.0, label="validation loss")]
    if lows and tops:
        lo, hi = min(lows), max(tops)
        pad = 0.06 * (hi - lo if hi > lo else 1)
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel("training step (optimizer updates)")
    ax.set_ylabel("loss (cross-entropy, nats/token)")
    ax.set_title("Loss curves (one colour per configuration, one line per seed)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _legend_outside(ax, key + handles)
    return _save(fig, out_dir, fid), ("train curves are averaged in bins of %d steps" % binned if binned > 1 else None)


# ----------------------------------------------------------------------------- gates


def _gated_groups(groups, key):
    return [g for g in groups if g["n_completed"] > 0 and g["gated"] is True and g["zero_init_masks"] is not True
            and g["per_layer"][key] is not None]


def fig_gate_sparsity(groups, styles, out_dir, fid, zero_eps):
    gs = _gated_groups(groups, "zero_fraction")
    if not gs:
        return None, "no completed gated runs (learned or forced gates) with per-layer gate metrics"
    fig, ax = plt.subplots(figsize=(FIGSIZE[0], 4.2))
    top, max_l = 0.0, 0
    handles = []
    for g in gs:
        c, m, _ = styles[g["name"]]
        zf = g["per_layer"]["zero_fraction"]
        xs = list(range(len(zf["mean"])))
        ye = [s or 0.0 for s in zf["std"]]
        h = ax.errorbar(xs, _nan(zf["mean"]), yerr=ye, color=c, marker=m, ms=6, mec="black", mew=0.4, lw=1.4,
                        label=_n_label(g) + (f", sparsity {g['stats']['sparsity']['mean']:.3f}"
                                             if g["stats"]["sparsity"]["mean"] is not None else ""))
        handles.append(h)
        top = max(top, max((a or 0) + b for a, b in zip(zf["mean"], ye)))
        max_l = max(max_l, len(xs))
    ax.set_xticks(range(max_l))
    ax.set_xlim(-0.5, max_l - 0.5)
    ax.set_ylim(0, min(1.0, top * 1.12) if top > 0 else 1.0)
    ax.set_xlabel("layer (block index, 0 = first)")
    eps = f"{zero_eps:g}" if isinstance(zero_eps, (int, float)) else "zero_eps"
    ax.set_ylabel(f"fraction of tokens skipped (gate < {eps})")
    ax.set_title("Per-layer gate sparsity on the validation split")
    _legend_outside(ax, handles, title=ERRBAR_NOTE)
    return _save(fig, out_dir, fid), None


def fig_realized_vs_target(groups, styles, out_dir, fid):
    gs = [g for g in _gated_groups(groups, "gate_mean") if g["per_layer"]["mean_targets"] is not None]
    if not gs:
        return None, "no completed run has per-layer mean targets (controller.final_state.mean_targets)"
    fig, (a, b) = plt.subplots(1, 2, figsize=(10.4, 4.6))
    handles = []
    for g in gs:
        c, m, _ = styles[g["name"]]
        t = g["per_layer"]["mean_targets"]["mean"]
        gm = g["per_layer"]["gate_mean"]
        n = min(len(t), len(gm["mean"]))
        a.errorbar(_nan(t[:n]), _nan(gm["mean"][:n]), yerr=[s or 0.0 for s in gm["std"][:n]], color=c, marker=m, ms=6,
                   ls="none", mec="black", mew=0.4, alpha=0.9)
        its = g["stats"]["implied_target_sparsity"]
        for key, filled in (("sparsity", True), ("one_minus_mean_gate", False)):
            st = g["stats"][key]
            if its["mean"] is None or st["mean"] is None:
                continue
            b.errorbar([its["mean"]], [st["mean"]], yerr=[st["std"] or 0.0], color=c, marker=m, ms=8, ls="none",
                       mec=c if not filled else "black", mfc=c if filled else "white", mew=1.2 if not filled else 0.4)
        handles.append(Line2D([], [], color=c, marker=m, ls="none", mec="black", mew=0.4, label=_n_label(g)))
    for ax in (a, b):
        ax.plot([0, 1], [0, 1], color="#444444", lw=1.0, ls=":", zorder=1)
        ax.set_aspect("equal", adjustable="box")
    a.set_xlim(-0.02, 1.02)
    a.set_ylim(-0.02, 1.02)
    a.set_xlabel("target mean gate (controller mean_targets)")
    a.set_ylabel("realized mean gate (validation)")
    a.set_title("(a) per layer")
    hi = max([0.05] + [g["stats"][k]["max"] or 0 for g in gs for k in
                       ("implied_target_sparsity", "sparsity", "one_minus_mean_gate")]) * 1.15
    hi = min(1.0, hi)
    b.set_xlim(0, hi)
    b.set_ylim(0, hi)
    b.set_xlabel("implied target sparsity (1 − mean target)")
    b.set_ylabel("realized (validation)")
    b.set_title("(b) whole model")
    key = [Line2D([], [], color="#444444", ls=":", label="identity (y = x)"),
           Line2D([], [], color="#555555", marker="o", ls="none", mec="black", mew=0.4,
                  label="(b) sparsity: gates < zero_eps"),
           Line2D([], [], color="#555555", marker="o", ls="none", mfc="white", mew=1.2,
                  label="(b) 1 − mean gate")]
    b.legend(handles=key + handles, loc="upper left", bbox_to_anchor=(1.04, 1.0), frameon=False,
             title=ERRBAR_NOTE, borderaxespad=0)
    fig.suptitle("Realized gates against the controller's targets", fontsize=11.5)
    return _save(fig, out_dir, fid), None


# ----------------------------------------------------------------------------- all


FIGURES = [
    ("loss_vs_inference_flops_standard", "Validation loss vs estimated inference FLOPs per token (standard)"),
    ("loss_vs_inference_flops_reference", "Validation loss vs estimated inference FLOPs per token (reference)"),
    ("frontier_fit", "Fitted dense frontier and compute multipliers"),
    ("loss_vs_training_flops", "Validation loss vs estimated training FLOPs"),
    ("loss_vs_wall_clock", "Validation loss vs measured wall-clock"),
    ("loss_vs_inference_time", "Validation loss vs measured inference time per token (real skipping)"),
    ("loss_curves", "Loss curves"),
    ("gate_sparsity_per_layer", "Per-layer gate sparsity"),
    ("realized_vs_target", "Realized gates vs controller targets"),
]

CAPTIONS = {
    "loss_vs_inference_flops_standard":
        "Final validation loss against estimated forward FLOPs per token at each run's validation sparsity, "
        "standard mode (matmuls at 2 FLOPs per multiply-add, attention over the full T×T). Black: dense "
        "configurations (the frontier, by depth L); coloured: the other configurations. Error bars: ±1 sample std "
        "over seeds.",
    "loss_vs_inference_flops_reference":
        "As above with the released code's FLOPs formula (reference mode, including its factor 2 on the blocks).",
    "frontier_fit":
        "(a) The dense frontier of claim 5: a power law L = E + A (C/C0)^-α with >= 4 depths, else monotone piecewise "
        "linear in log C, with its pointwise 95% band (delete-one-seed jackknife, t with Welch–Satterthwaite df). "
        "Points: means with 95% t intervals over seeds (none with one seed). (b) Each gated configuration's compute "
        "multiplier, the dense FLOPs needed to reach its loss over its FLOPs, with its interval; 1 = no gain.",
    "loss_vs_training_flops":
        "Final validation loss against the estimated training FLOPs of the whole run (standard mode: 3 × forward, "
        "summed over steps at each step's training sparsity; flops.training_total.standard).",
    "loss_vs_wall_clock":
        "Final validation loss against the measured wall-clock of the whole run (timing.total_s, including "
        "validation). Compare runs from the same hardware only (see provenance).",
    "loss_vs_inference_time":
        "Final validation loss against the measured inference time per token: the median of repeated timed "
        "forward passes with real skipping (skipbench eval --hard-skip --repeat N; packed active tokens, so a "
        "skipped (token, block) pair costs nothing), over the tokens evaluated. Gated and dense configurations "
        "compared at equal validation loss on the same machine, not at equal estimated FLOPs.",
    "loss_curves":
        "Training loss per step (thin lines) and validation loss (markers, dashed), one colour per configuration, "
        "one line per seed.",
    "gate_sparsity_per_layer":
        "Fraction of validation tokens whose gate is below zero_eps at each layer (gates.val.zero_fraction): the "
        "blocks those tokens skip. skip_middle mirrors the first half's gates in the second half.",
    "realized_vs_target":
        "(a) Realized per-layer mean gate on the validation split against the controller's per-layer mean target; "
        "on the dotted identity line the controller meets its target. (b) Realized sparsity (filled: fraction of "
        "gates below zero_eps; hollow: 1 − mean gate) against the sparsity implied by the targets (1 − mean "
        "target). A gate mean can meet its target with no gate at exactly zero, so filled markers can sit below the "
        "line while hollow ones sit on it.",
}


def make_figures(out_dir, groups, runs_by_name, zero_eps, claims=()):
    """Write every figure that has data; return the report's figure list (written and skipped)."""
    os.makedirs(out_dir, exist_ok=True)
    styles = styles_for(groups)
    makers = {
        "loss_vs_inference_flops_standard": lambda fid: fig_loss_vs(
            groups, styles, out_dir, fid, "inference_flops_standard",
            "estimated inference FLOPs per token (standard mode)", "flops",
            "Loss vs estimated inference FLOPs (standard)"),
        "loss_vs_inference_flops_reference": lambda fid: fig_loss_vs(
            groups, styles, out_dir, fid, "inference_flops_reference",
            "estimated inference FLOPs per token (reference mode)", "flops",
            "Loss vs estimated inference FLOPs (reference)"),
        "loss_vs_training_flops": lambda fid: fig_loss_vs(
            groups, styles, out_dir, fid, "training_flops_standard", "estimated training FLOPs, whole run (standard)",
            "flops", "Loss vs estimated training FLOPs"),
        "loss_vs_wall_clock": lambda fid: fig_loss_vs(
            groups, styles, out_dir, fid, "total_s", "measured wall-clock, whole run", "time",
            "Loss vs measured wall-clock"),
        "loss_vs_inference_time": lambda fid: fig_loss_vs(
            groups, styles, out_dir, fid, "inference_us_per_token", "measured inference time per token, real skipping",
            "µs", "Loss vs measured inference time"),
        "frontier_fit": lambda fid: fig_frontier_fit(groups, styles, out_dir, fid,
                                                     next((c for c in claims if c["id"] == 5), None)),
        "loss_curves": lambda fid: fig_loss_curves(groups, runs_by_name, styles, out_dir, fid),
        "gate_sparsity_per_layer": lambda fid: fig_gate_sparsity(groups, styles, out_dir, fid, zero_eps),
        "realized_vs_target": lambda fid: fig_realized_vs_target(groups, styles, out_dir, fid),
    }
    out = []
    for fid, title in FIGURES:
        files, note = makers[fid](fid)
        if files is None:
            for ext in ("svg", "png", "pdf"):  # a figure skipped now must not leave an older render behind
                try:
                    os.unlink(os.path.join(out_dir, f"{fid}.{ext}"))
                except FileNotFoundError:
                    pass
            out.append({"id": fid, "title": title, "status": "skipped", "note": note, "files": None,
                        "caption": CAPTIONS[fid]})
        else:
            out.append({"id": fid, "title": title, "status": "written", "note": note, "files": files,
                        "caption": CAPTIONS[fid]})
    return out
