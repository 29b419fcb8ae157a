#!/usr/bin/env bash
# ci/fuzz.sh: libFuzzer targets for skipbench's parsers (tests/fuzz/fuzz_*.cpp: config files, --set overrides,
# token shards, checkpoint/run JSON state, suite files), built with clang-14 and ASan + UBSan over the parser sources (Boost.JSON
# and the standard library only: no LibTorch), run from the committed seed corpora in tests/fuzz/corpus/.
#   bash ci/fuzz.sh --smoke          each target for ~12 s (ctest fuzz.smoke; about a minute in all)
#   bash ci/fuzz.sh --runs 10000000  each target for 10 million executions (the recorded long run; RESULTS.md)
#   --target NAME                    only that target (config, override, shard, json_state, suite), e.g. one per core
# A crash, a sanitizer report or an exception other than skipbench::Error fails the script (exit 1) and leaves
# the reproducer in build/fuzz/artifacts/. New corpus entries go to build/fuzz/corpus/ (the committed seeds stay
# as they are).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mode=smoke runs=0 seconds=12 targets="config override shard json_state suite"
while (($#)); do
  case "$1" in
    --smoke) mode=smoke; shift ;;
    --runs) mode=runs; runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --target) targets="$2"; shift 2 ;;
    *) echo "usage: ci/fuzz.sh [--smoke] [--runs N] [--seconds S] [--target NAME]" >&2; exit 2 ;;
  esac
done
cxx=$(command -v clang++-14 || command -v clang++ || true)
[[ -n "$cxx" ]] || { echo "fuzz: clang++-14 is missing: install clang-14 and libclang-rt-14-dev (bash ci/setup.sh)" >&2; exit 2; }
out=build/fuzz
mkdir -p "$out/artifacts" "$out/corpus"
srcs=(harness/common/error.cpp harness/common/fs.cpp harness/common/json_io.cpp harness/common/json_field.cpp harness/config/config.cpp
      harness/config/options.cpp harness/data/shard.cpp harness/suite/suite_parse.cpp)
common=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=undefined -I.
        -DSKIPBENCH_VERSION='"fuzz"' -DSKIPBENCH_SOURCE_DIR="\"$root\"")
# the parser sources once, instrumented for coverage (fuzzer-no-link) and the sanitizers
mkdir -p "$out/obj"
objs=()
for src in "${srcs[@]}"; do
  obj="$out/obj/$(echo "$src" | tr / _).o"
  objs+=("$obj")
  if [[ ! -f "$obj" || "$src" -nt "$obj" ]] || [[ -n "$(find harness -name '*.h' -newer "$obj" | head -1)" ]]; then
    "$cxx" "${common[@]}" -fsanitize=fuzzer-no-link,address,undefined -c "$src" -o "$obj"
  fi
done
status=0
for t in $targets; do
  bin="$out/fuzz_$t"
  if [[ ! -x "$bin" || "tests/fuzz/fuzz_$t.cpp" -nt "$bin" ]] || [[ -n "$(find "${objs[@]}" -newer "$bin" | head -1)" ]]; then
    echo "fuzz: building fuzz_$t"
    "$cxx" "${common[@]}" -fsanitize=fuzzer,address,undefined "tests/fuzz/fuzz_$t.cpp" "${objs[@]}" -lboost_json -o "$bin"
  fi
  mkdir -p "$out/corpus/$t"
  limit=(-max_total_time="$seconds")
  [[ $mode == runs ]] && limit=(-runs="$runs")
  # a smoke run (ctest fuzz.smoke, e.g. inside ci/sanitize.sh) keeps its own log beside a long run's
  log="$out/fuzz_$t.log"; [[ $mode == smoke ]] && log="$out/fuzz_$t.smoke.log"
  if ASAN_OPTIONS=detect_leaks=1 "$bin" "${limit[@]}" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$out/artifacts/$t-" "$out/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    echo "fuzz: $t: $(grep -aE '^#[0-9]+.*DONE' "$log" | tail -1 | sed 's/  */ /g') (0 crashes)"
  else
    status=1
    echo "fuzz: $t: FAILED, see $log and $out/artifacts/" >&2
    grep -E "ERROR|SUMMARY|terminate|abort" "$log" | head -5 >&2 || true
  fi
done
exit $status
