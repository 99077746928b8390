#!/usr/bin/env bash
# Host-wide CPU of an open dashboard against a PRIVATE libvirtd holding 500 defined and
# 10 running tiny TCG VMs (diskless, 64 MiB, type='qemu'), next to a naive poller.
#
# Set-up: an unprivileged libvirtd (as `nobody` when run as root) with every directory in
# a temp dir, reached at qemu+unix:///session?socket=…; the host's qemu:///system is
# never contacted. Everything started here is stopped on exit (see lib.sh).
#
# Phases of DURATION (60) s each, figures as % of one core from /proc/<pid>/stat:
#   baseline   nothing polling: libvirtd (+ its virtlogd) and the 10 QEMU processes
#   dashboard  `vmlife -c URI` in a private tmux 120×32, after SETTLE (5) s: vmlife +
#              libvirtd + QEMU (+ the tmux server, shown apart); also the bytes it wrote
#   baseline   again, to see the drift of the idle guests
#   naive      `virsh -c URI domstats` (every group, every domain) started once a second:
#              the virsh processes (the loop shell's children, `times`) + libvirtd + QEMU
# "over baseline" subtracts the mean of the two baselines (libvirtd and QEMU only).
# With BREAKDOWN=1, then the CPU per call of each stats group alone (state, cpu-total,
# balloon, vcpu, block; of the running domains) and of the two calls a dashboard poll
# makes, each sent BURST (300) times over one connection.
# Target: the dashboard < 2 % of one core over baseline.
#
#   scripts/perf/host-cpu.sh          (VMLIFE=path, DEFINED=500, RUNNING=10, BREAKDOWN=1)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
perf_need tmux virsh libvirtd virtlogd qemu-system-x86_64 awk
DEFINED=${DEFINED:-500}
RUNNING=${RUNNING:-10}
GUEST_SETTLE=${GUEST_SETTLE:-20}
perf_init
perf_vmlife
BIN=$PERF_DIR/vmlife
unset LIBVIRT_DEFAULT_URI

# --- the private daemon --------------------------------------------------------------
t_setup=$(date +%s)
perf_libvirtd
perf_log "defining $DEFINED tiny VMs"
perf_define_tiny "$DEFINED"

perf_log "starting $RUNNING of them"
for ((i = 0; i < RUNNING; i++)); do printf 'start tiny-%03d\n' "$i"; done | vsh >/dev/null
[ "$(vsh list --name | grep -c .)" -eq "$RUNNING" ] || perf_die "not every VM is running"
QEMU=()
for ((i = 0; i < RUNNING; i++)); do
  QEMU+=("$(cat "$L/run/libvirt/qemu/run/$(printf 'tiny-%03d' "$i").pid")")
done
VIRTLOGD=$(cat "$L/run/libvirt/virtlogd.pid" 2>/dev/null || true)
perf_log "set up in $(($(date +%s) - t_setup)) s; letting the guests settle for $GUEST_SETTLE s"
sleep "$GUEST_SETTLE"

LIBVIRT=("$LIBVIRTD" ${VIRTLOGD:+"$VIRTLOGD"})
declare -A PCT

# sample NAME EXTRA-PIDS... : ticks of libvirt, qemu and the extra pids over the phase,
# while the phase's command runs (PHASE_WAIT: a pid to wait for, else DURATION s).
begin() { W0=$(perf_now); L0=$(perf_ticks "${LIBVIRT[@]}"); Q0=$(perf_ticks "${QEMU[@]}"); }
finish() {
  local name=$1 secs
  W1=$(perf_now); L1=$(perf_ticks "${LIBVIRT[@]}"); Q1=$(perf_ticks "${QEMU[@]}")
  secs=$(awk -v a="$W0" -v b="$W1" 'BEGIN { printf "%.2f", b - a }')
  PCT[$name.secs]=$secs
  PCT[$name.libvirtd]=$(perf_pct $((L1 - L0)) "$secs")
  PCT[$name.qemu]=$(perf_pct $((Q1 - Q0)) "$secs")
}

perf_log "baseline 1: ${PERF_DURATION} s, nothing polling"
begin; sleep "$PERF_DURATION"; finish base1

perf_log "dashboard: vmlife -c URI in tmux ${PERF_COLS}x${PERF_ROWS}"
OUT=$PERF_DIR/dashboard.out
: >"$OUT"
pid=$(perf_session dash "while [ ! -e $PERF_DIR/dash.go ]; do sleep 0.05; done; exec $BIN -c '$URI'")
perf_tmux pipe-pane -o -t dash "exec cat >> $OUT"
touch "$PERF_DIR/dash.go"
t_open=$(perf_now)
perf_wait_screen dash "VMs $DEFINED/$DEFINED" 120
t_shown=$(perf_now)
sleep "$PERF_SETTLE"
server=$(perf_tmux display-message -p -t dash '#{pid}')
V0=$(perf_ticks "$pid"); T0=$(perf_ticks "$server"); B0=$(stat -c %s "$OUT")
begin
timeline=""
prevl=$L0
prevv=$V0
for ((i = 1; i <= PERF_DURATION; i++)); do
  sleep 1
  cl=$(perf_ticks "${LIBVIRT[@]}"); cv=$(perf_ticks "$pid")
  timeline="$timeline $((cl - prevl))/$((cv - prevv))"
  prevl=$cl; prevv=$cv
done
finish dash
V1=$(perf_ticks "$pid"); T1=$(perf_ticks "$server"); B1=$(stat -c %s "$OUT")
[ -e "/proc/$pid" ] || perf_die "vmlife exited during the measurement"
rows=$(perf_visible_rows dash)
PCT[dash.vmlife]=$(perf_pct $((V1 - V0)) "${PCT[dash.secs]}")
PCT[dash.tmux]=$(perf_pct $((T1 - T0)) "${PCT[dash.secs]}")
frames=$(tail -c +"$((B0 + 1))" "$OUT" | head -c "$((B1 - B0))" | LC_ALL=C grep -aoF $'\e[?2026h' | wc -l)
perf_stop_session dash "$pid"

perf_log "baseline 2: ${PERF_DURATION} s, nothing polling"
begin; sleep "$PERF_DURATION"; finish base2

perf_log "naive: virsh domstats (all groups, all domains) once a second for ${PERF_DURATION} s"
begin
naive=$(env PERF_TAG="$PERF_DIR/" URI="$URI" N="$PERF_DURATION" bash -c '
  end=$(($(date +%s) + N)); runs=0
  while [ "$(date +%s)" -lt "$end" ]; do
    virsh -q -c "$URI" domstats >/dev/null & sleep 1; wait; runs=$((runs + 1))
  done
  echo "$runs"; times')  # not `times | …`: a pipeline would run it in a fresh subshell
finish naive
runs=$(echo "$naive" | head -1)
# `times`, second line: children user and system, like 0m1.234s 0m0.567s.
PCT[naive.virsh]=$(echo "$naive" | tail -1 | awk -v s="${PCT[naive.secs]}" '
  function sec(t) { split(t, a, "m"); sub("s", "", a[2]); return a[1] * 60 + a[2] }
  { printf "%.2f", 100 * (sec($1) + sec($2)) / s }')

# Optional: what each stats request costs the host per call. Each is sent BURST (300)
# times back to back over ONE virsh connection (like the dashboard's), so its cost
# stands well above the idle guests' noise; the baselines' mean rate over the same time
# is subtracted. A dashboard poll is two calls: "all" (the active domains with every
# group it asks: state, cpu-total, balloon, vcpu, block) and "state-inactive".
GROUPS_DONE=()
if [ "${BREAKDOWN:-0}" = 1 ]; then
  BURST=${BURST:-300}
  for g in state-inactive state cpu-total balloon vcpu block all; do
    case $g in
      state-inactive) req="domstats --state --list-inactive" ;;
      all) req="domstats --state --cpu-total --balloon --vcpu --block --list-active" ;;
      *) req="domstats --$g --list-active" ;;
    esac
    perf_log "breakdown: '$req' $BURST times"
    begin
    for ((i = 0; i < BURST; i++)); do echo "$req"; done |
      env PERF_TAG="$PERF_DIR/" virsh -q -c "$URI" >/dev/null
    finish "g-$g"
    GROUPS_DONE+=("$g")
  done
fi

# --- report ------------------------------------------------------------------------------
over() { awk -v x="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%+.2f", x - (a + b) / 2 }'; }
sum() { awk 'BEGIN { s = 0; for (i = 1; i < ARGC; i++) s += ARGV[i]; printf "%.2f", s }' "$@"; }
echo
perf_machine
echo "command: scripts/perf/host-cpu.sh  (DEFINED=$DEFINED RUNNING=$RUNNING SETTLE=$PERF_SETTLE DURATION=$PERF_DURATION BREAKDOWN=${BREAKDOWN:-0})"
echo "binary:  $PERF_BINARY"
echo "daemon:  private libvirtd as $(ps -o user= -p "$LIBVIRTD"), $(libvirtd --version | awk '{print $NF}'), QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}'), $DEFINED defined, $RUNNING running (TCG, 64 MiB)"
echo "% of one core     libvirtd  qemu×$RUNNING  poller   total   over baseline (libvirtd+qemu+poller)"
for p in base1 dash base2 naive; do
  case $p in
    dash) poller=${PCT[dash.vmlife]} ;;
    naive) poller=${PCT[naive.virsh]} ;;
    *) poller=0.00 ;;
  esac
  ol=$(over "${PCT[$p.libvirtd]}" "${PCT[base1.libvirtd]}" "${PCT[base2.libvirtd]}")
  oq=$(over "${PCT[$p.qemu]}" "${PCT[base1.qemu]}" "${PCT[base2.qemu]}")
  printf '%-16s %8s %9s %7s %7s   %s  (libvirtd %s, qemu %s, poller %s)\n' "$p" \
    "${PCT[$p.libvirtd]}" "${PCT[$p.qemu]}" "$poller" \
    "$(sum "${PCT[$p.libvirtd]}" "${PCT[$p.qemu]}" "$poller")" \
    "$(sum "$ol" "$oq" "$poller")" "$ol" "$oq" "$poller"
done
echo "dashboard: first screen with $DEFINED VMs after $(awk -v a="$t_open" -v b="$t_shown" 'BEGIN { printf "%.1f", b - a }') s; $rows rows visible; tmux server ${PCT[dash.tmux]} %; wrote $((B1 - B0)) bytes in ${PCT[dash.secs]} s ($frames frames)"
echo "dashboard, per second, libvirt/vmlife ticks (1 tick = $((1000 / CLK_TCK)) ms):$timeline"
echo "naive: $runs virsh runs in ${PCT[naive.secs]} s"
# Per call, in ms: (ticks-as-% − baseline %) × seconds × 10 / calls.
per_call() { awk -v p="$1" -v a="$2" -v b="$3" -v s="$4" -v n="$5" 'BEGIN { printf "%.2f", (p - (a + b) / 2) * s * 10 / n }'; }
for g in "${GROUPS_DONE[@]}"; do
  cl=$(per_call "${PCT[g-$g.libvirtd]}" "${PCT[base1.libvirtd]}" "${PCT[base2.libvirtd]}" "${PCT[g-$g.secs]}" "$BURST")
  cq=$(per_call "${PCT[g-$g.qemu]}" "${PCT[base1.qemu]}" "${PCT[base2.qemu]}" "${PCT[g-$g.secs]}" "$BURST")
  printf 'per call %-14s libvirtd %6s ms  qemu×%s %6s ms  (%s calls in %s s)\n' \
    "$g" "$cl" "$RUNNING" "$cq" "$BURST" "${PCT[g-$g.secs]}"
done
echo "target: the dashboard < 2 % of one core over baseline"
