#!/usr/bin/env bash
# Whole-process CPU of `vmlife ls --json` against `virsh domstats --raw` of the same
# test-driver URI (issue 12): a node file of N (1000) domains with fixed UUIDs, a mix of
# running (6 in 10), shut off (3 in 10) and paused (1 in 10), four in five carrying a
# vmlife element of several shapes (permanent with restart policy and autostart,
# temporary with a TTL, limits enforced, one in 50 invalid), each with a disk and an
# interface on the node's `default` network. Each command runs RUNS (9)
# times, alternating, after one warm-up run each, output to /dev/null; CPU is the
# child's user+sys as `perf stat` reports it (wait4's rusage; `/usr/bin/time` when perf
# is missing). Prints the medians and the ratio vmlife / virsh. Target: at most 1.0.
#
# BEFORE=path also measures another build the same way (alternating with the others)
# and compares its output with this build's: the two `ls --json` outputs must be
# byte-identical once the fields that depend on the moment of the run (the
# `snapshot_time`, `ttl_remaining_seconds`, `uptime_seconds`) are blanked.
#
#   scripts/perf/ls-json.sh      (VMLIFE=path, BEFORE=path, N=1000, RUNS=9, KEEP=dir)
#
# KEEP=dir writes the node file, the config and the outputs there (for profiling:
# `vmlife -c test://DIR/node.xml --config DIR/config.toml --state-dir DIR/state ls --json`).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
perf_need virsh awk
N=${N:-1000}
RUNS=${RUNS:-9}
perf_init
perf_vmlife
BIN=$PERF_DIR/vmlife
if [ -n "${BEFORE:-}" ]; then
  [ -x "$BEFORE" ] || perf_die "BEFORE=$BEFORE is not an executable"
  cp "$BEFORE" "$PERF_DIR/vmlife-before"
fi
unset LIBVIRT_DEFAULT_URI VMLIFE_CONFIG VMLIFE_STATE_DIR
mkdir -p "$PERF_DIR/state"
: >"$PERF_DIR/config.toml"

# The node file: N domains, fixed UUIDs and times, so two runs print the same.
write_node() {
  local path=$1 n=$2 i rs meta name t0=1764201600
  {
    # The network the domains' interfaces name (as on a real host, where a running
    # domain's network must exist; the test driver then answers the DHCP-lease query).
    echo "<node><network><name>default</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid><bridge name='virbr0'/><forward/><ip address='192.168.122.1' netmask='255.255.255.0'><dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp></ip></network>"
    for ((i = 0; i < n; i++)); do
      case $((i % 10)) in
        0 | 3 | 6) rs=5 ;; # shut off
        9) rs=3 ;;         # paused
        *) rs=1 ;;         # running
      esac
      case $((i % 5)) in
        0) meta="<vmlife:persistence mode='permanent' restart_policy='always' last_state_change='$((t0 + i))'/><vmlife:policy on_host_shutdown='shutdown'/><vmlife:autostart enabled='true' start_order='$((i % 100))'/><vmlife:state restart_count='$((i % 4))'/>" ;;
        1) meta="<vmlife:persistence mode='temporary' ttl_hours='$((1 + i % 48))' auto_cleanup='true' created_at_unix='$((t0 + i * 60))'/>" ;;
        2) meta="<vmlife:persistence mode='permanent' restart_policy='on_failure' max_retries='5'/><vmlife:policy enforce_memory_limit='true' enforce_cpu_limit='true'/>" ;;
        3) meta="" ;;
        4) meta="<vmlife:persistence mode='temporary' ttl_hours='24' created_at_unix='$((t0 - 86400 * (i % 3)))'/><vmlife:state restart_count='1'/>" ;;
      esac
      ((i % 50 == 7)) && meta="<vmlife:persistence mode='temporary' ttl_hours='6' restart_policy='sometimes'/>"
      [ -n "$meta" ] && meta="<metadata><vmlife:lifecycle xmlns:vmlife='urn:vmlife:lifecycle:1'>$meta</vmlife:lifecycle></metadata>"
      printf -v name 'vm-%05d' "$i"
      printf "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>%s</name><uuid>6d6f6c00-0000-4000-8000-%012x</uuid><memory unit='MiB'>%d</memory><currentMemory unit='MiB'>%d</currentMemory><vcpu>%d</vcpu><os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'><source file='/var/lib/libvirt/images/%s.qcow2'/><target dev='vda' bus='virtio'/></disk><interface type='network'><mac address='52:54:00:%02x:%02x:%02x'/><source network='default'/></interface></devices>%s<test:runstate>%d</test:runstate></domain>\n" \
        "$name" "$i" $((512 << (i % 4))) $((512 << (i % 4))) $((1 + i % 4)) "$name" \
        $(((i >> 16) & 255)) $(((i >> 8) & 255)) $((i & 255)) "$meta" "$rs"
    done
    echo "</node>"
  } >"$path"
}
NODE=$PERF_DIR/node.xml
write_node "$NODE" "$N"
URI="test://$NODE"

# The child's user+sys seconds of one run of "$@" (its stdout to /dev/null).
if perf stat -e task-clock true >/dev/null 2>&1; then
  TIMER="perf stat (user+sys)"
  cpu_of() {
    perf stat -e task-clock -o "$PERF_DIR/stat" -- "$@" >/dev/null
    awk '/seconds user/ { u = $1 } /seconds sys/ { s = $1 } END { printf "%.6f\n", u + s }' "$PERF_DIR/stat"
  }
else
  perf_need /usr/bin/time
  TIMER="/usr/bin/time (user+sys, 10 ms resolution)"
  cpu_of() {
    /usr/bin/time -f '%U %S' -o "$PERF_DIR/stat" -- "$@" >/dev/null
    awk '{ printf "%.6f\n", $1 + $2 }' "$PERF_DIR/stat"
  }
fi

# A clean environment for both (`env` execs the command: the timer measures it alone).
RUN_ENV=(env -i PATH="$PATH" HOME="$PERF_DIR/home" XDG_CONFIG_HOME="$PERF_DIR/config"
  XDG_CACHE_HOME="$PERF_DIR/cache" XDG_DATA_HOME="$PERF_DIR/data"
  XDG_STATE_HOME="$PERF_DIR/state" XDG_RUNTIME_DIR="$PERF_DIR/run" LANG=C.UTF-8)
declare -A CMD
CMD[virsh]="virsh -c $URI domstats --raw"
CMD[vmlife]="$BIN -c $URI --config $PERF_DIR/config.toml --state-dir $PERF_DIR/state ls --json"
NAMES=(virsh vmlife)
if [ -n "${BEFORE:-}" ]; then
  CMD[before]="$PERF_DIR/vmlife-before -c $URI --config $PERF_DIR/config.toml --state-dir $PERF_DIR/state ls --json"
  NAMES+=(before)
fi

# Outputs (and a sanity check that every domain is there).
for name in "${NAMES[@]}"; do
  # shellcheck disable=SC2086
  "${RUN_ENV[@]}" ${CMD[$name]} >"$PERF_DIR/out-$name"
done
rows=$(grep -c '^    "vm_name"' "$PERF_DIR/out-vmlife" || true)
[ "$rows" = "$N" ] || perf_die "vmlife ls --json printed $rows VMs, not $N"
normalize() {
  sed -E 's/^( *"(snapshot_time|ttl_remaining_seconds|uptime_seconds)": ).*$/\1…,/' "$1"
}
SAME=""
if [ -n "${BEFORE:-}" ]; then
  if cmp -s <(normalize "$PERF_DIR/out-before") <(normalize "$PERF_DIR/out-vmlife"); then
    SAME="identical (time fields blanked; $(cmp "$PERF_DIR/out-before" "$PERF_DIR/out-vmlife" >/dev/null 2>&1 && echo 'raw bytes identical too' || echo 'raw differs only there'))"
  else
    SAME="DIFFERENT: diff <(before) <(after):"$'\n'"$(diff <(normalize "$PERF_DIR/out-before") <(normalize "$PERF_DIR/out-vmlife") | head -20)"
  fi
fi
if [ -n "${KEEP:-}" ]; then
  mkdir -p "$KEEP/state"
  cp "$NODE" "$PERF_DIR/config.toml" "$PERF_DIR"/out-* "$KEEP/"
fi

declare -A SAMPLES
for name in "${NAMES[@]}"; do
  # shellcheck disable=SC2086
  cpu_of "${RUN_ENV[@]}" ${CMD[$name]} >/dev/null # warm-up (page cache, the binary)
  SAMPLES[$name]=""
done
for ((r = 0; r < RUNS; r++)); do
  for name in "${NAMES[@]}"; do
    # shellcheck disable=SC2086
    SAMPLES[$name]+="$(cpu_of "${RUN_ENV[@]}" ${CMD[$name]}) "
  done
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.1f ms", s * 1000 }'; }

perf_machine
echo "command: scripts/perf/ls-json.sh  (N=$N RUNS=$RUNS${BEFORE:+ BEFORE=$BEFORE})"
echo "binary:  $PERF_BINARY"
echo "timer:   $TIMER of each whole process, median of $RUNS, output to /dev/null"
echo "node:    $N domains ($(grep -c '<test:runstate>1<' "$NODE") running, $(grep -c '<test:runstate>5<' "$NODE") shut off, $(grep -c '<test:runstate>3<' "$NODE") paused; $(grep -c 'vmlife:lifecycle' "$NODE") with a vmlife element); ls --json output $(wc -c <"$PERF_DIR/out-vmlife") bytes"
V=$(echo "${SAMPLES[virsh]}" | median)
for name in "${NAMES[@]}"; do
  m=$(echo "${SAMPLES[$name]}" | median)
  printf '%-7s %-9s ratio %s   [%s]\n' "$name" "$(ms "$m")" \
    "$(awk -v a="$m" -v b="$V" 'BEGIN { printf "%.2f", a / b }')" \
    "$(for s in ${SAMPLES[$name]}; do ms "$s"; echo -n ', '; done | sed 's/, $//; s/ ms//g')"
  printf '        %s\n' "${CMD[$name]//$PERF_DIR/\$DIR}"
done
[ -n "$SAME" ] && echo "output before/after: $SAME"
echo "target: vmlife / virsh at most 1.00"
