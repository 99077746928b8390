#!/usr/bin/env bash
# CPU of an idle `vmlife daemon` (the headless engine, with its pressure checks each
# poll: /proc/meminfo and /proc/pressure/memory, the disk errors of VMs paused on an I/O
# error, the free space of full disks), against another build (BEFORE=path, e.g. the
# tree before issue 11's engine work), on:
#   test    libvirt's test driver, 20 running domains (a third temporary with TTLs)
#   qemu    a PRIVATE libvirtd (as host-cpu.sh: as `nobody` when root, every directory
#           in the temp dir; qemu:///system is never contacted) with RUNNING (3) tiny
#           diskless TCG VMs, all carrying a vmlife element; the daemon's and libvirtd's
#           CPU both count (QEMU's is the guests' own and is left out). QEMU=0 skips it.
# Each daemon runs alone with the default config (poll_seconds = 5), its own state dir;
# after SETTLE (5) s, utime+stime from /proc/<pid>/stat over DURATION (60) s, sampled
# every second (the busiest second shown). With BEFORE, the builds alternate per target,
# ROUNDS (1) times each. Target: no more than before.
#
#   scripts/perf/daemon-idle-cpu.sh     (VMLIFE=path, BEFORE=path, ROUNDS=1, QEMU=1, RUNNING=3)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
perf_need awk
ROUNDS=${ROUNDS:-1}
RUNNING=${RUNNING:-3}
QEMU=${QEMU:-1}
perf_init
perf_vmlife
BIN=$PERF_DIR/vmlife
BINS=(after)
declare -A BINARY=([after]=$BIN) DESC=([after]=$PERF_BINARY)
if [ -n "${BEFORE:-}" ]; then
  [ -x "$BEFORE" ] || perf_die "BEFORE=$BEFORE is not an executable"
  cp "$BEFORE" "$PERF_DIR/vmlife-before"
  BINARY[before]=$PERF_DIR/vmlife-before
  DESC[before]="$BEFORE, built $(date -u -r "$BEFORE" '+%H:%M:%S UTC'), tree $(git -C "$(dirname "$BEFORE")" describe --always --dirty 2>/dev/null || echo '?')"
  BINS=(before after)
fi
unset LIBVIRT_DEFAULT_URI VMLIFE_CONFIG VMLIFE_STATE_DIR
: >"$PERF_DIR/config.toml"
perf_write_node "$PERF_DIR/node-20.xml" 20

# --- optional: the private libvirtd with a few tiny TCG VMs ------------------------------
EXTRA=()
if [ "$QEMU" = 1 ]; then
  perf_need virsh libvirtd virtlogd qemu-system-x86_64
  perf_log "a private libvirtd with $RUNNING tiny TCG VMs"
  perf_libvirtd
  for ((i = 0; i < RUNNING; i++)); do
    name=$(printf 'tiny-%02d' "$i")
    cat >"$PERF_DIR/$name.xml" <<XML
<domain type='qemu'>
  <name>$name</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='network'/></os>
  <metadata><vmlife:lifecycle xmlns:vmlife='urn:vmlife:lifecycle:1'><vmlife:persistence mode='temporary' ttl_hours='24' created_at_unix='$(date +%s)'/></vmlife:lifecycle></metadata>
  <devices><serial type='pty'/><memballoon model='virtio'/></devices>
</domain>
XML
    vsh define "$PERF_DIR/$name.xml" >/dev/null
    vsh start "$name" >/dev/null
  done
  EXTRA=(qemu)
  sleep 10 # the guests' boot
fi

# measure TARGET BUILD ROUND: prints "daemon-% busiest-second-% libvirtd-%".
measure() {
  local target=$1 build=$2 round=$3 uri others=() pid st t0 l0 w0 t1 l1 w1 prev cur max=0 i secs
  case $target in
    test) uri="test://$PERF_DIR/node-20.xml" ;;
    qemu) uri=$URI; others=("$LIBVIRTD") ;;
  esac
  st="$PERF_DIR/state-$target-$build-$round"
  mkdir -p "$st"
  env HOME="$PERF_DIR/home" XDG_CONFIG_HOME="$PERF_DIR/config" XDG_STATE_HOME="$PERF_DIR/state" \
    XDG_RUNTIME_DIR="$PERF_DIR/run" \
    "${BINARY[$build]}" daemon -c "$uri" --config "$PERF_DIR/config.toml" --state-dir "$st" \
    </dev/null >"$st.log" 2>&1 &
  pid=$!
  sleep "$PERF_SETTLE"
  [ -e "/proc/$pid" ] || { cat "$st.log" >&2; perf_die "vmlife daemon ($target, $build) exited"; }
  t0=$(perf_ticks "$pid"); l0=$(perf_ticks "${others[@]}"); w0=$(perf_now)
  prev=$t0
  for ((i = 0; i < PERF_DURATION; i++)); do
    sleep 1
    cur=$(perf_ticks "$pid")
    ((cur - prev > max)) && max=$((cur - prev))
    prev=$cur
  done
  t1=$(perf_ticks "$pid"); l1=$(perf_ticks "${others[@]}"); w1=$(perf_now)
  [ -e "/proc/$pid" ] || { cat "$st.log" >&2; perf_die "vmlife daemon ($target, $build) exited during the measurement"; }
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  secs=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.2f", b - a }')
  if [ ${#others[@]} -gt 0 ]; then l1=$(perf_pct $((l1 - l0)) "$secs"); else l1=-; fi
  echo "$(perf_pct $((t1 - t0)) "$secs") $(perf_pct "$max" 1) $l1 $((t1 - t0))"
}

perf_machine
echo "command: scripts/perf/daemon-idle-cpu.sh  (SETTLE=$PERF_SETTLE DURATION=$PERF_DURATION ROUNDS=$ROUNDS QEMU=$QEMU RUNNING=$RUNNING${BEFORE:+ BEFORE=$BEFORE})"
for b in "${BINS[@]}"; do echo "$b: ${DESC[$b]}"; done
[ "$QEMU" = 1 ] && echo "qemu:  private libvirtd as $(ps -o user= -p "$LIBVIRTD"), $(libvirtd --version | awk '{print $NF}'), QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}'), $RUNNING running (TCG, 64 MiB, diskless)"
echo "% of one core over ${PERF_DURATION} s (1 tick = $((1000 / CLK_TCK)) ms)"
for target in test "${EXTRA[@]}"; do
  for ((r = 1; r <= ROUNDS; r++)); do
    for b in "${BINS[@]}"; do
      perf_log "$target, $b, round $r"
      read -r pct busy lv ticks <<<"$(measure "$target" "$b" "$r")"
      printf '%-5s %-7s round %d   daemon %5s %% (%3d ticks; busiest second %5s %%)   libvirtd %5s %%\n' \
        "$target" "$b" "$r" "$pct" "$ticks" "$busy" "$lv"
    done
  done
done
echo "target: no more than before"
