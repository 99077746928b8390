#!/usr/bin/env bash
# Host-wide CPU of vmlife next to two rivals, in ONE run on ONE private libvirtd holding
# 500 defined tiny TCG VMs (diskless, 64 MiB, type='qemu'; the set-up of host-cpu.sh):
#   vmlife          `vmlife -c URI` in a private tmux 120×32
#   virtui-manager  the PyPI package (VIRTUI_VERSION, 3.3.3) in a venv, same tmux size
#   virsh domstats  `virsh -c URI domstats` (every group, every domain) once a second
# at each count of running guests in RUNNING_LIST ("10 30": the first 10, then 20 more
# are started). Per round: the guests settle (GUEST_SETTLE, 20 s), a baseline with
# nothing polling, then each tool for DURATION (60) s, after SETTLE (5) s once it shows
# its list, and a second baseline right after vmlife. Figures are % of one core from
# /proc/<pid>/stat: the tool's processes (its process tree, reaped children included),
# libvirtd (+ virtlogd) and every running QEMU;
# "over baseline" subtracts a baseline from libvirtd and QEMU (for vmlife the mean of
# the windows before and after it, for the rivals the one after vmlife). The tmux server
# (the terminal's side of a TUI) is shown apart, not in the totals.
# Also per vmlife round: the time from just before exec to the first frame showing the
# header ("vmlife" in the pane) and to the first full table (the counter "VMs N/N" on
# screen and no visible table row holding the pending marker "…"), from capture-pane
# every ~15-20 ms (a capture itself takes ~10-15 ms, then POLL_MS (5) ms of sleep).
#
# virtui-manager: installed once with pip into a venv under RIVALS_CACHE
# (~/.cache/vmlife-perf) made with Debian's python3 and --system-site-packages, so
# Debian's python3-libvirt is used (the script apt-get installs it, and python3-gi and
# python3-cairo: virtui-manager requires PyGObject, which requires pycairo; only its GTK
# viewer imports them). It reads its servers from ~/.config/virtui-manager/config.yaml
# (no CLI flag for a URI); the script writes one under the temp HOME with the private
# URI and `autoconnect: true`, so it connects and shows its first page of VM cards with
# no keypress. On this unprivileged daemon (no cgroups) virDomain.getCPUStats fails with
# VIR_ERR_OPERATION_INVALID ("cgroup CPUACCT controller is not mounted"); virtui then
# shows every VM as Stopped and stops polling it. So the script runs it through a small
# launcher that replaces libvirt.virDomain.getCPUStats with one built on domain.info()
# (same RPC count, cpu_time from info()[4]) and then calls virtui-manager's entry point;
# it checks that the running VMs on its first page then show "Running".
#
#   scripts/perf/rivals.sh      (VMLIFE=path DEFINED=500 RUNNING_LIST="10 30" DURATION=60)
#   QMP_COUNT=1 also counts the QMP commands libvirtd sends to the guests' QEMU in each
#   window (from its qemu_monitor log; what a tool costs the guests, free of their noise)
#   e.g. a short check: DEFINED=40 RUNNING_LIST="3 5" DURATION=10 GUEST_SETTLE=5 scripts/perf/rivals.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
perf_need tmux virsh libvirtd virtlogd qemu-system-x86_64 awk
DEFINED=${DEFINED:-500}
RUNNING_LIST=${RUNNING_LIST:-10 30}
GUEST_SETTLE=${GUEST_SETTLE:-20}
POLL_MS=${POLL_MS:-5}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-120}
VIRTUI_VERSION=${VIRTUI_VERSION:-3.3.3}
RIVALS_CACHE=${RIVALS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmlife-perf}
VENV=$RIVALS_CACHE/virtui-manager-$VIRTUI_VERSION
prev=0
for r in $RUNNING_LIST; do
  [[ $r =~ ^[0-9]+$ ]] && [ "$r" -gt "$prev" ] && [ "$r" -le "$DEFINED" ] ||
    perf_die "RUNNING_LIST must rise and stay <= DEFINED ($DEFINED): $RUNNING_LIST"
  prev=$r
done
unset LIBVIRT_DEFAULT_URI

# --- virtui-manager ----------------------------------------------------------------------
PY=/usr/bin/python3 # Debian's, whatever python3 comes first on PATH (pyenv, …)
missing=()
for pkg in python3-venv python3-libvirt python3-gi python3-cairo; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || perf_die "needs Debian's ${missing[*]} (apt-get install them, or run as root)"
  perf_log "apt-get install ${missing[*]}"
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
    perf_die "apt-get install ${missing[*]} failed"
fi
version_of() { "$VENV/bin/python" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' "$1" 2>/dev/null; }
if [ "$(version_of virtui-manager)" != "$VIRTUI_VERSION" ]; then
  perf_log "pip install virtui-manager==$VIRTUI_VERSION into $VENV"
  rm -rf "$VENV"
  mkdir -p "$RIVALS_CACHE"
  "$PY" -m venv --system-site-packages "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "virtui-manager==$VIRTUI_VERSION" \
    >"$RIVALS_CACHE/pip.log" 2>&1 || { tail -20 "$RIVALS_CACHE/pip.log" >&2; rm -rf "$VENV"; perf_die "pip install failed"; }
fi
VIRTUI_DESC="virtui-manager $(version_of virtui-manager) (textual $(version_of textual), rich $(version_of rich), libvirt-python $(version_of libvirt-python), $("$VENV/bin/python" --version))"

perf_init
perf_vmlife
BIN=$PERF_DIR/vmlife

# The launcher: virDomain.getCPUStats from domain.info(), then virtui-manager's main.
cat >"$PERF_DIR/virtui-launch.py" <<'PY'
import sys

import libvirt

CALLS = sys.argv.pop(1)  # a file that holds how often the replacement ran
calls = 0


def get_cpu_stats_from_info(self, total, flags=0):
    """virDomain.getCPUStats as virtui-manager uses it (total=True), from virDomainGetInfo:
    on a daemon without cgroups the real call fails with VIR_ERR_OPERATION_INVALID."""
    global calls
    info = self.info()  # [state, maxMem KiB, memory KiB, nrVirtCpu, cpuTime ns]
    calls += 1
    with open(CALLS, "w") as f:
        f.write(str(calls))
    return [{"cpu_time": info[4], "user_time": 0, "system_time": 0}]


libvirt.virDomain.getCPUStats = get_cpu_stats_from_info
sys.argv[0] = "virtui-manager"
from vmanager.wrapper import main  # noqa: E402 (after the patch)

sys.exit(main())
PY
mkdir -p "$PERF_DIR/home/.config/virtui-manager"

# Reads a virtui-manager screen: for each card whose name (tiny-NNN) and status (the line
# below, same box) are both legible, is the status right, given that tiny-000 … tiny-(N-1)
# run? Prints "readable right running-shown".
cat >"$PERF_DIR/cards.py" <<'PY'
import re, sys

n = int(sys.argv[1])
lines = sys.stdin.read().splitlines()
readable = right = running = 0
for i, line in enumerate(lines[:-1]):
    for m in re.finditer(r"tiny-(\d+)", line):
        a = line.rfind("│", 0, m.start())
        b = line.find("│", m.end())
        status = lines[i + 1][a + 1 : b].strip() if a >= 0 and b > 0 else ""
        if status not in ("Running", "Stopped", "Paused"):
            continue
        readable += 1
        running += status == "Running"
        right += (status == "Running") == (int(m.group(1)) < n)
print(readable, right, running)
PY

# Time of day as seconds.micro (bash's clock, no fork); ms between two.
now() { local t=$EPOCHREALTIME; echo "${t/,/.}"; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }

# --- the private daemon, the VMs ----------------------------------------------------------
t_setup=$(date +%s)
if [ "${QMP_COUNT:-0}" = 1 ]; then
  # libvirtd logs every QMP command it sends to a guest's QEMU (qemuMonitorSend).
  perf_libvirtd 'log_filters="1:qemu.qemu_monitor 3:*"
log_outputs="1:file:'"$PERF_DIR"'/lvd/qmp.log"'
else
  perf_libvirtd
fi
cat >"$PERF_DIR/home/.config/virtui-manager/config.yaml" <<YAML
servers:
  - name: private
    uri: "$URI"
    autoconnect: true
YAML
perf_log "defining $DEFINED tiny VMs"
perf_define_tiny "$DEFINED"
vsh start tiny-000 >/dev/null
# libvirtd builds its host capabilities on the first call that needs them (the first
# `domstats` of all groups, `capabilities`): about 2 s here, once per daemon. Pay it now,
# so that it is not in the first round's start-up times.
t=$(now)
vsh capabilities >/dev/null
WARMUP=$(ms "$t" "$(now)")
perf_log "set up in $(($(date +%s) - t_setup)) s (the first \`virsh capabilities\` took $WARMUP ms)"
CPUSTATS_ERR=$("$VENV/bin/python" - "$URI" <<'PY' 2>/dev/null
import sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
d = libvirt.open(sys.argv[1]).lookupByName("tiny-000")
try:
    print("works: %s" % d.getCPUStats(True))
except libvirt.libvirtError as e:
    print("fails (code %d%s): %s" % (e.get_error_code(),
          ", VIR_ERR_OPERATION_INVALID" if e.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID else "", e))
PY
)
perf_log "getCPUStats on this daemon $CPUSTATS_ERR"

pct() { awk -v t="$1" -v s="$2" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", 100 * t / hz / s }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

declare -A R
LIBVIRT=()
QEMU=()

# measure NAME TOOL-PID TMUX-PID: DURATION s of the tool (its tree), libvirt, QEMU, tmux.
# QMP commands libvirtd sent to the guests' QEMU so far (QMP_COUNT=1), else 0.
qmp_sent() {
  if [ "${QMP_COUNT:-0}" = 1 ]; then grep -c 'QEMU_MONITOR_SEND_MSG' "$L/qmp.log" || true; else echo 0; fi
}

measure() {
  local name=$1 tool=${2:-} tmx=${3:-} w0 w1 l0 l1 q0 q1 t0=0 t1=0 x0=0 x1=0 s m0 m1
  m0=$(qmp_sent)
  w0=$(perf_now); l0=$(perf_ticks "${LIBVIRT[@]}"); q0=$(perf_ticks "${QEMU[@]}")
  [ -z "$tool" ] || t0=$(perf_tree_ticks "$tool")
  [ -z "$tmx" ] || x0=$(perf_ticks "$tmx")
  sleep "$PERF_DURATION"
  w1=$(perf_now); l1=$(perf_ticks "${LIBVIRT[@]}"); q1=$(perf_ticks "${QEMU[@]}")
  [ -z "$tool" ] || { [ -e "/proc/$tool" ] || perf_die "$name: the tool exited during the measurement"; t1=$(perf_tree_ticks "$tool"); }
  [ -z "$tmx" ] || x1=$(perf_ticks "$tmx")
  m1=$(qmp_sent)
  s=$(secs "$w0" "$w1")
  R[$name.qmp]=$(awk -v n=$((m1 - m0)) -v s="$s" 'BEGIN { printf "%.0f", n * 60 / s }')
  R[$name.libvirtd]=$(pct $((l1 - l0)) "$s")
  R[$name.qemu]=$(pct $((q1 - q0)) "$s")
  R[$name.tool]=$(pct $((t1 - t0)) "$s")
  R[$name.tmux]=$(pct $((x1 - x0)) "$s")
  R[$name.secs]=$s
}

# start_session NAME COMMAND: the pane waits for NAME.go, writes the time to NAME.t0
# (`date`, just before exec) and execs COMMAND. Sets PID (the program) and SERVER (tmux).
start_session() {
  PID=$(perf_session "$1" "while [ ! -e $PERF_DIR/$1.go ]; do sleep 0.01; done; date +%s.%N >$PERF_DIR/$1.t0; exec $2")
  SERVER=$(perf_tmux display-message -p -t "$1" '#{pid}')
  touch "$PERF_DIR/$1.go"
  until [ -s "$PERF_DIR/$1.t0" ]; do sleep 0.005; done
  T0=$(cat "$PERF_DIR/$1.t0")
}


# A visible vmlife table row (starts with a name, not the NAME header) holding "…".
pending_rows() { grep -E '^│(▶ |  )[A-Za-z0-9]' | grep -vE '^│(▶ |  )NAME' | grep -cF '…' || true; }

vmlife_round() {
  local n=$1 scr t th="" tf="" polls=0 deadline nap
  nap=$(awk -v m="$POLL_MS" 'BEGIN { print m / 1000 }')
  perf_log "vmlife: -c URI in tmux ${PERF_COLS}x${PERF_ROWS}"
  start_session vml "$BIN -c '$URI'"
  deadline=$(($(date +%s) + BOOT_TIMEOUT))
  while :; do
    scr=$(perf_screen vml 2>/dev/null || true)
    t=$(now)
    polls=$((polls + 1))
    [ -n "$th" ] || [[ $scr != *vmlife* ]] || th=$t
    if [[ $scr == *"VMs $DEFINED/$DEFINED"* ]] && [ "$(pending_rows <<<"$scr")" -eq 0 ]; then tf=$t; break; fi
    [ "$(date +%s)" -lt "$deadline" ] || { echo "$scr" >&2; perf_die "vmlife: no full table in $BOOT_TIMEOUT s"; }
    sleep "$nap"
  done
  [ "${SHOW_SCREENS:-0}" = 1 ] && echo "$scr" >&2
  R[$n.vmlife.header]=$(ms "$T0" "$th")
  R[$n.vmlife.full]=$(ms "$T0" "$tf")
  R[$n.vmlife.poll]=$(awk -v a="$T0" -v b="$tf" -v n="$polls" 'BEGIN { printf "%.0f", (b - a) * 1000 / n }')
  perf_log "vmlife: header after ${R[$n.vmlife.header]} ms, full table after ${R[$n.vmlife.full]} ms ($polls captures)"
  sleep "$PERF_SETTLE"
  measure "$n.vmlife" "$PID" "$SERVER"
  R[$n.vmlife.rows]=$(perf_visible_rows vml)
  perf_stop_session vml "$PID"
}

virtui_round() {
  local n=$1 scr readable right running deadline c0 c1
  perf_log "virtui-manager $VIRTUI_VERSION (getCPUStats from domain.info()) in tmux ${PERF_COLS}x${PERF_ROWS}"
  start_session vtm "$VENV/bin/python $PERF_DIR/virtui-launch.py $PERF_DIR/virtui-calls"
  # The list: its first card (tiny-000, top left; its toasts cover the top right, title
  # included, so not "private (N)" in the title).
  perf_wait_screen vtm "▐.* tiny-000 " "$BOOT_TIMEOUT"
  R[$n.virtui.list]=$(ms "$T0" "$(now)")
  # Then until every readable card (name and status both on screen: its toasts and their
  # left-overs cover parts of the right column) says what libvirt says, with at least one
  # running VM among them: tiny-000 … tiny-(n-1) run.
  deadline=$(($(date +%s) + BOOT_TIMEOUT))
  while :; do
    scr=$(perf_screen vtm)
    read -r readable right running <<<"$("$PY" "$PERF_DIR/cards.py" "$n" <<<"$scr")"
    [ "$running" -eq 0 ] || [ "$right" -lt "$readable" ] || break
    [ "$(date +%s)" -lt "$deadline" ] || { echo "$scr" >&2; perf_die "virtui-manager: $right of $readable readable cards as libvirt says ($running Running) after $BOOT_TIMEOUT s"; }
    sleep 0.1
  done
  R[$n.virtui.running]=$(ms "$T0" "$(now)")
  R[$n.virtui.cards]="its $readable readable cards as libvirt says ($running Running)"
  perf_log "virtui-manager: first card after ${R[$n.virtui.list]} ms; ${R[$n.virtui.cards]} after ${R[$n.virtui.running]} ms"
  [ "${SHOW_SCREENS:-0}" = 1 ] && echo "$scr" >&2
  sleep "$PERF_SETTLE"
  c0=$(cat "$PERF_DIR/virtui-calls" 2>/dev/null || echo 0)
  measure "$n.virtui" "$PID" "$SERVER"
  c1=$(cat "$PERF_DIR/virtui-calls" 2>/dev/null || echo 0)
  R[$n.virtui.calls]=$((c1 - c0))
  scr=$(perf_screen vtm)
  read -r readable right running <<<"$("$PY" "$PERF_DIR/cards.py" "$n" <<<"$scr")"
  R[$n.virtui.after]="at the end $right of $readable readable cards as libvirt says ($running Running)"
  perf_stop_session vtm "$PID"
}

virsh_round() {
  local n=$1 pid
  perf_log "virsh domstats (all groups, all domains) once a second"
  env PERF_TAG="$PERF_DIR/" URI="$URI" bash -c '
    while :; do virsh -q -c "$URI" domstats >/dev/null & sleep 1; wait; done' &
  pid=$!
  measure "$n.virsh" "$pid"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

started=1 # tiny-000 runs already
for n in $RUNNING_LIST; do
  perf_log "round $n: starting guests $started..$((n - 1))"
  for ((i = started; i < n; i++)); do printf 'start tiny-%03d\n' "$i"; done | vsh >/dev/null
  [ "$(vsh list --name | grep -c .)" -eq "$n" ] || perf_die "not $n VMs running"
  started=$n
  QEMU=()
  for ((i = 0; i < n; i++)); do
    QEMU+=("$(cat "$L/run/libvirt/qemu/run/$(printf 'tiny-%03d' "$i").pid")")
  done
  LIBVIRT=("$LIBVIRTD" $(cat "$L/run/libvirt/virtlogd.pid" 2>/dev/null || true))
  perf_log "round $n: letting the guests settle for $GUEST_SETTLE s, then a ${PERF_DURATION} s baseline"
  sleep "$GUEST_SETTLE"
  measure "$n.base"
  vmlife_round "$n"
  # A second baseline right after vmlife: the idle guests' own CPU drifts between
  # 60 s windows (TCG guests settling), and vmlife's figure is the smallest, so its
  # baseline is the mean of the two windows around it; the rivals use the second.
  perf_log "round $n: a second ${PERF_DURATION} s baseline"
  measure "$n.base2"
  for k in libvirtd qemu; do
    R[$n.vmlife.b$k]=$(awk -v a="${R[$n.base.$k]}" -v b="${R[$n.base2.$k]}" 'BEGIN { printf "%.2f", (a + b) / 2 }')
    R[$n.virtui.b$k]=${R[$n.base2.$k]}
    R[$n.virsh.b$k]=${R[$n.base2.$k]}
  done
  virtui_round "$n"
  virsh_round "$n"
done

# --- report ------------------------------------------------------------------------------
over() { awk -v x="$1" -v b="$2" 'BEGIN { printf "%+.2f", x - b }'; }
total() { # ROUND TOOL: tool + libvirtd and QEMU over the tool's baseline
  awk -v t="${R[$1.$2.tool]}" -v l="${R[$1.$2.libvirtd]}" -v q="${R[$1.$2.qemu]}" \
    -v bl="${R[$1.$2.blibvirtd]}" -v bq="${R[$1.$2.bqemu]}" 'BEGIN { printf "%.2f", t + l - bl + q - bq }'
}
echo
perf_machine
echo "command: scripts/perf/rivals.sh  (DEFINED=$DEFINED RUNNING_LIST=\"$RUNNING_LIST\" SETTLE=$PERF_SETTLE DURATION=$PERF_DURATION GUEST_SETTLE=$GUEST_SETTLE)"
echo "vmlife:  $PERF_BINARY"
echo "rival:   $VIRTUI_DESC, STATS_INTERVAL 5 s (its default), in $VENV"
echo "patch:   virDomain.getCPUStats replaced by one built on domain.info() (the real call $CPUSTATS_ERR)"
echo "daemon:  private libvirtd as $(ps -o user= -p "$LIBVIRTD"), $(libvirtd --version | awk '{print $NF}'), QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}'), $DEFINED defined (TCG, 64 MiB); warmed up by one \`virsh capabilities\` ($WARMUP ms) before any tool"
echo
echo "Host-wide CPU over the idle baseline, % of one core (tool + libvirtd + every QEMU), ${PERF_DURATION} s each:"
echo
echo "| running guests | vmlife | virtui-manager | virsh domstats |"
echo "|---:|---:|---:|---:|"
for n in $RUNNING_LIST; do
  echo "| $n | $(total "$n" vmlife) | $(total "$n" virtui) | $(total "$n" virsh) |"
done
set -- $RUNNING_LIST
if [ "$#" -ge 2 ]; then
  first=$1
  shift $(($# - 1))
  last=$1
  growth() { awk -v a="$(total "$first" "$1")" -v b="$(total "$last" "$1")" -v n=$((last - first)) 'BEGIN { printf "%+.3f", (b - a) / n }'; }
  echo
  echo "Growth per added running guest between $first and $last, % of one core: vmlife $(growth vmlife), virtui-manager $(growth virtui), virsh domstats $(growth virsh)"
fi
echo
echo "| running | tool | tool itself | libvirtd over base | QEMU over base | tmux server (not in total) |"
echo "|---:|---|---:|---:|---:|---:|"
for n in $RUNNING_LIST; do
  echo "| $n | baseline 1 (before vmlife) | – | ${R[$n.base.libvirtd]} | ${R[$n.base.qemu]} | – |"
  echo "| $n | baseline 2 (after vmlife) | – | ${R[$n.base2.libvirtd]} | ${R[$n.base2.qemu]} | – |"
  for t in vmlife virtui virsh; do
    echo "| $n | $t | ${R[$n.$t.tool]} | $(over "${R[$n.$t.libvirtd]}" "${R[$n.$t.blibvirtd]}") | $(over "${R[$n.$t.qemu]}" "${R[$n.$t.bqemu]}") | $([ "$t" = virsh ] && echo – || echo "${R[$n.$t.tmux]}") |"
  done
done
echo "(baseline rows: libvirtd and QEMU themselves, not over anything; vmlife is over the mean of"
echo "baselines 1 and 2, the rivals over baseline 2)"
if [ "${QMP_COUNT:-0}" = 1 ]; then
  echo
  echo "QMP commands libvirtd sent to the guests' QEMU per minute of each window (QMP_COUNT=1:"
  echo "libvirtd logged each one, so this run's libvirtd CPU includes its logging):"
  echo
  echo "| running | baseline 1 | vmlife | baseline 2 | virtui-manager | virsh domstats |"
  echo "|---:|---:|---:|---:|---:|---:|"
  for n in $RUNNING_LIST; do
    echo "| $n | ${R[$n.base.qmp]} | ${R[$n.vmlife.qmp]} | ${R[$n.base2.qmp]} | ${R[$n.virtui.qmp]} | ${R[$n.virsh.qmp]} |"
  done
fi
echo
for n in $RUNNING_LIST; do
  echo "vmlife, $n running: header after ${R[$n.vmlife.header]} ms, full table (VMs $DEFINED/$DEFINED, no … in a visible row) after ${R[$n.vmlife.full]} ms (a capture every ~${R[$n.vmlife.poll]} ms); ${R[$n.vmlife.rows]} rows visible"
  echo "virtui-manager, $n running: first card after ${R[$n.virtui.list]} ms; ${R[$n.virtui.cards]} after ${R[$n.virtui.running]} ms; ${R[$n.virtui.after]}; getCPUStats replacement ran ${R[$n.virtui.calls]} times in the ${R[$n.virtui.secs]} s"
done
