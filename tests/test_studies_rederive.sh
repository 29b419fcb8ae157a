#!/usr/bin/env bash
# test_studies_rederive.sh: every committed study under reports/studies/ that `skipbench report` rendered
# (suite.json + report.json) is re-rendered from its committed evidence (runs/*/seed*/run.json, metrics.jsonl.gz,
# eval_*.json) into a scratch copy, and the result must equal what is committed: report.json and report.md except
# the render time, every tables/*.tex, every figures/*.svg (clip-path names renumbered, see svgnorm; PNG and PDF
# are not compared). This is the promise README makes: the committed numbers are re-derived from the committed
# run.json files by `skipbench report reports/studies/NAME`. It fails when a reader change alters a committed
# number (e.g. a metrics reader that mishandles the compressed copies) or when a study was committed stale.
# Usage: tests/test_studies_rederive.sh [path/to/skipbench] [STUDY ...]   (from anywhere; default: every study)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$(realpath "${1:-$root/build/skipbench}")"
shift || true
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
studies=("$@")
if ((${#studies[@]} == 0)); then
  for d in "$root"/reports/studies/*/; do
    [[ -f "$d/suite.json" && -f "$d/report.json" ]] && studies+=("$(basename "$d")")
  done
fi
((${#studies[@]} > 0)) || { echo "FAIL: no rendered study under reports/studies/"; exit 1; }
fails=0
for name in "${studies[@]}"; do
  src="$root/reports/studies/$name"
  dst="$tmp/$name"
  mkdir -p "$dst"
  cp -r "$src/suite.json" "$src/runs" "$dst/"
  if ! "$bin" report "$dst" >"$tmp/$name.log" 2>&1; then
    echo "FAIL $name: skipbench report exited non-zero:"; tail -5 "$tmp/$name.log"; fails=$((fails + 1)); continue
  fi
  bad=()
  # the render time is the one field that must differ
  norm() { grep -v -E '"generated_at":|^- \*\*rendered\*\*:' "$1"; }
  # matplotlib names each SVG clip path by a hash of its rectangle at full float precision, whose last bits differ
  # between machines (seen: an AMD EPYC and an Intel Xeon name the same peers figure's second axes differently);
  # the rectangle itself is written at 6 decimals and compared. The names are renumbered in order of
  # first appearance, so which element uses which clip is still compared.
  svgnorm() { perl -pe 's/(id="|url\(#)p([0-9a-f]{10})\b/$1 . "clip" . ($m{$2} \/\/= ++$n)/ge' "$1"; }
  for f in report.json report.md; do
    cmp -s <(norm "$src/$f") <(norm "$dst/$f") || bad+=("$f")
  done
  while IFS= read -r rel; do
    [[ -f "$dst/$rel" ]] && cmp -s <(svgnorm "$src/$rel") <(svgnorm "$dst/$rel") || bad+=("$rel")
  done < <(cd "$src" && ls tables/*.tex figures/*.svg 2>/dev/null)
  # nothing new appears either (a figure or table the committed copy lacks)
  while IFS= read -r rel; do
    [[ -f "$src/$rel" ]] || bad+=("$rel (not committed)")
  done < <(cd "$dst" && ls tables/*.tex figures/*.svg 2>/dev/null)
  if ((${#bad[@]})); then
    echo "FAIL $name: re-rendered from its runs, these differ from the committed copy: ${bad[*]}"
    [[ " ${bad[*]} " == *" report.json "* ]] && diff <(norm "$src/report.json") <(norm "$dst/report.json") | head -10 || true
    fails=$((fails + 1))
  else
    echo "ok   $name: report.json, report.md, $(cd "$src" && ls tables/*.tex 2>/dev/null | wc -l) tables and" \
      "$(cd "$src" && ls figures/*.svg 2>/dev/null | wc -l) SVG figures re-derived from its $(ls -d "$src"/runs/*/seed* | wc -l) runs"
  fi
done
((fails == 0)) || { echo "$fails of ${#studies[@]} studies do not re-derive"; exit 1; }
echo "all ${#studies[@]} committed studies re-derive from their runs"
