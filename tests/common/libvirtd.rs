//! A private, unprivileged libvirtd for integration tests.
//!
//! Tests must never touch the host's `qemu:///system`, its daemon or its VMs. So each
//! [`PrivateLibvirtd`] runs its own `libvirtd` in session mode with every directory
//! (runtime, config, cache, data) inside a fresh temp dir `$D`, and tests connect to it
//! through `qemu+unix:///session?socket=$D/run/libvirt/libvirt-sock`.
//!
//! As root, `qemu:///session` would go to the system daemon, so the daemon runs as user
//! `nobody` (`setpriv --reuid --regid --clear-groups`, numeric ids from `id nobody`) and
//! `$D` is chowned to it. Not being root, the daemon runs as the current user. `nobody`
//! cannot open `/dev/kvm` (root-only here), which does not matter: the tiny VM is TCG
//! (`type='qemu'`).
//!
//! # Teardown
//! Every process the daemon starts (libvirtd, the virtlogd it spawns, every QEMU) has
//! `$D/...` in its environment (`XDG_RUNTIME_DIR=$D/run` and so on; QEMU gets
//! `HOME=$D/cfg/...`), and no other process on the host does: `$D` is a fresh random
//! name. virtlogd and QEMU daemonize (their parent becomes PID 1), so "children of the
//! daemon" would miss them; "environment mentions `$D/`" does not.
//!
//! Cleanup is done by [`super::sandbox::Sandbox`]: a small watchdog `sh` started before
//! the daemon, in its own process group (a Ctrl-C to the test does not stop it). It
//! blocks reading a pipe whose only writer is the test process. When the pipe closes, the watchdog sends SIGTERM to every
//! process whose environment mentions `$D/`, waits up to 5 s, sends SIGKILL to what is
//! left, waits again, removes `$D`, and waits (up to 5 s) until PID 1 has reaped the
//! daemonized ones, so `ps` right afterwards shows no `<defunct>` entries either. The
//! pipe closes when [`Drop`] runs (also while a test panics: it unwinds), and also when
//! the test process dies in any other way (SIGKILL, abort, `exit` with a `static` never
//! dropped): the kernel closes its file descriptors. [`Drop`] closes the pipe and *waits*
//! for the watchdog (reaping the daemon, its own child, meanwhile), so when a test
//! returns, the daemon, virtlogd and every QEMU are gone and `$D` is removed: normal runs
//! and abnormal ones take the same code path. The daemon also gets `--timeout=600` as a
//! last resort.
//!
//! Sharing: start one daemon per test binary in a single `#[test]` and run independent
//! cases on separate VMs with [`super::run_cases`] (parallel threads, every failure
//! reported). A `static` daemon would never be dropped; the watchdog would still clean
//! up, but only after the test binary had exited, i.e. racing `cargo test`'s return.
#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::sandbox::Sandbox;
use std::time::{Duration, Instant};

/// Set to `1` to skip tests that need a real libvirtd (prints a note instead).
pub const SKIP_ENV: &str = "VMLIFE_SKIP_LIBVIRTD";

/// How long the daemon may take to accept connections.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// The namespace of vmlife's domain metadata element.
pub const VMLIFE_NS: &str = "urn:vmlife:lifecycle:1";

/// The diskless, NIC-less TCG VM from LIBVIRT-NOTES.md: boots SeaBIOS and idles.
pub fn tiny_xml(name: &str) -> String {
    format!(
        "<domain type='qemu'>\n  <name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>\n  \
         <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='network'/></os>\n  \
         <devices><serial type='pty'/><memballoon model='virtio'/></devices>\n</domain>\n"
    )
}

/// A private libvirtd; stopped (with everything it started) and its temp dir removed on
/// drop.
pub struct PrivateLibvirtd {
    dir: PathBuf,
    uri: String,
    daemon: Child,
    /// `$D` and its cleanup watchdog (held last).
    sandbox: Sandbox,
    started_in: Duration,
}

impl PrivateLibvirtd {
    /// Start a daemon, or `None` (after printing a note) when `VMLIFE_SKIP_LIBVIRTD=1`.
    pub fn start_or_skip() -> Option<Self> {
        if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
            eprintln!(
                "NOTE: {SKIP_ENV}=1: skipping a test that needs a private libvirtd \
                 (libvirtd, virtlogd, qemu-system-x86_64, setpriv)"
            );
            return None;
        }
        Some(Self::start())
    }

    /// Start a private daemon and wait until it accepts connections. Panics with a clear
    /// message when a needed program is missing or the daemon does not come up.
    pub fn start() -> Self {
        let t0 = Instant::now();
        let as_root = fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        let libvirtd = require("libvirtd");
        require("virtlogd");
        require("virsh");
        require("qemu-system-x86_64");

        // Short, fixed parent: QEMU's monitor socket paths live under $D and unix socket
        // paths are limited to 108 bytes; `nobody` must be able to traverse the parent.
        // The sandbox first, so that everything after it is cleaned up whatever happens.
        let sandbox = Sandbox::new("vmlife-lvd-", "");
        let dir = sandbox.dir().to_path_buf();
        let d = dir.to_str().expect("temp dir path is UTF-8").to_string();

        for sub in ["run", "cfg", "cache", "data"] {
            fs::create_dir(dir.join(sub)).expect("create a daemon dir");
        }
        let log = fs::File::create(dir.join("libvirtd.log")).expect("create libvirtd.log");
        let log_err = log.try_clone().expect("dup libvirtd.log");

        let mut cmd;
        if as_root {
            let setpriv = require("setpriv");
            let (uid, gid) = (id_of("-u"), id_of("-g"));
            for p in [
                dir.clone(),
                dir.join("run"),
                dir.join("cfg"),
                dir.join("cache"),
                dir.join("data"),
            ] {
                std::os::unix::fs::chown(&p, Some(uid), Some(gid))
                    .expect("chown the temp dir to nobody");
                fs::set_permissions(&p, fs::Permissions::from_mode(0o700))
                    .expect("chmod the temp dir");
            }
            cmd = Command::new(setpriv);
            cmd.args([
                format!("--reuid={uid}"),
                format!("--regid={gid}"),
                "--clear-groups".into(),
            ]);
            cmd.arg("env");
        } else {
            cmd = Command::new("env");
        }
        // `env -i`: nothing of the test's environment (LIBVIRT_*, XDG_*) leaks in.
        cmd.args([
            "-i".to_string(),
            format!("HOME={d}"),
            format!("XDG_RUNTIME_DIR={d}/run"),
            format!("XDG_CONFIG_HOME={d}/cfg"),
            format!("XDG_CACHE_HOME={d}/cache"),
            format!("XDG_DATA_HOME={d}/data"),
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        ])
        .arg(&libvirtd)
        .arg("--timeout=600")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
        let daemon = cmd.spawn().expect("spawn libvirtd");

        let uri = format!("qemu+unix:///session?socket={d}/run/libvirt/libvirt-sock");
        let mut me = PrivateLibvirtd {
            dir,
            uri,
            daemon,
            sandbox,
            started_in: Duration::ZERO,
        };
        me.wait_ready(t0);
        me.started_in = t0.elapsed();
        eprintln!(
            "private libvirtd pid {} ready in {:.2?} at {}",
            me.daemon.id(),
            me.started_in,
            me.dir.display()
        );
        me
    }

    fn wait_ready(&mut self, t0: Instant) {
        let sock = self.dir.join("run/libvirt/libvirt-sock");
        loop {
            if let Ok(Some(status)) = self.daemon.try_wait() {
                panic!(
                    "libvirtd exited during start-up ({status}); its log:\n{}",
                    self.log_tail()
                );
            }
            if UnixStream::connect(&sock).is_ok() {
                break;
            }
            if t0.elapsed() > START_DEADLINE {
                panic!(
                    "libvirtd did not accept connections on {} within {START_DEADLINE:?}; its log:\n{}",
                    sock.display(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // The socket accepts; make sure the daemon answers RPCs too.
        if let Err(e) = self.try_virsh(&["uri"]) {
            panic!(
                "libvirtd accepts but does not answer: {e}; its log:\n{}",
                self.log_tail()
            );
        }
    }

    /// The URI tests connect to.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The temp dir holding all of the daemon's state.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The daemon's PID.
    pub fn pid(&self) -> u32 {
        self.daemon.id()
    }

    /// How long [`PrivateLibvirtd::start`] took.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// The last lines of the daemon's stderr.
    pub fn log_tail(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = fs::File::open(self.dir.join("libvirtd.log")) {
            let _ = f.read_to_string(&mut s);
        }
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// `virsh -c URI ARGS...`: its stdout, or its stderr as the error.
    pub fn try_virsh(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("virsh")
            .arg("-q")
            .arg("-c")
            .arg(&self.uri)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("run virsh: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "virsh {args:?} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// `virsh -c URI ARGS...`: its stdout; panics when it fails.
    pub fn virsh(&self, args: &[&str]) -> String {
        self.try_virsh(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Define a domain from XML with virsh; returns its UUID.
    pub fn define_xml(&self, name: &str, xml: &str) -> String {
        let path = self.dir.join(format!("{name}.xml"));
        fs::write(&path, xml).expect("write domain XML");
        let path = path.to_str().expect("UTF-8 path");
        self.virsh(&["define", path]);
        self.virsh(&["domuuid", name]).trim().to_string()
    }

    /// Define the tiny diskless TCG VM named `name` with virsh; returns its UUID.
    pub fn define_tiny(&self, name: &str) -> String {
        self.define_xml(name, &tiny_xml(name))
    }

    /// `virsh domstate --reason NAME`, e.g. `shut off (crashed)`.
    pub fn domstate(&self, name: &str) -> String {
        self.virsh(&["domstate", "--reason", name])
            .trim()
            .to_string()
    }

    /// The PID of the VM's QEMU process, when it runs: from libvirt's pid file, checked
    /// against /proc (alive, ours, `-name guest=NAME`), else by scanning /proc.
    pub fn qemu_pid(&self, name: &str) -> Option<u32> {
        let pidfile = self.dir.join(format!("run/libvirt/qemu/run/{name}.pid"));
        if let Some(pid) = fs::read_to_string(pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            if self.is_qemu_of(pid, name) {
                return Some(pid);
            }
        }
        self.our_processes()
            .into_iter()
            .find(|&pid| self.is_qemu_of(pid, name))
    }

    fn is_qemu_of(&self, pid: u32, name: &str) -> bool {
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let wanted = format!("guest={name},");
        let mut args = cmdline.split(|&b| b == 0);
        let mut has_name = false;
        while let Some(a) = args.next() {
            if a == b"-name" {
                has_name = args
                    .next()
                    .is_some_and(|v| v.starts_with(wanted.as_bytes()));
                break;
            }
        }
        has_name && self.is_ours(pid)
    }

    /// True when the process's environment mentions this daemon's dir.
    fn is_ours(&self, pid: u32) -> bool {
        let needle = format!("{}/", self.dir.display());
        let env = fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        env.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    /// Every live process this daemon started (and the daemon itself).
    pub fn our_processes(&self) -> Vec<u32> {
        let Ok(rd) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| self.is_ours(pid))
            .collect()
    }

    /// Make the VM crash: SIGKILL its QEMU process, and wait until the process is gone.
    /// Returns the PID killed. Panics when the VM has no QEMU process.
    pub fn kill_qemu(&self, name: &str) -> u32 {
        let pid = self
            .qemu_pid(name)
            .unwrap_or_else(|| panic!("no QEMU process for domain {name}"));
        let st = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(st.success(), "kill -KILL {pid} failed");
        let gone = super::wait_for(Duration::from_secs(5), Duration::from_millis(20), || {
            (!self.is_ours(pid)).then_some(())
        });
        assert!(
            gone.is_some(),
            "QEMU {pid} of {name} still alive 5 s after SIGKILL"
        );
        pid
    }
}

impl Drop for PrivateLibvirtd {
    fn drop(&mut self) {
        let t = Instant::now();
        // The daemon is our child: reap it as soon as the watchdog has stopped it, or it
        // stays a zombie that the watchdog waits for.
        let daemon = &mut self.daemon;
        self.sandbox.finish(Duration::from_secs(30), &mut || {
            let _ = daemon.try_wait();
        });
        // Reap the daemon (our child); it is dead unless the watchdog failed.
        if !matches!(self.daemon.try_wait(), Ok(Some(_))) {
            let _ = self.daemon.kill();
            let _ = self.daemon.wait();
        }
        let left = self.our_processes();
        if !left.is_empty() {
            eprintln!("WARNING: processes of the private libvirtd still alive: {left:?}");
        }
        eprintln!(
            "private libvirtd stopped and cleaned up in {:.2?}",
            t.elapsed()
        );
    }
}

/// The path of a program this harness needs, or a panic saying how to get it.
fn require(program: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for extra in ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
        dirs.push(PathBuf::from(extra));
    }
    dirs.into_iter()
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{program}` not found: these tests need a real libvirtd. Install it with \
                 `apt-get install -y --no-install-recommends libvirt-daemon-system \
                 qemu-system-x86 util-linux` (see the Makefile), or set {SKIP_ENV}=1 to skip"
            )
        })
}

/// `id FLAG nobody` as a number.
fn id_of(flag: &str) -> u32 {
    let out = Command::new("id")
        .args([flag, "nobody"])
        .output()
        .expect("run id");
    assert!(
        out.status.success(),
        "user `nobody` does not exist; the private libvirtd runs as it"
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("numeric id")
}
