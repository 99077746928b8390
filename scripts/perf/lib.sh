# shellcheck shell=bash
# Helpers shared by scripts/perf/*.sh (sourced, not run).
#
# Everything a script starts lives under one fresh temp dir $PERF_DIR and carries it in
# its environment (HOME, XDG_*, ...). A watchdog in its own session waits for the script
# to end in any way (normal end, error, Ctrl-C, SIGKILL: it watches the script's pid and
# start time; the EXIT trap also tells it at once), then stops every process whose
# environment mentions "$PERF_DIR/" (tmux, vmlife, a private libvirtd, virtlogd, QEMU),
# unmounts what is mounted under the dir (enospc-reaction.sh's tmpfs) and removes the dir:
# the approach of tests/common/libvirtd.rs. (Not a pipe as there:
# in a shell every background child would inherit its write end and hold it open.)

PERF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLK_TCK=$(getconf CLK_TCK)
PERF_SETTLE=${SETTLE:-5}
PERF_DURATION=${DURATION:-60}
PERF_COLS=${COLS:-120}
PERF_ROWS=${ROWS:-32}

perf_die() { echo "$(basename "$0"): $*" >&2; exit 1; }
perf_log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

perf_need() {
  local p
  for p in "$@"; do
    command -v "$p" >/dev/null 2>&1 || perf_die "\`$p\` not found (scripts/install-deps test installs it)"
  done
}

# The watchdog: $1 is the dir, $2 the script's pid, $3 its start time (field 22 of
# /proc/PID/stat). Waits until that process is gone or $1/.stop exists, then stops
# everything of ours (TERM, up to 5 s, then KILL), unmounts what is under $1 and removes it.
PERF_WATCHDOG='
trap "" INT HUP PIPE TERM
D="$1"
alive() { [ "$(awk "{ sub(/^.*\\) /, \"\"); print \$20 }" "/proc/$1/stat" 2>/dev/null)" = "$2" ]; }
while alive "$2" "$3" && [ ! -e "$D/.stop" ]; do sleep 0.2; done
ours() { grep -lsF -- "$D/" /proc/[0-9]*/environ 2>/dev/null | sed -n "s#^/proc/\([0-9]*\)/environ\$#\1#p"; }
signal() { for p in $(ours); do [ "$p" != "$$" ] && kill "-$1" "$p" 2>/dev/null; done; }
gone() { i=0; while [ -n "$(ours)" ]; do [ "$i" -ge "$1" ] && return 1; sleep 0.1; i=$((i+1)); done; }
[ -S "$D/tmux.sock" ] && tmux -S "$D/tmux.sock" kill-server 2>/dev/null
signal TERM
gone 50 || { signal KILL; gone 50; }
for m in $(awk -v d="$D/" "index(\$2, d) == 1 { print \$2 }" /proc/self/mounts); do umount -l "$m"; done
rm -rf -- "$D"
'

# Create $PERF_DIR, start the watchdog, and install the EXIT trap that runs it.
perf_init() {
  PERF_DIR=$(mktemp -d /tmp/vmlife-perf-XXXXXX)
  mkdir -p "$PERF_DIR"/{home,config,cache,data,state,run}
  printf 'set -g status off\nset -g default-terminal xterm-256color\nset -g history-limit 10\n' \
    >"$PERF_DIR/tmux.conf"
  local start
  start=$(awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$$/stat")
  setsid sh -c "$PERF_WATCHDOG" vmlife-perf-watchdog "$PERF_DIR" "$$" "$start" \
    </dev/null >/dev/null 2>&1 &
  PERF_WATCHDOG_PID=$!
  trap perf_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

perf_cleanup() {
  local i=0
  touch "$PERF_DIR/.stop"
  # Wait (up to 15 s) for the watchdog to finish its cleanup.
  while kill -0 "$PERF_WATCHDOG_PID" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
  if [ -n "$(grep -lsF -- "$PERF_DIR/" /proc/[0-9]*/environ 2>/dev/null)" ]; then
    echo "WARNING: processes of $PERF_DIR still alive" >&2
  fi
}

# Copy the vmlife binary to $PERF_DIR/vmlife, so a rebuild during the run cannot change
# it: $VMLIFE, else target/release/vmlife (build it first: cargo build --release).
# Sets PERF_BINARY to where it came from (for the report).
perf_vmlife() {
  local src=${VMLIFE:-$PERF_ROOT/target/release/vmlife}
  [ -x "$src" ] || perf_die "$src not found: run \`cargo build --release\` first (or set VMLIFE=path)"
  cp "$src" "$PERF_DIR/vmlife"
  PERF_BINARY="$src, built $(date -u -r "$src" '+%H:%M:%S UTC'), tree $(git -C "$PERF_ROOT" describe --always --dirty 2>/dev/null || echo '?')"
}

# tmux on the private socket, clean environment (nothing of the user's tmux or config).
perf_tmux() {
  env -i PATH="$PATH" HOME="$PERF_DIR/home" XDG_CONFIG_HOME="$PERF_DIR/config" \
    XDG_CACHE_HOME="$PERF_DIR/cache" XDG_DATA_HOME="$PERF_DIR/data" \
    XDG_STATE_HOME="$PERF_DIR/state" XDG_RUNTIME_DIR="$PERF_DIR/run" TMUX_TMPDIR="$PERF_DIR" \
    TERM=xterm-256color LANG=C.UTF-8 SHELL=/bin/sh \
    tmux -S "$PERF_DIR/tmux.sock" -f "$PERF_DIR/tmux.conf" "$@"
}

# Start session $1 (COLS×ROWS) running the shell command $2; prints the pane's pid
# (the command is exec'd, so that is the program's pid).
perf_session() {
  perf_tmux new-session -d -s "$1" -x "$PERF_COLS" -y "$PERF_ROWS" "$2"
  perf_tmux display-message -p -t "$1" '#{pane_pid}'
}

perf_screen() { perf_tmux capture-pane -p -t "$1"; }

# Wait (up to $3 s, default 30) until session $1's screen matches the regex $2.
perf_wait_screen() {
  local deadline=$(($(date +%s) + ${3:-30}))
  until perf_screen "$1" 2>/dev/null | grep -E -- "$2" >/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || { perf_screen "$1" >&2; perf_die "timed out waiting for /$2/ on screen"; }
    sleep 0.1
  done
}

# Stop session $1 (tmux sends SIGHUP to the program) and wait for pid $2 to exit.
perf_stop_session() {
  local i=0
  perf_tmux kill-session -t "$1" 2>/dev/null || true
  while [ -e "/proc/$2" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  [ -e "/proc/$2" ] && { kill -KILL "$2" 2>/dev/null; perf_log "WARNING: pid $2 did not exit on SIGHUP within 5 s"; }
  return 0
}

# VM rows on session $1's screen (table lines that start with a name).
perf_visible_rows() { perf_screen "$1" | grep -E '^│(▶ |  )[A-Za-z0-9]' | grep -cvE '^│(▶ |  )NAME' || true; }

# utime+stime (clock ticks) of the given pids, summed; a gone pid counts 0.
perf_ticks() {
  local p sum=0 t
  for p in "$@"; do
    t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || t=0
    sum=$((sum + ${t:-0}))
  done
  echo "$sum"
}

# PID and its live descendants (via /proc/PID/task/*/children).
perf_tree_pids() {
  local c
  echo "$1"
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do perf_tree_pids "$c"; done
}

# CPU of a process tree in clock ticks: utime+stime+cutime+cstime of PID and of its live
# descendants, so a child that ran and was reaped between two samples still counts (in
# its parent's cutime/cstime; a reaper that does not wait loses it).
perf_tree_ticks() {
  local p sum=0 t
  for p in $(perf_tree_pids "$1"); do
    t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || t=0
    sum=$((sum + ${t:-0}))
  done
  echo "$sum"
}

perf_now() { date +%s.%N; }

# Percent of one core: ticks over seconds. perf_pct TICKS SECONDS
perf_pct() { awk -v t="$1" -v s="$2" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", 100 * t / hz / s }'; }

# A node file for libvirt's test driver with $2 running domains (the shape of
# benches/poll.rs `write_node`), a third temporary with TTLs counting from now.
perf_write_node() {
  local path=$1 n=$2 i now meta
  now=$(date +%s)
  {
    echo "<node>"
    for ((i = 0; i < n; i++)); do
      meta=""
      if ((i % 3 == 0)); then
        meta="<metadata><vmlife:lifecycle xmlns:vmlife='urn:vmlife:lifecycle:1'><vmlife:persistence mode='temporary' ttl_hours='$((1 + i % 48))' created_at_unix='$now'/></vmlife:lifecycle></metadata>"
      fi
      printf "<domain type='test'><name>vm-%05d</name><memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices><interface type='user'><mac address='52:54:00:%02x:%02x:%02x'/></interface></devices>%s</domain>\n" \
        "$i" $(((i >> 16) & 255)) $(((i >> 8) & 255)) $((i & 255)) "$meta"
    done
    echo "</node>"
  } >"$path"
}

# The private daemon: an unprivileged libvirtd (as `nobody` when run as root: as root,
# qemu:///session would be the system daemon) with every directory in L=$PERF_DIR/lvd,
# reached at URI=qemu+unix:///session?socket=…; the host's qemu:///system is never
# contacted. $1, if given, is written to $L/cfg/libvirt/libvirtd.conf first. Sets L, URI,
# LIBVIRTD (its pid); `vsh ARGS` runs virsh on it. Needs perf_init first.
perf_libvirtd() {
  L=$PERF_DIR/lvd
  mkdir -p "$L"/{run,cfg/libvirt,cache,data}
  [ -z "${1:-}" ] || printf '%s\n' "$1" >"$L/cfg/libvirt/libvirtd.conf"
  chmod 711 "$PERF_DIR"
  local daemon=(env -i HOME="$L" XDG_RUNTIME_DIR="$L/run" XDG_CONFIG_HOME="$L/cfg"
    XDG_CACHE_HOME="$L/cache" XDG_DATA_HOME="$L/data"
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    "$(command -v libvirtd)" --timeout=1800) i
  if [ "$(id -u)" -eq 0 ]; then
    perf_need setpriv
    chown -R "$(id -u nobody):$(id -g nobody)" "$L"
    chmod 700 "$L" "$L"/*
    daemon=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups "${daemon[@]}")
  fi
  URI="qemu+unix:///session?socket=$L/run/libvirt/libvirt-sock"
  perf_log "starting a private libvirtd in $L"
  "${daemon[@]}" </dev/null >"$PERF_DIR/libvirtd.log" 2>&1 &
  for ((i = 0; ; i++)); do
    [ -S "$L/run/libvirt/libvirt-sock" ] && vsh uri >/dev/null 2>&1 && break
    [ $i -lt 300 ] || { tail -20 "$PERF_DIR/libvirtd.log" >&2; perf_die "libvirtd did not come up in 30 s"; }
    sleep 0.1
  done
  LIBVIRTD=$(cat "$L/run/libvirt/libvirtd.pid")
}

vsh() { virsh -q -c "$URI" "$@"; }

# Define $1 tiny TCG VMs tiny-000, tiny-001, … (diskless, 64 MiB; they boot SeaBIOS and
# idle) on the private daemon, over one virsh connection. rebootTimeout='-1': SeaBIOS
# finds no boot device and halts, instead of rebooting every 60 s (a POST burst per
# guest per minute, which made the idle guests' CPU differ by up to 0.8 % of a core
# between two 60 s windows at 30 guests).
perf_define_tiny() {
  local n=$1 i name
  mkdir -p "$PERF_DIR/xml"
  for ((i = 0; i < n; i++)); do
    name=$(printf 'tiny-%03d' "$i")
    cat >"$PERF_DIR/xml/$name.xml" <<XML
<domain type='qemu'>
  <name>$name</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='network'/><bios rebootTimeout='-1'/></os>
  <devices><serial type='pty'/><memballoon model='virtio'/></devices>
</domain>
XML
    echo "define $PERF_DIR/xml/$name.xml"
  done >"$PERF_DIR/define.cmds"
  vsh <"$PERF_DIR/define.cmds" >/dev/null
  [ "$(vsh list --all --name | grep -c .)" -eq "$n" ] || perf_die "not every domain was defined"
}

perf_machine() {
  local model
  model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
  echo "machine: nproc $(nproc), ${model:-unknown CPU}, kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
}
