#!/usr/bin/env bash
# Time from a real `enospc` to the daemon's reaction (issue 11): a TCG guest whose 41-byte
# boot sector (LIBVIRT-NOTES.md, "A guest that fills its disk") writes to its disk until
# the small tmpfs under the image is full and QEMU pauses it with an I/O error; the
# release `vmlife daemon` on a PRIVATE libvirtd reacts with the VM's `on_disk_full`:
# `kill` (destroy) in N runs, then `suspend` (keep paused; QEMU paused it already) in N.
#
# The event's time comes from a `virsh event --all --loop --timestamp` watcher started
# here (ms precision; the daemon logs no line of its own for the event); the reaction's
# from the daemon's journal (journal.jsonl: RFC 3339 with ns): its `starting: destroy` /
# `starting: suspend` line, and the result line that follows. Per mode: median and max
# of event → starting and event → result. Target: under 1 s.
#
# Needs root (it mounts a 4 MiB tmpfs): exits 2 otherwise. Runs itself in a private
# mount namespace (unshare -m), so the tmpfs goes away with the last process of the run
# even when this script is SIGKILLed. The libvirtd runs as `nobody` with every directory
# in the temp dir (as scripts/perf/host-cpu.sh); qemu:///system is never contacted;
# everything started here is stopped on exit (lib.sh's watchdog and trap).
#
#   sudo scripts/perf/enospc-reaction.sh   (N=5, VMLIFE=path, POLL=5: [engine] poll_seconds;
#                                          DEBUG=1: journal and events per run, logs kept in /tmp)
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "$(basename "$0"): needs root (mounts a small tmpfs for the guest's disk to fill); skipped" >&2
  exit 2
fi
if [ -z "${PERF_ENOSPC_NS:-}" ]; then
  command -v unshare >/dev/null || { echo "$(basename "$0"): \`unshare\` not found" >&2; exit 1; }
  PERF_ENOSPC_NS=1 exec unshare --mount --propagation private -- "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
MACHINE=$(perf_machine)
perf_need virsh libvirtd virtlogd qemu-system-x86_64 awk setpriv mount umount
N=${N:-5}
POLL=${POLL:-5}
perf_init
perf_vmlife
BIN=$PERF_DIR/vmlife
unset LIBVIRT_DEFAULT_URI VMLIFE_CONFIG VMLIFE_STATE_DIR

FS=$PERF_DIR/fs
WATCH=
DAEMON=
# Before lib.sh's cleanup: stop our own daemon and watcher, unmount the tmpfs (QEMU is
# gone by then, or is destroyed first), then the watchdog stops the rest.
enospc_cleanup() {
  set +e
  [ -n "$DAEMON" ] && kill -TERM "$DAEMON" 2>/dev/null
  [ -n "$WATCH" ] && kill -TERM "$WATCH" 2>/dev/null
  if mountpoint -q "$FS" 2>/dev/null; then
    for d in $(vsh list --name 2>/dev/null); do vsh destroy "$d" >/dev/null 2>&1; done
    umount "$FS" 2>/dev/null || umount -l "$FS"
  fi
  perf_cleanup
}
trap enospc_cleanup EXIT
if [ "${DEBUG:-0}" = 1 ]; then trap 'cp "$PERF_DIR/daemon.log" "$L/monitor.log" "$PERF_DIR/events.log" "$PERF_DIR/vstate/journal.jsonl" /tmp/ 2>/dev/null; enospc_cleanup' EXIT; fi

# --- the private daemon (lib.sh perf_libvirtd) --------------------------------------
# QEMU's own event time: libvirt logs each QMP event as received, with QEMU's timestamp.
perf_libvirtd "$(printf 'log_filters="1:qemu.qemu_monitor_json"\nlog_outputs="1:file:%s/monitor.log"' "$PERF_DIR/lvd")"

# --- the tmpfs and the filler image ------------------------------------------------------
mkdir -p "$FS"
mount -t tmpfs -o size=4m tmpfs "$FS"
chmod 777 "$FS"
FILLER=31c08ed8be197cb443b000b280cd138344084083540a00ebee10004000000000f00100000000000000
new_image() { # a sparse 1 GiB raw file whose boot sector fills it
  rm -f "$FS/disk.img"
  truncate -s 1G "$FS/disk.img"
  { printf '%s' "$FILLER" | sed 's/../\\x&/g' | xargs -0 printf; head -c $((510 - ${#FILLER} / 2)) /dev/zero; printf '\x55\xaa'; } |
    dd of="$FS/disk.img" conv=notrunc status=none
  chmod 666 "$FS/disk.img"
}

# --- the vmlife daemon -------------------------------------------------------------------
mkdir -p "$PERF_DIR/vstate"
cat >"$PERF_DIR/config.toml" <<TOML
[engine]
poll_seconds = $POLL
[pressure]
memory_available_percent = 0
[cleanup]
skip_on_low_resources = false
TOML
JOURNAL=$PERF_DIR/vstate/journal.jsonl
env HOME="$PERF_DIR/home" XDG_CONFIG_HOME="$PERF_DIR/config" XDG_STATE_HOME="$PERF_DIR/state" \
  "$BIN" daemon -c "$URI" --config "$PERF_DIR/config.toml" --state-dir "$PERF_DIR/vstate" \
  </dev/null >"$PERF_DIR/daemon.log" 2>&1 &
DAEMON=$!
for ((i = 0; ; i++)); do
  grep -q "domain events: subscribed" "$PERF_DIR/daemon.log" 2>/dev/null && break
  [ -e "/proc/$DAEMON" ] && [ $i -lt 300 ] || { cat "$PERF_DIR/daemon.log" >&2; perf_die "vmlife daemon did not come up"; }
  sleep 0.1
done

# --- the event watcher ---------------------------------------------------------------------
EVENTS=$PERF_DIR/events.log
env PERF_TAG="$PERF_DIR/" virsh -c "$URI" event --all --loop --timestamp >"$EVENTS" 2>&1 </dev/null &
WATCH=$!
sleep 1

# Seconds since the epoch of an RFC 3339 time.
epoch() { date -d "$1" +%s.%N; }
# Journal lines of VM $1.
jlines() { grep -F "\"vm_name\":\"$1\"" "$JOURNAL" 2>/dev/null || true; }
jtime() { sed -E 's/.*"time":"([^"]+)".*/\1/'; }

# run MODE I: one guest fills its disk. Prints, in ms: resume → QEMU's event, then from
# QEMU's event: virsh's watcher, the daemon's alert log line, "starting: destroy" (kill
# only, else -), the result line; then, for suspend, how long `virsh destroy` of the
# paused guest takes afterwards (else -).
run() {
  local mode=$1 i=$2 name="fill-$1-$2" t_start deadline ev vw al st rs vd=- t0
  case $mode in kill) step=destroy ;; *) step=$mode ;; esac
  new_image
  cat >"$PERF_DIR/$name.xml" <<XML
<domain type='qemu'>
  <name>$name</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <metadata><vmlife:lifecycle xmlns:vmlife='urn:vmlife:lifecycle:1'><vmlife:persistence mode='permanent'/><vmlife:policy on_disk_full='$mode'/></vmlife:lifecycle></metadata>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$FS/disk.img'/><target dev='vda' bus='virtio'/></disk>
    <serial type='pty'/><memballoon model='virtio'/>
  </devices>
</domain>
XML
  vsh define "$PERF_DIR/$name.xml" >/dev/null
  # Let the daemon see it defined (a poll) before it starts.
  sleep "$((POLL + 1))"
  # Started paused and resumed a second later: the guest fills its disk within ms of
  # running, and an event during libvirt's start job reaches clients only after it
  # (seen here: +1.1 s), which no engine can help; a real disk fills later.
  vsh start --paused "$name" >/dev/null
  sleep 1
  t_start=$(perf_now)
  vsh resume "$name" >/dev/null
  deadline=$(($(date +%s) + 30))
  result_line() { jlines "$name" | grep -F "\"action\":\"$step\"" | grep -vF '"result":"starting' | head -1; }
  until [ -n "$(result_line)" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { tail -5 "$EVENTS" "$PERF_DIR/daemon.log" >&2; jlines "$name" >&2; perf_die "$name: no reaction in 30 s"; }
    sleep 0.1
  done
  sleep 0.3
  # QEMU's BLOCK_IO_ERROR (its own timestamp, µs): the first one since this start.
  ev=$(grep -F '"event": "BLOCK_IO_ERROR"' "$L/monitor.log" |
    sed -E 's/.*"seconds": ([0-9]+), "microseconds": ([0-9]+).*/\1 \2/' |
    awk -v t="$t_start" '$1 + $2 / 1e6 >= t - 1 { printf "%d.%06d\n", $1, $2; exit }')
  [ -n "$ev" ] || perf_die "$name: no BLOCK_IO_ERROR in libvirtd's monitor log"
  vw=$(grep -F "for domain '$name'" "$EVENTS" | grep -F "'io-error-reason'" | head -1 | sed -E 's/^(.*)[+]0000: event.*/\1 UTC/')
  al=$(grep -F "alert: disk_full of $name:" "$PERF_DIR/daemon.log" | head -1 | cut -d' ' -f1)
  [ -n "$vw" ] && [ -n "$al" ] || perf_die "$name: no io-error-reason event in virsh's watcher or no alert in the daemon's log"
  st=-
  [ "$mode" = kill ] && st=$(epoch "$(jlines "$name" | grep -F "\"result\":\"starting: $step" | head -1 | jtime)")
  rs=$(epoch "$(result_line | jtime)")
  if [ "$mode" != kill ]; then
    t0=$(perf_now); vsh destroy "$name" >/dev/null; vd=$(awk -v a="$t0" -v b="$(perf_now)" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
  fi
  [ "${DEBUG:-0}" = 1 ] && { jlines "$name"; grep -F "$name" "$EVENTS"; } >&2
  awk -v s="$t_start" -v e="$ev" -v w="$(epoch "$vw")" -v a="$(epoch "$al")" -v st="$st" -v r="$rs" -v vd="$vd" '
    function ms(t) { return t == "-" ? "-" : sprintf("%.0f", (t - e) * 1000) }
    BEGIN { printf "%.0f %s %s %s %s %s %s\n", (e - s) * 1000, ms(w), ms(a), ms(st), ms(r), vd,
      st == "-" ? sprintf("%.0f", (r - w) * 1000) : sprintf("%.0f", (st - w) * 1000) }'
  vsh undefine "$name" >/dev/null
}

stats() { # median and max of the numbers on stdin
  sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "median %5.0f, max %5.0f", m, v[NR] }'
}
col() { grep . <<<"${R[$1]}" | awk -v c="$2" '{ print $c }' | stats; }

declare -A R
for mode in kill suspend; do
  for ((i = 1; i <= N; i++)); do
    r=$(run "$mode" "$i")
    perf_log "$mode #$i (ms): resume→event; from the event: virsh watcher, alert, starting, result; virsh destroy; watcher→reaction: $r"
    R[$mode]+="$r"$'\n'
  done
done

echo
echo "$MACHINE"
echo "command: sudo scripts/perf/enospc-reaction.sh  (N=$N POLL=$POLL)"
echo "binary:  $PERF_BINARY"
echo "daemon:  private libvirtd as $(ps -o user= -p "$LIBVIRTD"), $(libvirtd --version | awk '{print $NF}'), QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}'); vmlife daemon, [engine] poll_seconds = $POLL"
echo "ms from QEMU's BLOCK_IO_ERROR (its timestamp, in libvirtd's monitor log) to:"
echo "  virsh event watcher:   kill $(col kill 2);  suspend $(col suspend 2)"
echo "  daemon's alert line:   kill $(col kill 3);  suspend $(col suspend 3)"
echo "  \"starting: destroy\":   kill $(col kill 4)   (on_disk_full = \"kill\")"
echo "  result line:           kill $(col kill 5) (destroyed);  suspend $(col suspend 5) (\"paused already: kept paused\")"
echo "  vmlife's share (virsh watcher → \"starting: destroy\" / result): kill $(col kill 7);  suspend $(col suspend 7)"
echo "  (resume → event: $(col kill 1) ms; \`virsh destroy\` of the same paused guest afterwards: $(col suspend 6) ms)"
echo "target: event → reaction under 1 s"
