# suite_kill.sh (sourced by the CLI suite tests): kill_suite_mid_run BIN SPEC OUT RUN starts `suite run SPEC --out
# OUT` in its own process group, waits until run RUN (e.g. gated/seed0) has written a checkpoint, SIGKILLs the
# whole group, and waits until no run of OUT shows as running (SIGKILL takes a moment to land on every process).
# Leaves `suite status OUT` in OUT/.status for the caller to inspect.
kill_suite_mid_run() {
  local bin="$1" spec="$2" out="$3" run="$4" pid
  setsid "$bin" suite run "$spec" --out "$out" --no-report >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do
    [[ -f "$out/runs/$run/checkpoint/state.json" ]] && break
    sleep 0.05
  done
  kill -9 -- -"$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  for _ in $(seq 1 40); do
    "$bin" suite status "$out" >"$out/.status"
    grep -q " running " "$out/.status" || break
    sleep 0.05
  done
}
