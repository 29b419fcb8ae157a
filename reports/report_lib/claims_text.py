"""The prose of the claims table, apart from the rules (claims.py): each claim's title, the paper's words where they
were recovered (../shared/research/paper.md), its source, the test in words, and why each margin is what it is.
Placeholders are filled from claims.py's constants, so the text always states the numbers the rules use."""

COMMON = (
    "Seeds are the unit: each configuration's runs with different seeds are its replicates. Intervals are two-sided "
    "{level:.0%} t intervals (Welch for a difference of means, one-sample t for one mean, a delete-one-seed "
    "jackknife with Welch–Satterthwaite degrees of freedom for anything else, which reduces to Welch for a "
    "difference). A configuration with one seed has no variance estimate: any claim that needs it is inconclusive.")

MARGIN_WHY = {
    "loss": ("{loss_margin:g} nats of validation cross-entropy (about {loss_margin_pct:.0f}% perplexity): smaller "
             "differences are below what changes a conclusion about a model at these scales, and below the seed "
             "spread of short CPU runs (the smoke baseline's two seeds differ by 0.036 nats)"),
    "sparsity": ("{sparsity_margin:g} of the (token, layer) gates: a change in realized sparsity below 1% of gates "
                 "saves under 1% of the block FLOPs"),
    "mae": "a mean |gate mean − target| of {mae_max:g}: the controller is within a tenth of a gate of its target",
    "ratio": ("realized/estimated saving of {ratio_min:g}: at least 80% of the estimated FLOPs saving shows up as "
              "wall-clock"),
}

CLAIMS = {
    1: {
        "claim": "Gates learn to skip",
        "paper_statement": ("Learning to skip the middle layers: learned per-token gates switch off the middle "
                            "blocks for some tokens (title; \"gate sparsity with an adaptive regularization "
                            "loss\")."),
        "source": "arXiv 2506.21103 title and abstract",
        "test": ("For each skip_middle configuration with learned gates: the effect is the realized validation sparsity "
                 "at the end (gates.val.sparsity) minus the sparsity of the initial model (the step-0 training "
                 "forward, metrics.jsonl), paired by seed. Supported if its {level:.0%} CI lies above 0; not supported "
                 "if the {eq_level:.0%} CI lies inside ±{sparsity_margin:g} (equivalence) or below 0; inconclusive "
                 "otherwise. The claim holds when every configuration supports it."),
        "margin": "sparsity",
    },
    2: {
        "claim": "Sparsity follows the targets",
        "paper_statement": ("The controller's adaptive regularization steers each layer's mean gate to its target "
                            "(\"gate sparsity with an adaptive regularization loss\")."),
        "source": "arXiv 2506.21103 abstract; released code",
        "test": ("For each configuration whose controller has per-layer mean targets: the statistic is each seed's "
                 "mean over layers of |realized gate mean (gates.val.gate_mean) − target "
                 "(controller.final_state.mean_targets)|. Supported if the {level:.0%} CI of its mean over seeds lies "
                 "below {mae_max:g}; not supported if above; inconclusive otherwise. The claim holds when every "
                 "configuration supports it."),
        "margin": "mae",
    },
    3: {
        "claim": "Sandwich-LN is needed for stable training",
        "paper_statement": ("\"residual norms are controlled with a 'sandwich' or 'peri-layernorm' scheme\"; "
                            "Sandwich-LN is \"the key difference relative to Llama 3 … instead of Pre-LN\"."),
        "source": "arXiv 2506.21103 abstract; HF model cards",
        "test": ("Each model.norm = pre configuration against the sandwich configuration that differs only in "
                 "model.norm. When any run of either diverged (status diverged, or exit code 3): Fisher's exact test "
                 "that pre diverges more often, supported at one-sided p < {alpha_half:g} (not supported at p < "
                 "{alpha_half:g} the other way; otherwise inconclusive). Else the effect is the difference of mean "
                 "final val loss pre − sandwich: supported if its {level:.0%} CI lies above 0, not supported if "
                 "below 0 or inside ±{loss_margin:g} ({eq_level:.0%} CI, equivalence), inconclusive otherwise. "
                 "Comparisons that disagree make the claim inconclusive."),
        "margin": "loss",
    },
    4: {
        "claim": "Key-masked attention matters",
        "paper_statement": ("Other tokens are prevented from attending to a skipped position in the skipped blocks' "
                            "self-attention (Figure 1). The released code adds the gate term on the query axis, "
                            "which softmax cancels."),
        "source": "arXiv 2506.21103 Figure 1 caption; released code model/utils.py",
        "test": ("Each variant.options.attention_gate = key configuration against none (and reference), all else "
                 "equal. The effect is the difference of mean final val loss none − key (positive: key masking "
                 "helps): supported if its {level:.0%} CI lies above 0, not supported if below 0 or inside "
                 "±{loss_margin:g} ({eq_level:.0%} CI, equivalence), inconclusive otherwise. reference is the same "
                 "model as none by construction; reference vs none is reported as a sanity check."),
        "margin": "loss",
    },
    5: {
        "claim": "The gated model does not beat dense baselines with fewer layers at equal estimated FLOPs",
        "paper_statement": ("\"at the scales investigated, our approach does not achieve improvements in the "
                            "trade-off between validation cross-entropy and estimated FLOPs compared to dense "
                            "baselines with fewer layers.\""),
        "source": "arXiv 2506.21103 abstract",
        "test": ("A null claim. The dense frontier (same norm and width) is fitted to the dense configurations' mean "
                 "final val loss against estimated inference FLOPs per token (standard mode): L(C) = E + A "
                 "(C/C0)^-alpha with >= 4 depths, else monotone piecewise linear in log C. For each gated "
                 "configuration the gain is frontier(C_gated) − its mean val loss (positive: better than dense), "
                 "with a jackknife-over-seeds t interval. Supported if the one-sided {one_sided:.0%} upper bound of "
                 "the gain is below the margin {loss_margin:g} for every gated configuration; not supported if "
                 "some gain's {level:.0%} CI lies above 0 and reaches the margin; inconclusive otherwise, or outside "
                 "the dense range of the piecewise-linear frontier. Each configuration's compute multiplier "
                 "C_dense(L_gated)/C_gated is reported with its interval (1 = no gain)."),
        "margin": "loss",
    },
    6: {
        "claim": "Estimated FLOPs savings show up in wall-clock",
        "paper_statement": ("Not claimed by the paper: it reports estimated FLOPs only, and the released code never "
                            "skips computation (gates multiply block outputs)."),
        "source": "released code (tim-lawson/skip-middle); harness check",
        "test": ("Decided only from real skipping with repeated timings: `skipbench eval --run DIR --hard-skip "
                 "--repeat N` (N >= {min_repeats}) times soft and hard forward passes interleaved in one process. "
                 "Per repetition, realized saving = 1 − hard time / soft time; ratio = realized / the FLOPs-estimated "
                 "saving of skipping at the hard-skip sparsity. Unit: the seed (each run's mean ratio over its "
                 "repetitions), so >= 2 timed runs are needed. Supported if the {level:.0%} CI of the mean ratio lies above "
                 "{ratio_min:g}; not supported if below; inconclusive otherwise, with single timings, or with "
                 "training evidence only (soft gates compute every block, so no saving is expected there)."),
        "margin": "ratio",
    },
}

# What would decide a claim that has nothing to compare in a suite (no estimate, so no seeds-needed figure).
DECIDE_WITHOUT_EVIDENCE = {
    1: "Add skip_middle configurations with learned gates (zero_init_masks false), >= 2 seeds each.",
    2: "Add runs with a target-based controller (adaptive, proportional, ...), >= 2 seeds each.",
    3: "Add a model.norm = pre configuration and its sandwich twin (all else equal), >= 2 seeds each.",
    4: "Add attention_gate key and none configurations that differ in nothing else, >= 2 seeds each.",
    5: "Add >= 2 dense depths of the gated configurations' norm and width (>= 4 for a power-law fit), >= 2 seeds "
       "each.",
    6: "Run `skipbench eval --run DIR --hard-skip --repeat 5` on >= 2 seeds of a gated configuration.",
}
