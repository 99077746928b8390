//! CPU time and resident memory of a local guest's QEMU process, read from `/proc`:
//! nothing is asked of libvirt or of QEMU's monitor, so the guest pays nothing.
//!
//! The process is found by the pid file libvirt writes for each running guest
//! (`/run/libvirt/qemu/NAME.pid` for the system daemon, `…/libvirt/qemu/run/NAME.pid`
//! under the session daemon's runtime directory) and checked against the `-uuid`
//! argument of its command line, so a stale pid file or a reused pid never lends another
//! process's figures to a VM. A found process is remembered by pid and start time;
//! either changing sends the reader back to the pid file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::model::Uuid;

/// One reading of a guest's QEMU process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcSample {
    /// User + system CPU time of every thread of the process, ns.
    pub cpu_ns: u64,
    /// Resident memory, KiB.
    pub rss_kib: u64,
    /// When the process started, unix seconds (the host's boot time plus its start
    /// ticks), if the boot time could be read: the guest's uptime.
    pub started_unix: Option<i64>,
}

/// Clock ticks per second of `/proc/PID/stat`: `USER_HZ`, which Linux's user ABI fixes
/// at 100 on every architecture vmlife builds for (`sysconf(_SC_CLK_TCK)` says the same).
const USER_HZ: u64 = 100;

/// How long a VM whose process could not be found is left to libvirt before the pid
/// file is tried again.
const RETRY_MS: i64 = 30_000;

/// Reads guests' QEMU processes under one libvirt daemon's pid directory.
#[derive(Debug)]
pub struct ProcReader {
    pid_dir: PathBuf,
    proc_root: PathBuf,
    known: HashMap<Uuid, Found>,
    /// `btime` of `/proc/stat` (unix seconds), read once.
    boot_unix: Option<Option<i64>>,
}

#[derive(Debug, Clone, Copy)]
enum Found {
    Process {
        pid: u32,
        start_ticks: u64,
    },
    /// Not found at this time (unix ms): ask libvirt until [`RETRY_MS`] later.
    Missing {
        at_ms: i64,
    },
}

impl ProcReader {
    /// The reader for `uri` when it names a QEMU daemon on this machine whose pid files
    /// can be placed; `None` otherwise (a remote host, the test driver).
    pub fn for_uri(uri: &str) -> Option<ProcReader> {
        let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let dir = pid_dir(uri, runtime.as_deref(), home.as_deref())?;
        Some(ProcReader::new(dir, PathBuf::from("/proc")))
    }

    /// A reader of the pid files in `pid_dir` and the processes under `proc_root`.
    pub fn new(pid_dir: PathBuf, proc_root: PathBuf) -> ProcReader {
        ProcReader {
            pid_dir,
            proc_root,
            known: HashMap::new(),
            boot_unix: None,
        }
    }

    /// The pid directory this reader looks in.
    pub fn pid_dir(&self) -> &Path {
        &self.pid_dir
    }

    /// Read the process of the running VM `uuid` named `name` at `now_ms`; `None` when
    /// it cannot be found or read (then libvirt is asked instead).
    pub fn read(&mut self, uuid: &Uuid, name: &str, now_ms: i64) -> Option<ProcSample> {
        let boot = *self.boot_unix.get_or_insert_with(|| {
            std::fs::read_to_string(self.proc_root.join("stat"))
                .ok()
                .and_then(|t| parse_btime(&t))
        });
        let (mut sample, start_ticks) = self.read_process(uuid, name, now_ms)?;
        let since_boot = i64::try_from(start_ticks / USER_HZ).ok();
        sample.started_unix = boot.zip(since_boot).map(|(b, s)| b.saturating_add(s));
        Some(sample)
    }

    /// The sample and the start ticks of the VM's process.
    fn read_process(&mut self, uuid: &Uuid, name: &str, now_ms: i64) -> Option<(ProcSample, u64)> {
        match self.known.get(uuid).copied() {
            Some(Found::Process { pid, start_ticks }) => {
                if let Some((sample, start)) = self.stat(pid) {
                    if start == start_ticks {
                        return Some((sample, start));
                    }
                }
            }
            Some(Found::Missing { at_ms }) if now_ms - at_ms < RETRY_MS => return None,
            _ => {}
        }
        match self.find(uuid, name) {
            Some((pid, sample, start_ticks)) => {
                self.known
                    .insert(uuid.clone(), Found::Process { pid, start_ticks });
                Some((sample, start_ticks))
            }
            None => {
                self.known
                    .insert(uuid.clone(), Found::Missing { at_ms: now_ms });
                None
            }
        }
    }

    /// Forget VMs that are not running any more (`keep` says which still are).
    pub fn retain(&mut self, keep: impl Fn(&Uuid) -> bool) {
        self.known.retain(|u, _| keep(u));
    }

    /// The pid in the VM's pid file, if its process is the VM's (`-uuid UUID`).
    fn find(&self, uuid: &Uuid, name: &str) -> Option<(u32, ProcSample, u64)> {
        if name.is_empty() || name.contains('/') {
            return None;
        }
        let text = std::fs::read_to_string(self.pid_dir.join(format!("{name}.pid"))).ok()?;
        let pid: u32 = text.trim().parse().ok()?;
        let cmdline = std::fs::read(self.proc_root.join(pid.to_string()).join("cmdline")).ok()?;
        if !has_uuid_arg(&cmdline, uuid) {
            return None;
        }
        let (sample, start) = self.stat(pid)?;
        Some((pid, sample, start))
    }

    /// CPU time and start time of `pid` from `/proc/PID/stat`, its RSS from
    /// `/proc/PID/status` (in KiB there, whatever the page size).
    fn stat(&self, pid: u32) -> Option<(ProcSample, u64)> {
        let dir = self.proc_root.join(pid.to_string());
        let f = parse_stat(&std::fs::read_to_string(dir.join("stat")).ok()?)?;
        let rss_kib = parse_vm_rss(&std::fs::read_to_string(dir.join("status")).ok()?)?;
        let cpu_ticks = f.utime.saturating_add(f.stime);
        Some((
            ProcSample {
                cpu_ns: cpu_ticks.saturating_mul(1_000_000_000 / USER_HZ),
                rss_kib,
                started_unix: None,
            },
            f.start_ticks,
        ))
    }
}

/// The fields of `/proc/PID/stat` the reader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatFields {
    pub utime: u64,
    pub stime: u64,
    pub start_ticks: u64,
}

/// Parse `/proc/PID/stat`. The command name (field 2) is in parentheses and may hold
/// spaces and parentheses itself: fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<StatFields> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // After the name: field 3 (state) is f[0], so field n is f[n - 3].
    let num = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some(StatFields {
        utime: num(14)?,
        stime: num(15)?,
        start_ticks: num(22)?,
    })
}

/// `btime` of `/proc/stat`: when the host booted, unix seconds.
pub fn parse_btime(text: &str) -> Option<i64> {
    let line = text.lines().find(|l| l.starts_with("btime "))?;
    line["btime ".len()..].trim().parse().ok()
}

/// `VmRSS` of `/proc/PID/status`, KiB.
pub fn parse_vm_rss(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line["VmRSS:".len()..]
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// True when the NUL-separated command line holds `-uuid UUID` (any case).
pub fn has_uuid_arg(cmdline: &[u8], uuid: &str) -> bool {
    let mut args = cmdline.split(|b| *b == 0);
    while let Some(a) = args.next() {
        if a == b"-uuid" {
            return args
                .next()
                .is_some_and(|v| v.eq_ignore_ascii_case(uuid.as_bytes()));
        }
    }
    false
}

/// Where the daemon behind `uri` keeps its QEMU pid files, when it is on this machine:
/// `qemu:///system` → `/run/libvirt/qemu`; `qemu:///session` →
/// `$XDG_RUNTIME_DIR/libvirt/qemu/run` (`$HOME/.cache/libvirt/qemu/run` without one);
/// a `?socket=DIR/libvirt-sock` (or `virtqemud-sock`) URI → `DIR/qemu` or
/// `DIR/qemu/run`, the daemon's runtime directory being the socket's.
pub fn pid_dir(uri: &str, runtime: Option<&Path>, home: Option<&Path>) -> Option<PathBuf> {
    if !crate::hypervisor::is_local_uri(uri) {
        return None;
    }
    let (scheme, rest) = uri.split_once("://")?;
    if scheme.split('+').next() != Some("qemu") {
        return None;
    }
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let system = match path.trim_end_matches('/') {
        "/system" => true,
        "/session" => false,
        _ => return None,
    };
    let socket = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("socket="))
        .filter(|s| !s.is_empty());
    if let Some(sock) = socket {
        let sock = Path::new(sock);
        let file = sock.file_name()?.to_str()?;
        if !matches!(file, "libvirt-sock" | "virtqemud-sock") {
            return None;
        }
        let dir = sock.parent()?.join("qemu");
        return Some(if system { dir } else { dir.join("run") });
    }
    if system {
        return Some(PathBuf::from("/run/libvirt/qemu"));
    }
    match (runtime, home) {
        (Some(r), _) => Some(r.join("libvirt/qemu/run")),
        (None, Some(h)) => Some(h.join(".cache/libvirt/qemu/run")),
        (None, None) => None,
    }
}

#[cfg(test)]
#[path = "procfs_tests.rs"]
mod tests;
