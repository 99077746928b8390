#!/usr/bin/env bash
# Bytes an idle dashboard writes to its terminal: `vmlife -c test:///…/node-20.xml` (20
# running test-driver domains; 19 rows fit the table at 120×32) and `vmlife --demo`, each
# in a private tmux of COLS×ROWS (120×32) whose pane output is copied with
# `tmux pipe-pane -o 'cat >> FILE'` from before the program starts. After SETTLE (5) s,
# the file's growth over DURATION (60) s, sampled every second, is the figure; frames are
# counted by their synchronized-update marker (ESC [?2026h).
# Target: < 60 KB per idle minute with 20 VMs.
#
#   scripts/perf/idle-bytes.sh        (VMLIFE=path to test another binary)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
perf_need tmux awk
perf_init
perf_vmlife
BIN=$PERF_DIR/vmlife
perf_write_node "$PERF_DIR/node-20.xml" 20

size() { stat -c %s "$1"; }
# Frames (synchronized updates begun) in bytes [$2, $3) of file $1.
frames() { tail -c +"$(($2 + 1))" "$1" | head -c "$(($3 - $2))" | LC_ALL=C grep -aoF $'\e[?2026h' | wc -l; }

# measure NAME DESCRIPTION VMLIFE-ARGS...
measure() {
  local name=$1 desc=$2 out pid b0 b1 prev cur i rows timeline="" first
  shift 2
  out="$PERF_DIR/$name.out"
  : >"$out"
  # The program waits for the go file, so the pipe is in place before its first byte.
  pid=$(perf_session "$name" "while [ ! -e $PERF_DIR/$name.go ]; do sleep 0.05; done; exec $BIN $*")
  perf_tmux pipe-pane -o -t "$name" "exec cat >> $out"
  touch "$PERF_DIR/$name.go"
  perf_wait_screen "$name" 'VMs [0-9]+/[0-9]+' 30
  sleep "$PERF_SETTLE"
  rows=$(perf_visible_rows "$name")
  b0=$(size "$out"); prev=$b0
  for ((i = 1; i <= PERF_DURATION; i++)); do
    sleep 1
    cur=$(size "$out")
    ((cur > prev)) && timeline="$timeline t+${i}s:$((cur - prev))B"
    prev=$cur
  done
  b1=$(size "$out")
  [ -e "/proc/$pid" ] || perf_die "vmlife ($name) exited during the measurement"
  first=$(frames "$out" 0 "$b0")
  printf '%-8s %-44s rows %3s  %6d bytes in %ss idle = %5.1f KB/min, %d frames (start-up + settle: %d bytes, %d frames)\n' \
    "$name" "$desc" "$rows" $((b1 - b0)) "$PERF_DURATION" \
    "$(awk -v b=$((b1 - b0)) -v s="$PERF_DURATION" 'BEGIN { print b / 1000 * 60 / s }')" \
    "$(frames "$out" "$b0" "$b1")" "$b0" "$first"
  echo "         writes per second:${timeline:- none}"
  perf_stop_session "$name" "$pid"
}

perf_machine
echo "command: scripts/perf/idle-bytes.sh  (SETTLE=$PERF_SETTLE DURATION=$PERF_DURATION COLS=$PERF_COLS ROWS=$PERF_ROWS)"
echo "binary:  $PERF_BINARY; each run in tmux ${PERF_COLS}x${PERF_ROWS}"
measure node20 "vmlife -c test:///…/node-20.xml (20 running)" -c "test://$PERF_DIR/node-20.xml"
measure demo "vmlife --demo" --demo
echo "target: < 60 KB per idle minute with 20 VMs"
