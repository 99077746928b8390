#!/usr/bin/env bash
# CPU of an idle dashboard: `vmlife --demo` (12 VMs) and `vmlife -c test:///…/node-20.xml`
# (20 running test-driver domains), each in a private tmux of COLS×ROWS (120×32), left
# alone for SETTLE (5) s, then utime+stime from /proc/<pid>/stat sampled every second
# for DURATION (60) s. Prints % of one core (mean, and the busiest second) for vmlife
# and, for reference, the tmux server that plays the terminal.
# Target: < 1 % of one core.
#
#   scripts/perf/idle-cpu.sh          (VMLIFE=path to test another binary)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
perf_need tmux awk
perf_init
perf_vmlife
BIN=$PERF_DIR/vmlife
perf_write_node "$PERF_DIR/node-20.xml" 20

# measure NAME DESCRIPTION VMLIFE-ARGS...
measure() {
  local name=$1 desc=$2 pid server t0 s0 w0 t1 s1 w1 prev cur max=0 rows i
  shift 2
  pid=$(perf_session "$name" "exec $BIN $*")
  perf_wait_screen "$name" 'VMs [0-9]+/[0-9]+' 30
  sleep "$PERF_SETTLE"
  rows=$(perf_visible_rows "$name")
  server=$(perf_tmux display-message -p -t "$name" '#{pid}')
  t0=$(perf_ticks "$pid"); s0=$(perf_ticks "$server"); w0=$(perf_now)
  prev=$t0
  for ((i = 0; i < PERF_DURATION; i++)); do
    sleep 1
    cur=$(perf_ticks "$pid")
    ((cur - prev > max)) && max=$((cur - prev))
    prev=$cur
  done
  t1=$(perf_ticks "$pid"); s1=$(perf_ticks "$server"); w1=$(perf_now)
  [ -e "/proc/$pid" ] || perf_die "vmlife ($name) exited during the measurement"
  local secs
  secs=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.1f", b - a }')
  printf '%-8s %-44s rows %3s  vmlife %5s %% (busiest second %5s %%)  tmux server %5s %%  [%s s]\n' \
    "$name" "$desc" "$rows" "$(perf_pct $((t1 - t0)) "$secs")" "$(perf_pct "$max" 1)" \
    "$(perf_pct $((s1 - s0)) "$secs")" "$secs"
  perf_stop_session "$name" "$pid"
}

perf_machine
echo "command: scripts/perf/idle-cpu.sh  (SETTLE=$PERF_SETTLE DURATION=$PERF_DURATION COLS=$PERF_COLS ROWS=$PERF_ROWS)"
echo "binary:  $PERF_BINARY; each run in tmux ${PERF_COLS}x${PERF_ROWS}, % of one core"
measure demo "vmlife --demo" --demo
measure node20 "vmlife -c test:///…/node-20.xml (20 running)" -c "test://$PERF_DIR/node-20.xml"
echo "target: vmlife < 1 % of one core"
