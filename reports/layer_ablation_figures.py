#!/usr/bin/env python3
"""layer_ablation_figures.py: the figures of `skipbench layer-ablation` (harness/train/layer_ablation.h), beside its
layer_ablation.json:
  layer_ablation_heatmap.png   loss increase by span start (x) and span length (y), every swept span
  layer_ablation_profiles.png  loss increase against blocks removed for the paper's symmetric middle-out spans,
                               the earliest and the latest spans, and the least harmful span of each swept length
  layer_ablation_redundancy.png  Block Influence per block and angular distance d(l, n) for the swept lengths
One model, one set of batches: no seeds and no intervals (the title says how many tokens).
Usage: layer_ablation_figures.py DIR/layer_ablation.json
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

plt.rcParams.update({"font.family": "DejaVu Sans", "font.size": 10, "axes.grid": True, "grid.alpha": 0.3,
                     "axes.spines.top": False, "axes.spines.right": False, "savefig.dpi": 150})
COLOURS = {"middle_out": "#D55E00", "early": "#0072B2", "late": "#009E73", "best": "#000000"}


def save(fig, path):
    tmp = path + ".tmp.png"
    fig.savefig(tmp, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)


def main(path):
    r = json.load(open(path))
    out = os.path.dirname(os.path.abspath(path))
    L, lengths = r["n_layers"], r["lengths"]
    name = os.path.basename(os.path.normpath(r.get("run", ""))) or "model"
    sub = f"{name}: {L} blocks, base loss {r['base_loss']:.3f} over {r['tokens']:,.0f} tokens (one model, no seeds)"

    grid = np.full((len(lengths), L), np.nan)
    for s in r["spans"]:
        if s["length"] in lengths:
            grid[lengths.index(s["length"]), s["start"]] = s["delta"]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.28 * L + 2), 0.55 * len(lengths) + 2.2))
    ax.grid(False)
    im = ax.imshow(np.log10(np.maximum(grid, 1e-3)), aspect="auto", cmap="viridis", origin="lower")
    for i in range(len(lengths)):
        for j in range(L):
            if not np.isnan(grid[i, j]) and L <= 40:  # white on viridis' dark lower 60%, black on its light top
                light = im.norm(np.log10(max(grid[i, j], 1e-3))) > 0.6
                ax.text(j, i, f"{grid[i, j]:.2f}" if grid[i, j] < 10 else f"{grid[i, j]:.0f}", ha="center",
                        va="center", fontsize=5.5, color="black" if light else "white")
    ax.set_yticks(range(len(lengths)), [str(k) for k in lengths])
    ax.set_xticks(range(0, L, max(1, L // 15)))
    ax.set_xlabel("first block of the removed span")
    ax.set_ylabel("blocks removed (span length)")
    cb = fig.colorbar(im, ax=ax)
    cb.set_label("log10 loss increase (nats/token)")
    ax.set_title("Loss increase with a contiguous span of blocks removed\n" + sub, fontsize=9.5)
    save(fig, os.path.join(out, "layer_ablation_heatmap.png"))

    fig, ax = plt.subplots(figsize=(7.4, 4.6))
    labels = {"middle_out": "middle-out (blocks m..L-1-m: skip_middle's mirrored gates)",
              "early": "earliest span (blocks 0..k-1)", "late": "latest span (blocks L-k..L-1)"}
    for key, rows in r["profiles"].items():
        ax.plot([x["length"] for x in rows], [x["delta"] for x in rows], marker="o", color=COLOURS[key],
                label=labels[key])
    best = r["best_per_length"]
    ax.plot([x["length"] for x in best], [x["delta"] for x in best], marker="s", ls="--", color=COLOURS["best"],
            label="least harmful span of that length (sweep)")
    ax.set_yscale("log")
    ax.set_xlabel("blocks removed")
    ax.set_ylabel("validation loss increase (nats/token, log scale)")
    ax.set_title("Which blocks can go? Equal blocks removed, different places\n" + sub, fontsize=9.5)
    ax.legend(fontsize=8)
    save(fig, os.path.join(out, "layer_ablation_profiles.png"))

    red = r["redundancy"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    bi = red["block_influence"]
    a1.bar(range(L), bi, color="#0072B2")
    a1.set_xlabel("block")
    a1.set_ylabel("Block Influence 1 - cos(h_in, h_out)")
    a1.set_title("Block Influence (ShortGPT), every token", fontsize=9.5)
    ang = red["angular_distance"] if "angular_distance" in red else red.get("angular")
    for k in lengths:
        if ang and k - 1 < len(ang):
            a2.plot(range(len(ang[k - 1])), ang[k - 1], marker=".", label=f"n = {k}")
    a2.set_xlabel("first block l")
    a2.set_ylabel("angular distance d(l, n) at the last position")
    a2.set_title("Angular distance across n blocks (Gromov et al.)", fontsize=9.5)
    a2.legend(fontsize=8)
    fig.suptitle(sub, fontsize=9)
    save(fig, os.path.join(out, "layer_ablation_redundancy.png"))
    print(f"wrote {out}/layer_ablation_{{heatmap,profiles,redundancy}}.png")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: layer_ablation_figures.py DIR/layer_ablation.json", file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1])
