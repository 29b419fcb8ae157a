#!/usr/bin/env bash
# ci/gpu/fetch_reference.sh: export the paper's released PyTorch code (github.com/tim-lawson/skip-middle) from a
# local git mirror into .reference/skip-middle (ignored by git, never committed: the project only *imports* it, by
# path, from profiling/bench/reference_throughput.py), and record the exported commit in .reference/skip-middle.COMMIT.
# Idempotent: when the recorded commit is the one asked for and the folder is there, nothing is done.
#
# Usage: bash ci/gpu/fetch_reference.sh [COMMIT]      (default: the mirror's HEAD)
# env:   SKIPBENCH_REFERENCE_MIRROR  git directory (bare or not) holding the reference's history
#        (default /work/.mirror/tim-lawson+skip-middle/repo, where the session's `fetch` tool puts it)
# The GPU machine has no network: run this here, then name `.reference` in the device tool's `carry`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mirror="${SKIPBENCH_REFERENCE_MIRROR:-/work/.mirror/tim-lawson+skip-middle/repo}"
want="${1:-HEAD}"
dest_parent="$root/.reference"
dest="$dest_parent/skip-middle"
commit_file="$dest_parent/skip-middle.COMMIT"

# Read-only use of a mirror owned by someone else: don't trip git's safe.directory check.
g() { git -c safe.directory='*' --git-dir="$mirror_git" "$@"; }

if [[ -d "$mirror/.git" ]]; then mirror_git="$mirror/.git"; else mirror_git="$mirror"; fi
if [[ ! -d "$mirror_git" ]] || ! g rev-parse --verify --quiet "HEAD^{commit}" >/dev/null 2>&1; then
  cat >&2 <<EOF
fetch_reference: no git mirror of tim-lawson/skip-middle at $mirror
  Fetch it first: in the agent session, call the fetch tool with source "github:tim-lawson/skip-middle"
  (it creates /work/.mirror/tim-lawson+skip-middle/repo), or clone it anywhere and point
  SKIPBENCH_REFERENCE_MIRROR at that clone:
    git clone --bare https://github.com/tim-lawson/skip-middle /some/where.git
    SKIPBENCH_REFERENCE_MIRROR=/some/where.git bash ci/gpu/fetch_reference.sh
EOF
  exit 2
fi
if ! commit="$(g rev-parse --verify --quiet "${want}^{commit}")"; then
  echo "fetch_reference: '$want' is not a commit in $mirror" >&2
  exit 2
fi

if [[ -f "$commit_file" && -d "$dest" && "$(cat "$commit_file")" == "$commit" ]]; then
  echo "fetch_reference: .reference/skip-middle is already at $commit"
else
  mkdir -p "$dest_parent"
  tmp="$(mktemp -d "$dest_parent/.export.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  g archive --format=tar "$commit" | tar -x -C "$tmp"
  rm -rf "$dest" "$commit_file"
  mv "$tmp" "$dest"
  trap - EXIT
  echo "$commit" >"$commit_file"
  echo "fetch_reference: exported $commit to .reference/skip-middle ($(find "$dest" -type f | wc -l) files)"
fi

if ! git -C "$root" check-ignore -q .reference/skip-middle 2>/dev/null; then
  echo "fetch_reference: warning: .reference/ is not ignored by git; add '/.reference/' to .gitignore (or" \
       ".git/info/exclude) so it is never committed and can travel with the device tool's carry" >&2
fi
