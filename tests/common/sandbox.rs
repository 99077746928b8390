//! A temp dir `$D` whose processes are all stopped, and which is removed, when the test
//! ends — however it ends.
//!
//! A small watchdog `sh`, in its own process group (so Ctrl-C does not stop it), blocks
//! on a pipe whose only writer is the test process. When the pipe closes (the sandbox is
//! dropped, a panic unwinds, or the test process dies any other way, SIGKILL included),
//! it runs an optional first step, sends SIGTERM to every process whose environment
//! names `$D/`, SIGKILL after 5 s to what is left, removes `$D`, and waits (up to 5 s)
//! until PID 1 has reaped the daemonized ones, so `ps` right after shows nothing of ours.
//! Processes are found by their environment rather than their command line because the
//! watchdog's own command line names `$D`; everything a test starts gets `$D` in its
//! environment (`HOME`, `XDG_*`).

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// `$1` is the temp dir, `$2` a shell command run before the processes are signalled.
const WATCHDOG: &str = r#"
trap '' INT HUP PIPE
D="$1"
cat >/dev/null
eval "$2"
ours() { grep -lsF -- "$D/" /proc/[0-9]*/environ 2>/dev/null | sed -n 's#^/proc/\([0-9]*\)/environ$#\1#p'; }
seen=""
signal() { for p in $(ours); do [ "$p" != "$$" ] && seen="$seen $p" && kill "-$1" "$p" 2>/dev/null; done; }
gone() { i=0; while [ -n "$(ours)" ]; do [ "$i" -ge "$1" ] && return 1; sleep 0.1; i=$((i+1)); done; }
signal TERM
gone 50 || { signal KILL; gone 50; }
rm -rf -- "$D"
i=0
for p in $seen; do while [ -e "/proc/$p" ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done; done
"#;

/// A temp dir under `/tmp` with its cleanup watchdog.
pub struct Sandbox {
    dir: PathBuf,
    watchdog: Child,
    /// The only writer of the watchdog's stdin; dropping it starts the cleanup.
    pipe: Option<ChildStdin>,
    /// Removes the dir if the watchdog could not (held last).
    _tempdir: tempfile::TempDir,
}

impl Sandbox {
    /// A new `/tmp/PREFIXxxxxxx` (short: unix socket paths under it are limited to 108
    /// bytes) watched from now on. `first_step` runs (as shell, with `$D` set) before
    /// the processes are signalled, e.g. to stop a server cleanly.
    pub fn new(prefix: &str, first_step: &str) -> Sandbox {
        let tempdir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in("/tmp")
            .expect("create a temp dir under /tmp");
        let dir = tempdir.path().to_path_buf();
        let d = dir.to_str().expect("temp dir path is UTF-8").to_string();
        let mut watchdog = Command::new("sh")
            .args(["-c", WATCHDOG, "vmlife-test-watchdog", &d, first_step])
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("spawn the cleanup watchdog (sh)");
        let pipe = watchdog.stdin.take();
        Sandbox {
            dir,
            watchdog,
            pipe,
            _tempdir: tempdir,
        }
    }

    /// The directory (`$D`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Start the cleanup and wait for it, up to `limit`; `while_waiting` runs between
    /// looks (to reap a child the watchdog stopped, which would stay a zombie it waits
    /// for). Later calls (and the drop) do nothing more.
    pub fn finish(&mut self, limit: Duration, while_waiting: &mut dyn FnMut()) {
        let Some(mut pipe) = self.pipe.take() else {
            return;
        };
        let _ = pipe.flush();
        drop(pipe);
        let deadline = Instant::now() + limit;
        loop {
            while_waiting();
            match self.watchdog.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    eprintln!(
                        "WARNING: the cleanup watchdog of {} did not finish within {limit:?}",
                        self.dir.display()
                    );
                    let _ = self.watchdog.kill();
                    let _ = self.watchdog.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.finish(Duration::from_secs(30), &mut || {});
    }
}
