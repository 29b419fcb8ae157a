"""report.html (self-contained: CSS inline, figures inlined as base64 SVG) and report.md (figures linked as PNG)."""
import base64
import html
import os

from .common import si

from . import claims_text
from .claims import PARAMS

VERDICT_CLASS = {"supported": "ok", "not supported": "no", "inconclusive": "meh"}
VERDICT_ICON = {"supported": "✔", "not supported": "✘", "inconclusive": "?"}


# ----------------------------------------------------------------------------- formatting


def fx(v, nd=4):
    return "–" if v is None else f"{v:.{nd}f}"


def pm(st, nd=4, conv=None):
    if not st or st.get("mean") is None:
        return "–"
    f = conv or (lambda x: f"{x:.{nd}f}")
    return f(st["mean"]) + (f" ± {f(st['std'])}" if st.get("std") is not None else "")


def secs(v):
    if v is None:
        return "–"
    if v >= 3 * 3600:
        return f"{v / 3600:.2f} h"
    if v >= 180:
        return f"{v / 60:.1f} min"
    return f"{v:.1f} s"


def status_short(s):
    return s["status"] + (f" (exit {s['exit_code']})" if s.get("exit_code") is not None else "")


def status_note(s):
    """The failure reason, or the progress of a running run; '' for completed and pending runs."""
    st = s["status"]
    if st in ("running", "pending") and s.get("progress"):
        p = s["progress"]
        step = p.get("last_train_step")
        tot = p.get("steps_total")
        parts = [s["failure"]] if s.get("failure") else []
        if step is not None:
            parts.append(f"step {step + 1}" + (f"/{tot}" if tot else "") + (
                f", train loss {p['last_train_loss']:.3f}" if p.get("last_train_loss") is not None else ""))
        if p.get("last_val_loss") is not None:
            parts.append(f"val loss {p['last_val_loss']:.3f} at step {p['last_val_step']}")
        if p.get("checkpoint_step") is not None:
            parts.append(f"checkpoint after step {p['checkpoint_step']}")
        return "; ".join(parts)
    resumed = f"resumed from step {s['resumed_from_step']}" if s.get("resumed_from_step") is not None else ""
    if st in ("completed", "pending"):
        return resumed
    return "; ".join(x for x in (s.get("failure"), resumed) if x)


def settings_text(x):
    """variant · L · norm · attention gate · controller, for a run summary or a configuration aggregate."""
    parts = [x["variant"] or "?"]
    if x.get("zero_init_masks") is True:
        parts[0] += " (zero-init masks: gates fixed at 1)"
    parts.append(f"L={x['n_layers']}" if x.get("n_layers") is not None else "L=?")
    parts.append(x["norm"] or "norm ?")
    if x.get("attention_gate"):
        parts.append(f"attn {x['attention_gate']}")
    parts.append(f"ctrl {x['controller'] or '?'}")
    return " · ".join(str(p) for p in parts)


def seeds_text(g):
    return f"{g['n_completed']}/{g['n_runs']}"


def pct(v):
    return "–" if v is None else f"{v:.3f}"


# ----------------------------------------------------------------------------- table data (shared by HTML/MD)


def suite_rows(rep):
    s = rep["suite"]
    b = s.get("budget") or {}
    counts = ", ".join(f"{n} {k}" for k, n in s["status_counts"].items())
    pv = rep["provenance"]
    commits = ", ".join(f"{c['commit'][:10]} ({c['runs']} run{'s' if c['runs'] != 1 else ''}"
                        + (f", {c['dirty_runs']} dirty" if c["dirty_runs"] else "") + ")" for c in pv["git_commits"])
    hw = "; ".join(
        f"{h['cpu']}, {h['logical_cores']} logical cores, "
        f"{(h['memory_bytes'] or 0) / 2 ** 30:.0f} GiB" + (f", GPUs: {', '.join(h['gpus'])}" if h["gpus"] else "")
        + f", device {h['device']} ({h['runs']} runs)" for h in pv["hardware"])
    vers = ", ".join(f"{k} {'/'.join(str(x) for x in v)}" for k, v in pv["versions"].items())
    dates = pv["dates"]
    return [
        ("suite", s["name"]), ("description", s.get("description") or "–"), ("spec file", s.get("file") or "–"),
        ("budget", f"{b.get('kind', '?')} = {b.get('value', '?')}" if b else "–"),
        ("seeds", ", ".join(str(x) for x in s.get("seeds") or []) or "–"),
        ("runs", f"{s['n_runs']} ({counts})"), ("git commits", commits or "–"), ("versions", vers or "–"),
        ("hardware", hw or "–"),
        ("run dates", f"{dates['first']} … {dates['last']}" if dates["first"] else "–"),
        ("rendered", rep["generated_at"]),
    ]


GROUP_COLS = ["group", "configuration", "settings", "seeds done", "val loss", "infer FLOPs/tok (std)",
              "infer FLOPs/tok (ref)", "train FLOPs", "sparsity", "wall-clock", "tokens/s"]
NUMERIC_GROUP_COLS = set(range(3, 11))


def group_row(g):
    st = g["stats"]
    return [g["group"] or "–", g["name"], settings_text(g), seeds_text(g), pm(st["val_loss"]),
            pm(st["inference_flops_standard"], conv=si), pm(st["inference_flops_reference"], conv=si),
            pm(st["training_flops_standard"], conv=si), pm(st["sparsity"], 3), pm(st["total_s"], conv=secs),
            pm(st["tokens_per_s"], conv=lambda x: f"{x:.0f}")]


RUN_COLS = ["configuration", "seed", "status", "val loss", "infer FLOPs/tok (std)", "infer FLOPs/tok (ref)",
            "train FLOPs", "wall-clock", "tokens/s", "sparsity", "target MAE", "failure / progress"]
NUMERIC_RUN_COLS = set(range(3, 11)) | {1}


def run_row(s):
    return [s["name"], str(s["seed"]), status_short(s), fx(s["final_val_loss"]),
            si(s["inference_flops_per_token"]["standard"]), si(s["inference_flops_per_token"]["reference"]),
            si(s["training_flops_total"]["standard"]), secs(s["timing"]["total_s"]),
            "–" if s["timing"]["tokens_per_s"] is None else f"{s['timing']['tokens_per_s']:.0f}",
            pct(s["sparsity"]), pct(s["target_mae"]), status_note(s)]


DEFINITIONS = [
    ("configuration", "all runs of the suite with the same run name: the same settings, different seeds. Tables "
                      "and figures give the mean ± sample std (n − 1) over its completed seeds."),
    ("role", "dense: variant dense, or skip_middle with zero_init_masks (its gates stay 1); gated: skip_middle with "
             "learned gates; other: any other variant (e.g. forced_skip)."),
    ("val loss", "final validation cross-entropy (nats/token) over the fixed validation split (final.val_loss)."),
    ("sparsity", "fraction of (token, layer) gates below train.zero_eps on the validation split (gates.val.sparsity)."),
    ("infer FLOPs/tok", "estimated forward FLOPs per token at the run's validation sparsity: std = standard mode "
                        "(matmuls, 2 per multiply-add, attention over the full T×T); ref = the released code's "
                        "formula (flops.inference_at_val_sparsity)."),
    ("train FLOPs", "estimated training FLOPs of the whole run, standard mode (3 × forward at each step's training "
                    "sparsity; flops.training_total.standard)."),
    ("wall-clock", "timing.total_s: the whole run including validation. tokens/s: from the median step time."),
    ("target MAE", "mean over layers of |realized gate mean − controller mean target| (target controllers only)."),
]


def thresholds_text():
    return [claims_text.COMMON.format(**PARAMS),
            "Verdicts: a difference claim is supported when its interval excludes 0 in the claimed direction, not "
            "supported when it lies on the other side or inside the equivalence margin (two one-sided tests), and "
            "inconclusive otherwise; a null claim (5) is supported only when the interval rules out a gain larger "
            "than the margin. With k comparisons in one claim each is decided at alpha/k (Bonferroni).",
            "Margins: " + "; ".join(f"{k}: {v.format(**PARAMS)}" for k, v in claims_text.MARGIN_WHY.items()) + "."]


def _num(v, nd=4):
    return "–" if v is None else f"{v:+.{nd}g}"


def claim_stats(c):
    """(estimate with interval, margin, n per configuration) of a claim row, as text."""
    e = c.get("estimate")
    if not e or e.get("value") is None:
        est = "–"
    else:
        lvl = f"{100 * e['ci_level']:.1f}".rstrip("0").rstrip(".") + "%"
        est = _num(e["value"]) + (f" [{_num(e['ci'][0])}, {_num(e['ci'][1])}] ({lvl} CI" if e.get("ci") else
                                  " (no interval")
        est += (f"; {e['method']}, df {e['df']:.1f})" if e.get("df") else ")")
    m = c.get("margin") or {}
    margin = f"{m.get('value'):g} ({m.get('kind')})" if m else "–"
    n = ", ".join(f"{k}: {v}" for k, v in (c.get("n_per_side") or {}).items()) or "–"
    return est, margin, n


# ----------------------------------------------------------------------------- HTML

CSS = """
:root{--fg:#1d1d1f;--muted:#5f6368;--line:#d6d9de;--bg2:#f6f7f9}
*{box-sizing:border-box}
body{font:15px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"DejaVu Sans",sans-serif;color:var(--fg);
 margin:0;background:#fff}
main{max-width:1280px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:16px;margin:22px 0 6px}
p.lead{color:var(--muted);margin:0 0 18px}
nav a{margin-right:14px;color:#0b57d0;text-decoration:none;font-size:14px}
.tw{overflow-x:auto;margin:8px 0 6px}
table{border-collapse:collapse;font-size:12.5px;width:100%}
th,td{border:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--bg2);font-weight:600;white-space:nowrap}
tbody tr:nth-child(even) td{background:#fbfbfc}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.kv th{width:160px}
table.claims td{font-size:13px}
table.claims td.claim{width:17%}table.claims td.test{width:24%}table.claims td.stat{width:17%}
table.claims td.v{width:170px;text-align:center}.decide{font-size:12px;margin-top:6px;text-align:left}
.verdict{display:inline-block;padding:3px 9px;border-radius:12px;font-weight:600;font-size:13px;white-space:nowrap}
.verdict.ok{background:#d7f0e0;color:#0b5d2a;border:1px solid #7cc596}
.verdict.no{background:#fde2d6;color:#8a2a06;border:1px solid #ef9f7d}
.verdict.meh{background:#ececec;color:#444;border:1px solid #bbb}
.quote{color:var(--muted);font-style:italic;display:block;margin-top:4px}
.src{color:var(--muted);font-size:12px}
.st-completed{color:#0b5d2a}.st-diverged,.st-failed,.st-unreadable{color:#a0300a;font-weight:600}
.st-pending,.st-running{color:#6b5b00}
figure{margin:18px 0 28px;padding:12px;border:1px solid var(--line);border-radius:6px;background:#fff}
figure img{width:100%;max-width:1100px;height:auto;display:block;margin:0 auto}
figcaption{font-size:13px;color:var(--muted);margin-top:8px}
.skip{padding:10px 14px;background:var(--bg2);border-left:4px solid #bbb;margin:10px 0;font-size:14px}
.warn{padding:10px 14px;background:#fff6e0;border-left:4px solid #e6a700;margin:10px 0;font-size:14px}
ul.notes li{margin:3px 0;font-size:14px}
ul.ev{margin:4px 0 4px;padding-left:18px}ul.ev li{margin:2px 0}
table.glance{width:auto}table.glance td{border:none;padding:3px 10px 3px 0;font-size:14px}
code{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px;background:var(--bg2);padding:0 3px}
"""



def _table(cols, rows, numeric=(), cls="", raw_cols=()):
    h = [f'<div class="tw"><table class="{cls}"><thead><tr>']
    h += [f"<th>{html.escape(c)}</th>" for c in cols]
    h.append("</tr></thead><tbody>")
    for r in rows:
        h.append("<tr>")
        for i, cell in enumerate(r):
            klass = ' class="num"' if i in numeric else ""
            h.append(f"<td{klass}>{cell if i in raw_cols else html.escape(str(cell))}</td>")
        h.append("</tr>")
    h.append("</tbody></table></div>")
    return "".join(h)


def _verdict_badge(v):
    return (f'<span class="verdict {VERDICT_CLASS.get(v, "meh")}">{VERDICT_ICON.get(v, "")} '
            f"{html.escape(v)}</span>")


def claims_html(claims):
    rows = []
    for c in claims:
        claim = (f"<b>{c['id']}. {html.escape(c['claim'])}</b>"
                 f'<span class="quote">{html.escape(c["paper_statement"])}</span>'
                 f'<span class="src">{html.escape(c["source"])}</span>')
        ev = c["evidence"]
        evid = html.escape(ev["lead"])
        if ev["items"]:
            evid += '<ul class="ev">' + "".join(f"<li>{html.escape(i)}</li>" for i in ev["items"]) + "</ul>"
        if ev["tail"]:
            evid += f"<div>{html.escape(ev['tail'])}</div>"
        if ev["seeds"]:
            evid += f'<br><span class="src">statistic: {html.escape(ev["statistic"])}; seeds: ' \
                    f'{html.escape(", ".join(str(s) for s in ev["seeds"]))}; runs used: {len(ev["runs"])}</span>'
        for n in c.get("notes") or []:
            evid += f'<br><span class="src">note: {html.escape(n)}</span>'
        est, margin, n = claim_stats(c)
        stat = (f"<b>estimate</b> {html.escape(est)}<br><b>margin</b> {html.escape(margin)}"
                f'<span class="src"> {html.escape(c["margin"]["why"])}</span><br><b>n</b> {html.escape(n)}')
        verdict = _verdict_badge(c["verdict"]) + (f'<div class="src">{html.escape(c["reason"])}</div>'
                                                  if c.get("reason") else "")
        if c.get("decide"):
            verdict += f'<div class="decide"><b>What would decide it:</b> {html.escape(c["decide"])}</div>'
        rows.append([claim, html.escape(c["test"]), stat, evid, verdict])
    cols = ["claim (paper)", "test", "estimate, margin, n", "evidence in this suite", "verdict"]
    h = ['<div class="tw"><table class="claims"><thead><tr>']
    h += [f"<th>{c}</th>" for c in cols]
    h.append("</tr></thead><tbody>")
    for c, r in zip(claims, rows):
        h.append(f'<tr id="claim-{c["id"]}"><td class="claim">{r[0]}</td><td class="test">{r[1]}</td>'
                 f'<td class="stat">{r[2]}</td><td>{r[3]}</td><td class="v">{r[4]}</td></tr>')
    h.append("</tbody></table></div>")
    return "".join(h)


def figures_html(figs, suite_dir):
    out = []
    for f in figs:
        out.append(f'<h3 id="fig-{f["id"]}">{html.escape(f["title"])}</h3>')
        if f["status"] != "written":
            out.append(f'<div class="skip">Figure skipped: {html.escape(f["note"] or "no data")}.</div>')
            continue
        with open(os.path.join(suite_dir, f["files"]["svg"]), "rb") as fh:
            b64 = base64.b64encode(fh.read()).decode("ascii")
        cap = f["caption"] + (f" Note: {f['note']}." if f.get("note") else "")
        out.append(f'<figure><img alt="{html.escape(f["title"])}" src="data:image/svg+xml;base64,{b64}">'
                   f"<figcaption>{html.escape(cap)} Files: <code>{html.escape(f['files']['svg'])}</code>, "
                   f"<code>{html.escape(f['files']['png'])}</code>.</figcaption></figure>")
    return "".join(out)


PEER_COLS = ["configuration", "variant", "basis", "cost/token", "val loss", "gain over dense [CI]",
             "compute multiplier [CI]", "beats dense?"]
PEER_INTRO = ("Each peer method's configuration against the dense frontier of its norm and width (not a claim of "
              "the paper; claim 5's test): gain = the dense frontier's val loss at the peer's cost − the peer's "
              "(positive: better than dense), jackknife t-interval over seeds, margin 0.02 nats, Bonferroni over "
              "the rows of one basis; on estimated inference FLOPs and on measured inference time per token "
              "(real skipping, eval --hard-skip --repeat, the dense frontier through the dense runs' own times). "
              "The multiplier is the dense cost for the same loss over the peer's (below 1: dense is cheaper).")


def peer_row(d):
    cost = d.get("flops_per_token")
    unit = "µs" if "us_per_token" in d.get("cost_key", "") else "FLOP"
    est = d.get("estimate") or {}
    ci = est.get("ci")
    gain = "–" if est.get("value") is None else (f"{est['value']:+.4f}" + (
        f" [{ci[0]:+.4f}, {ci[1]:+.4f}]" if ci else " (no interval)"))
    m = d.get("multiplier") or {}
    mult = "–" if m.get("value") is None else (f"{m['value']:.2f}" + (
        f" [{m['ci'][0]:.2f}, {m['ci'][1]:.2f}]" if m.get("ci") else ""))
    return [d["configuration"], d["variant"], d["basis"], "–" if cost is None else si(cost, unit),
            fx(d.get("val_loss")), gain, mult,
            d.get("answer", d["verdict"]) + (f" ({d['reason']})" if d.get("reason") else "")]


def render_html(rep, suite_dir):
    s = rep["suite"]
    kv = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in suite_rows(rep))
    verdicts = "".join(f'<tr><td>{c["id"]}</td><td><a href="#claim-{c["id"]}">{html.escape(c["claim"])}</a></td>'
                       f'<td>{_verdict_badge(c["verdict"])}</td></tr>' for c in rep["claims"])
    warn = "".join(f'<div class="warn">{html.escape(w)}</div>' for w in rep["provenance"]["warnings"])
    run_rows = []
    for r in rep["runs"]:
        row = [html.escape(x) for x in run_row(r)]
        row[2] = f'<span class="st-{html.escape(r["status"])}">{row[2]}</span>'
        run_rows.append(row)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>skipbench report: {html.escape(s['name'])}</title><style>{CSS}</style></head><body><main>",
        f"<h1>skipbench report: {html.escape(s['name'])}</h1>",
        f'<p class="lead">{html.escape(s.get("description") or "")}</p>',
        '<nav><a href="#summary">Summary</a><a href="#claims">Claims</a>' + ('<a href="#peers">Peers</a>' if rep.get("peers") else "") + '<a href="#figures">Figures</a>'
        '<a href="#configurations">Configurations</a><a href="#runs">Runs</a><a href="#notes">Notes</a></nav>',
        '<h2 id="summary">Suite</h2>', warn, f'<div class="tw"><table class="kv">{kv}</table></div>',
        f'<h3>Claims at a glance</h3><div class="tw"><table class="glance">{verdicts}</table></div>',
        '<h2 id="claims">Claims</h2>',
        "<p>Each of the paper's claims as a stated test over this suite's runs, with seeds as the unit: the effect "
        "and its interval, the margin and why, the seeds per configuration, the rule that decided the verdict and, "
        "for an inconclusive one, what would decide it. With k comparisons in one claim each is decided at "
        "α/k = 0.05/k (Bonferroni), so its interval is wider than 95%. Only completed runs enter a statistic (a "
        "diverged run counts as evidence of instability for claim 3). How these verdicts err on simulated suites: "
        "<code>skipbench claims calibrate</code>.</p>", claims_html(rep["claims"]),
        ('<h2 id="peers">Peers against the dense frontier</h2><p>' + html.escape(PEER_INTRO) + "</p>" +
         _table(PEER_COLS, [peer_row(d) for d in rep["peers"]], {3, 4, 5, 6})) if rep.get("peers") else "",
        '<h2 id="figures">Figures</h2>',
        "<p>Only completed runs are drawn. Points: mean over a configuration's completed seeds; error bars: ±1 "
        "sample std (none with one seed).</p>", figures_html(rep["figures"], suite_dir),
        '<h2 id="configurations">Configurations (aggregated over seeds)</h2>',
        _table(GROUP_COLS, [group_row(g) for g in rep["groups"]], NUMERIC_GROUP_COLS),
        '<h2 id="runs">Runs</h2>',
        _table(RUN_COLS, run_rows, NUMERIC_RUN_COLS, raw_cols=set(range(len(RUN_COLS)))),
        '<h2 id="notes">Notes and definitions</h2><ul class="notes">',
        "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in DEFINITIONS),
        "".join(f"<li>{html.escape(t)}</li>" for t in thresholds_text()),
        "".join(f"<li>{html.escape(n)}</li>" for n in rep["notes"]),
        "</ul>",
        f'<p class="src">Generated by reports/render_report.py (report schema {rep["schema"]} v'
        f'{rep["schema_version"]}) from {html.escape(s["name"])}/suite.json; data: report.json.</p>',
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p)


# ----------------------------------------------------------------------------- Markdown


def _md_cell(x):
    return str(x).replace("|", "\\|").replace("\n", " ")


def _md_table(cols, rows):
    out = ["| " + " | ".join(_md_cell(c) for c in cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def render_md(rep):
    s = rep["suite"]
    L = [f"# skipbench report: {s['name']}", ""]
    if s.get("description"):
        L += [s["description"], ""]
    L += ["## Suite", ""]
    L += [f"- **{k}**: {v}" for k, v in suite_rows(rep)]
    for w in rep["provenance"]["warnings"]:
        L += ["", f"> **Warning:** {w}"]
    L += ["", "Claims at a glance:", "", _md_table(["#", "claim", "verdict"], [
        [str(c["id"]), c["claim"], f"**{c['verdict']}**"] for c in rep["claims"]])]
    L += ["", "## Claims", "",
          "Each of the paper's claims as a stated test with seeds as the unit (effect, interval, margin, n, the "
          "deciding rule, and what would decide an inconclusive one). With k comparisons in one claim each is "
          "decided at 0.05/k (Bonferroni). Only completed runs enter a statistic.", ""]
    rows = []
    for c in rep["claims"]:
        e = c["evidence"]
        ev = e["lead"] + "".join(f"<br>• {i}" for i in e["items"]) + (f"<br>{e['tail']}" if e["tail"] else "")
        if c["evidence"]["seeds"]:
            ev += f" (statistic: {c['evidence']['statistic']}; seeds: " \
                  f"{', '.join(str(x) for x in c['evidence']['seeds'])})"
        ev += "".join(f"<br>Note: {n}" for n in c.get("notes") or [])
        est, margin, n = claim_stats(c)
        v = f"**{c['verdict']}**" + (f"<br>{c['reason']}" if c.get("reason") else "") + (
            f"<br>_What would decide it:_ {c['decide']}" if c.get("decide") else "")
        rows.append([f"**{c['id']}. {c['claim']}** — _{c['paper_statement']}_", c["test"], est, margin, n, ev, v])
    L += [_md_table(["claim (paper)", "test", "estimate [CI]", "margin", "n", "evidence in this suite", "verdict"],
                    rows), ""]
    if rep.get("peers"):
        L += ["## Peers against the dense frontier", "", PEER_INTRO, "",
              _md_table(PEER_COLS, [peer_row(d) for d in rep["peers"]]), ""]
    L += ["## Figures", "",
          "Only completed runs are drawn; points are means over a configuration's completed seeds, error bars ±1 "
          "sample std.", ""]
    for f in rep["figures"]:
        L += [f"### {f['title']}", ""]
        if f["status"] != "written":
            L += [f"> Figure skipped: {f['note'] or 'no data'}.", ""]
            continue
        L += [f"![{f['title']}]({f['files']['png']})", "",
              f"_{f['caption']}{' Note: ' + f['note'] + '.' if f.get('note') else ''}_ "
              f"([SVG]({f['files']['svg']}))", ""]
    L += ["## Configurations (aggregated over seeds)", "", _md_table(GROUP_COLS, [group_row(g) for g in rep["groups"]]),
          "", "## Runs", "", _md_table(RUN_COLS, [run_row(r) for r in rep["runs"]]), "",
          "## Notes and definitions", ""]
    L += [f"- **{k}**: {v}" for k, v in DEFINITIONS]
    L += [f"- {t}" for t in thresholds_text()]
    L += [f"- {n}" for n in rep["notes"]]
    L += ["", f"_Generated by reports/render_report.py (schema {rep['schema']} v{rep['schema_version']}); data: "
              f"report.json._", ""]
    return "\n".join(L)
