#!/usr/bin/env bash
# Many hosts (issue 13): HOSTS (20) private libvirtds, each serving a test-driver node
# file of VMS (200) running domains over the remote protocol
# (`test+unix:///ABS/node.xml?socket=…`: the daemon opens the file for that connection),
# plus one more daemon that is frozen with SIGSTOP to play a hung host. Each daemon runs
# unprivileged (as `nobody` when root) with every directory in this run's temp dir; the
# host's qemu:///system is never contacted. Measures:
#   ls       `vmlife ls` over the HOSTS healthy hosts: whole-process wall time (connect and
#            one poll of every host, in parallel), median of RUNS (5)
#   first    the dashboard (120×32, in tmux): from the process start to the first frame
#            with every host live and every VM counted (HOSTS+1 hosts)
#   rss      the dashboard's VmRSS and VmHWM after the idle window
#   idle     the dashboard's CPU over DURATION (60) s, every host healthy, no key pressed
#   frozen   the same window after SIGSTOP of the extra daemon: the dashboard's CPU, and
#            the healthy hosts' refresh: the largest gap between two polls of a host
#            (from dashboard.log at RUST_LOG=debug), against the same figure in `idle`
#            (target: no larger than the refresh plus its round trip)
#
#   scripts/perf/fleet.sh        (VMLIFE=path, HOSTS=20, VMS=200, DURATION=60, RUNS=5)
#   PERF_RECORD=/tmp/fleet.data  also profiles the idle window (`perf report -i …`)
#   KEEP_LOG=/tmp/fleet.log      keeps the dashboard's log (RUST_LOG=debug: every poll)
#   PERF_FREQ=499 PERF_CALLGRAPH="--call-graph dwarf"   perf record's rate and call graphs
#   CTXT_BY_NAME=1               also logs context switches and CPU ticks per thread name
# Each window also reports the dashboard's context switches and its full/light polls.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
perf_need virsh tmux awk setpriv
HOSTS=${HOSTS:-20}
VMS=${VMS:-200}
DURATION=${DURATION:-60}
RUNS=${RUNS:-5}
PERF_COLS=120
PERF_ROWS=32
perf_init
perf_vmlife
BIN=$PERF_DIR/vmlife
CLK_TCK=$(getconf CLK_TCK)
unset LIBVIRT_DEFAULT_URI VMLIFE_CONFIG VMLIFE_STATE_DIR
chmod 711 "$PERF_DIR"
mkdir -p "$PERF_DIR/nodes"
chmod 755 "$PERF_DIR/nodes"

# Daemon K in $PERF_DIR/lK; prints nothing, leaves its pid in $PERF_DIR/lK.pid.
start_daemon() {
  local k=$1 l=$PERF_DIR/l$1 i
  mkdir -p "$l"/{run,cfg/libvirt,cache,data}
  local daemon=(env -i HOME="$l" XDG_RUNTIME_DIR="$l/run" XDG_CONFIG_HOME="$l/cfg"
    XDG_CACHE_HOME="$l/cache" XDG_DATA_HOME="$l/data"
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    "$(command -v libvirtd)" --timeout=1800)
  if [ "$(id -u)" -eq 0 ]; then
    chown -R "$(id -u nobody):$(id -g nobody)" "$l"
    chmod 700 "$l" "$l"/*
    daemon=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups "${daemon[@]}")
  fi
  "${daemon[@]}" </dev/null >"$PERF_DIR/libvirtd-$k.log" 2>&1 &
  for ((i = 0; ; i++)); do
    [ -S "$l/run/libvirt/libvirt-sock" ] && [ -s "$l/run/libvirt/libvirtd.pid" ] && break
    [ $i -lt 300 ] || { tail -20 "$PERF_DIR/libvirtd-$k.log" >&2; perf_die "libvirtd $k did not come up in 30 s"; }
    sleep 0.1
  done
  cp "$l/run/libvirt/libvirtd.pid" "$PERF_DIR/l$k.pid"
}

uri_of() { echo "test+unix://$PERF_DIR/nodes/h$1.xml?socket=$PERF_DIR/l$1/run/libvirt/libvirt-sock"; }

perf_log "$(perf_machine)"
perf_log "binary: $PERF_BINARY"
FROZEN=$((HOSTS + 1))
starters=()
perf_log "starting $FROZEN private libvirtds, node files of $VMS domains"
for ((k = 1; k <= FROZEN; k++)); do
  perf_write_node "$PERF_DIR/nodes/h$k.xml" "$VMS"
  chmod 644 "$PERF_DIR/nodes/h$k.xml"
  start_daemon "$k" &
  starters+=($!)
done
# Only the starters: a bare `wait` would wait for the watchdog too.
for p in "${starters[@]}"; do wait "$p"; done
for ((k = 1; k <= FROZEN; k++)); do
  [ -s "$PERF_DIR/l$k.pid" ] || perf_die "daemon $k has no pid"
  virsh -q -c "$(uri_of "$k")" list --name | grep -c . >/dev/null || perf_die "daemon $k does not serve its node file"
done

CONFIG=$PERF_DIR/config.toml
{
  for ((k = 1; k <= FROZEN; k++)); do
    printf '[[connections]]\nname = "hv%02d"\nuri = "%s"\n\n' "$k" "$(uri_of "$k")"
  done
} >"$CONFIG"
HEALTHY=$(for ((k = 1; k <= HOSTS; k++)); do printf 'hv%02d,' "$k"; done)
HEALTHY=${HEALTHY%,}
run_vmlife() { "$BIN" --config "$CONFIG" --state-dir "$PERF_DIR/state" "$@"; }

# ls over the healthy hosts.
walls=()
for ((r = 0; r <= RUNS; r++)); do
  t0=$(perf_now)
  run_vmlife --host "$HEALTHY" ls >"$PERF_DIR/ls.out"
  t1=$(perf_now)
  ((r == 0)) && continue # warm-up
  walls+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
done
rows=$(($(wc -l <"$PERF_DIR/ls.out") - 1))
[ "$rows" -eq $((HOSTS * VMS)) ] || perf_die "ls printed $rows rows, not $((HOSTS * VMS))"
LS_MEDIAN=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
perf_log "ls over $HOSTS hosts × $VMS VMs: median ${LS_MEDIAN}s of $RUNS (${walls[*]})"

# The dashboard on every host (the frozen-to-be one too).
LOG=$PERF_DIR/state/dashboard.log
t0=$(perf_now)
PID=$(perf_session dash "exec env RUST_LOG=debug $BIN --config $CONFIG --state-dir $PERF_DIR/state")
TOTAL=$((FROZEN * VMS))
perf_wait_screen dash "$FROZEN/$FROZEN hosts live" 60
perf_wait_screen dash " $TOTAL VMs" 60
t1=$(perf_now)
FIRST=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
perf_log "dashboard: every host live and $TOTAL VMs on screen after ${FIRST}s"
sleep 5

# Largest gap (s) between two polls of each host listed in $1 (hv numbers, 1-based),
# from dashboard.log lines after line $2; prints "max host".
gaps() {
  tail -n +"$2" "$LOG" | awk -v want="$1" '
    BEGIN { n = split(want, w, ","); for (i = 1; i <= n; i++) ok[w[i] - 1] = 1 }
    /poll/ && match($0, /host=[0-9]+/) {
      h = substr($0, RSTART + 5, RLENGTH - 5) + 0
      if (!(h in ok)) next
      split($1, t, "T"); split(t[2], hms, ":"); s = hms[1] * 3600 + hms[2] * 60 + hms[3]
      if (h in last && s - last[h] > gap[h]) gap[h] = s - last[h]
      last[h] = s
    }
    END { m = 0; for (h in gap) if (gap[h] > m) { m = gap[h]; mh = h } printf "%.2f hv%02d\n", m, mh + 1 }'
}

# Round trips (ms) of the polls of the hosts in $1 after line $2: "median max".
rtts() {
  tail -n +"$2" "$LOG" | awk -v want="$1" '
    BEGIN { n = split(want, w, ","); for (i = 1; i <= n; i++) ok[w[i] - 1] = 1 }
    /poll/ && match($0, /host=[0-9]+/) {
      h = substr($0, RSTART + 5, RLENGTH - 5) + 0
      if (!(h in ok) || !match($0, /rtt_ms=[0-9]+/)) next
      print substr($0, RSTART + 7, RLENGTH - 7) + 0
    }' | sort -n | awk '{ a[NR] = $1 } END { printf "%d %d\n", a[int((NR + 1) / 2)], a[NR] }'
}

# Context switches of every thread of process $1 (voluntary + involuntary), so far.
ctxt() {
  cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { n += $2 } END { print n + 0 }'
}

# The same by thread name: "name=N …" (CTXT_BY_NAME=1 logs it around each window).
ctxt_by_name() {
  cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^Name:/ { name = $2 } /ctxt_switches/ { n[name] += $2 } END { for (k in n) printf "%s=%d ", k, n[k]; print "" }'
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s %s\n' "$(cat "$t/comm" 2>/dev/null)" "$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$t/stat" 2>/dev/null)"
  done | awk '{ n[$1] += $2 } END { printf "cpu ticks:"; for (k in n) printf " %s=%d", k, n[k]; print "" }'
}

window() {
  local label=$1 line t0 c0 t1 c1 x0 x1 polls
  line=$(($(wc -l <"$LOG") + 1))
  x0=$(ctxt "$PID")
  [ -n "${CTXT_BY_NAME:-}" ] && perf_log "$label: context switches by thread name, so far: $(ctxt_by_name "$PID")"
  c0=$(perf_ticks "$PID"); t0=$(perf_now)
  if [ -n "${PERF_RECORD:-}" ] && [ "$label" = "${PERF_WINDOW:-idle}" ]; then
    perf record -q -F "${PERF_FREQ:-499}" ${PERF_CALLGRAPH:--g} -p "$PID" -o "$PERF_RECORD" -- sleep "$DURATION" 2>/dev/null
  else
    sleep "$DURATION"
  fi
  c1=$(perf_ticks "$PID"); t1=$(perf_now)
  x1=$(ctxt "$PID")
  [ -n "${CTXT_BY_NAME:-}" ] && perf_log "$label: context switches by thread name, so far: $(ctxt_by_name "$PID")"
  polls=$(tail -n +"$line" "$LOG" | awk '/ poll/ { if (/light=true/) l++; else f++ } END { printf "%d full, %d light", f, l }')
  local secs pct gap
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  pct=$(perf_pct $((c1 - c0)) "$secs")
  gap=$(gaps "$(seq -s, 1 "$HOSTS")" "$line")
  rtt=$(rtts "$(seq -s, 1 "$HOSTS")" "$line")
  perf_log "$label: dashboard CPU ${pct}% of a core over ${secs}s; healthy hosts' largest poll gap ${gap}; poll round trip median/max ${rtt} ms; $((x1 - x0)) context switches (all threads); polls: $polls"
  eval "${label}_PCT=$pct; ${label}_GAP='$gap'; ${label}_RTT='$rtt'"
}

window idle
RSS=$(awk '/^VmRSS/ { print $2 }' "/proc/$PID/status")
HWM=$(awk '/^VmHWM/ { print $2 }' "/proc/$PID/status")
perf_log "dashboard RSS $((RSS / 1024)) MiB (peak $((HWM / 1024)) MiB)"

kill -STOP "$(cat "$PERF_DIR/l$FROZEN.pid")"
FNAME=$(printf 'hv%02d' "$FROZEN")
perf_wait_screen dash "STALE $FNAME" 30
perf_log "$FNAME frozen: STALE on screen"
window frozen
perf_screen dash >"$PERF_DIR/frozen.screen"
kill -CONT "$(cat "$PERF_DIR/l$FROZEN.pid")"
perf_wait_screen dash "$FROZEN/$FROZEN hosts live" 60
perf_log "$FNAME thawed: live again"
perf_stop_session dash "$PID"
[ -z "${KEEP_LOG:-}" ] || cp "$LOG" "$KEEP_LOG"

cat <<EOF

$(perf_machine)
binary:  $PERF_BINARY
fleet:   $HOSTS healthy hosts × $VMS running test-driver domains (+1 frozen), each its own private libvirtd

| figure | value | target |
|---|---:|---|
| \`vmlife ls\` over $HOSTS hosts ($((HOSTS * VMS)) VMs), wall, median of $RUNS | ${LS_MEDIAN} s | < 1 s |
| dashboard: start → every host live, every VM counted ($FROZEN hosts) | ${FIRST} s | |
| dashboard: one poll of a host (state of its $VMS domains + figures of its VMs in view), round trip, median / max over the idle window; all hosts polled in parallel | ${idle_RTT% *} / ${idle_RTT#* } ms | a full refresh < 1 s |
| dashboard RSS (peak) | $((RSS / 1024)) MiB ($((HWM / 1024)) MiB) | < 100 MB |
| dashboard CPU, idle, ${DURATION} s | ${idle_PCT} % of a core | < 1 % |
| largest gap between two polls of a healthy host, all healthy | ${idle_GAP% *} s (${idle_GAP#* }) | |
| dashboard CPU, one host frozen, ${DURATION} s | ${frozen_PCT} % of a core | |
| largest gap between two polls of a healthy host, one frozen | ${frozen_GAP% *} s (${frozen_GAP#* }) | no larger than all healthy |
EOF
echo
echo "the screen with $FNAME frozen:"
cat "$PERF_DIR/frozen.screen"
