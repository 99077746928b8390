//! The tmux harness of the end-to-end tests: the real binary in a real terminal, in a
//! tmux server of the test's own (see tests/e2e_tmux.rs for what it guarantees).
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::sandbox::Sandbox;

/// Set to `1` to skip these tests when tmux is not installed.
pub const SKIP_ENV: &str = "VMLIFE_SKIP_TMUX";
pub const WIDTH: u16 = 120;
pub const HEIGHT: u16 = 32;
/// How long a test waits for something to appear on screen.
pub const WAIT: Duration = Duration::from_secs(10);
pub const SESSION: &str = "e2e";

/// Runs the command given as arguments, then reports how it ended and the terminal's
/// modes, on the normal screen. `stty -a` lists `icanon`/`-icanon` (and echo, isig):
/// raw mode left behind shows as `-icanon -echo -isig`. The pane then stays alive
/// (tmux reports a dead pane's cursor as hidden) until the test's cleanup.
pub const WRAPPER: &str = r#"#!/bin/sh
"$@"
echo "EXIT=$?"
printf 'TTY=%s\n' "$(stty -a | tr -s ' ;' '\n\n' | grep -xE -- '-?(isig|icanon|echo)' | tr '\n' ' ')"
exec sleep 60
"#;

/// tmux's config: nothing from the user, no status line (all 32 rows are the pane's),
/// the pane kept after its command ends so its last screen can be read.
pub const TMUX_CONF: &str = "set -g status off\n\
set -g default-terminal xterm-256color\n\
set -g remain-on-exit on\n\
set -g history-limit 100\n";

/// The sandbox's first step: stop the tmux server cleanly before its processes are
/// signalled.
pub const STOP_TMUX: &str = r#"tmux -S "$D/tmux.sock" kill-server 2>/dev/null"#;

/// How the wrapped command ended, and what the terminal looked like afterwards.
#[derive(Debug)]
pub struct Ended {
    /// `EXIT=` as printed by the wrapper.
    pub code: i32,
    /// `TTY=` words: `isig icanon echo` when the terminal is restored.
    pub tty: Vec<String>,
    /// The whole pane.
    pub screen: String,
    pub alternate_on: bool,
    pub cursor_visible: bool,
}

impl Ended {
    pub fn assert_terminal_restored(&self) {
        for mode in ["icanon", "echo", "isig"] {
            assert!(
                self.tty.iter().any(|w| w == mode),
                "the terminal is left without {mode} (raw mode left behind?): TTY={:?}\n{}",
                self.tty,
                self.screen
            );
        }
        assert!(
            !self.alternate_on,
            "the alternate screen is still on after exit:\n{}",
            self.screen
        );
        assert!(
            self.cursor_visible,
            "the cursor is still hidden after exit:\n{}",
            self.screen
        );
        // The shell's output is on the normal screen and nothing of the dashboard is.
        assert!(
            !self.screen.contains("┌ activity") && !self.screen.contains("engine:"),
            "the dashboard is still on screen after exit:\n{}",
            self.screen
        );
    }
}

/// A private tmux server running `vmlife ARGS…` in a 120×32 pane.
pub struct Tmux {
    pub dir: PathBuf,
    /// `$D` and its cleanup watchdog.
    pub sandbox: Sandbox,
    pub started: Instant,
    pub test: &'static str,
}

impl Tmux {
    /// Start `vmlife ARGS…` in a private tmux, or `None` when tmux is missing and
    /// `VMLIFE_SKIP_TMUX=1`. Panics when tmux is missing otherwise.
    pub fn start(test: &'static str, args: &[&str]) -> Option<Tmux> {
        let t = Tmux::new(test)?;
        t.launch(args);
        Some(t)
    }

    /// The temp dir and its watchdog, before tmux starts (see [`Tmux::start`]).
    pub fn new(test: &'static str) -> Option<Tmux> {
        if !have_tmux() {
            if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
                eprintln!("NOTE: {SKIP_ENV}=1 and tmux is not installed: skipping {test}");
                return None;
            }
            panic!(
                "`tmux` not found: the end-to-end tests need it. Install it with \
                 `apt-get install -y tmux` (scripts/install-deps test), or set {SKIP_ENV}=1 \
                 to skip them"
            );
        }
        let sandbox = Sandbox::new("vmlife-e2e-", STOP_TMUX);
        let dir = sandbox.dir().to_path_buf();

        for sub in ["home", "config", "cache", "data", "state", "run"] {
            fs::create_dir(dir.join(sub)).expect("create a dir for the test's HOME/XDG_*");
        }
        fs::write(dir.join("tmux.conf"), TMUX_CONF).expect("write tmux.conf");
        fs::write(dir.join("wrap.sh"), WRAPPER).expect("write wrap.sh");

        Some(Tmux {
            dir,
            sandbox,
            started: Instant::now(),
            test,
        })
    }

    /// Start the tmux server with one 120×32 pane running `vmlife ARGS…` in the wrapper.
    pub fn launch(&self, args: &[&str]) {
        self.launch_env(&[], args);
    }

    /// [`Tmux::launch`] with `NAME=value` pairs added to vmlife's environment.
    pub fn launch_env(&self, env: &[&str], args: &[&str]) {
        let wrapper = self.path("wrap.sh");
        let env: Vec<String> = env.iter().map(|e| sh_quote(e)).collect();
        let mut command = format!(
            "exec env {} /bin/sh {} {}",
            env.join(" "),
            sh_quote(&wrapper.display().to_string()),
            sh_quote(env!("CARGO_BIN_EXE_vmlife"))
        );
        for a in args {
            command.push(' ');
            command.push_str(&sh_quote(a));
        }
        self.new_session(&command);
        let size = self.format("#{pane_width}x#{pane_height}");
        assert_eq!(size, format!("{WIDTH}x{HEIGHT}"), "pane size");
    }

    /// Start the tmux server with one 120×32 pane running the shell `command`.
    pub fn new_session(&self, command: &str) {
        let (w, h) = (WIDTH.to_string(), HEIGHT.to_string());
        self.tmux(&[
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            &w,
            "-y",
            &h,
            command,
        ]);
    }

    /// A file in the test's temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `tmux -S SOCK -f CONF ARGS…` with the clean environment; its stdout. Panics when
    /// it fails.
    pub fn tmux(&self, args: &[&str]) -> String {
        let d = &self.dir;
        let out = Command::new("tmux")
            .arg("-S")
            .arg(d.join("tmux.sock"))
            .arg("-f")
            .arg(d.join("tmux.conf"))
            .args(args)
            .env_clear()
            .env("PATH", path_env())
            .env("HOME", d.join("home"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("XDG_CACHE_HOME", d.join("cache"))
            .env("XDG_DATA_HOME", d.join("data"))
            .env("XDG_STATE_HOME", d.join("state"))
            .env("XDG_RUNTIME_DIR", d.join("run"))
            .env("TMUX_TMPDIR", d)
            .env("TERM", "xterm-256color")
            .env("LANG", "C.UTF-8")
            .env("SHELL", "/bin/sh")
            .stdin(Stdio::null())
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The pane as text (wrapped lines joined), with its history: should the pane die,
    /// tmux writes "Pane is dead" on the bottom line, which may scroll the first lines
    /// the shell printed into the history. (The alternate screen has none.)
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", SESSION])
    }

    /// One `#{format}` of the pane.
    pub fn format(&self, f: &str) -> String {
        self.tmux(&["display-message", "-p", "-t", SESSION, f])
            .trim()
            .to_string()
    }

    /// Send keys by tmux name (`j`, `Enter`, `Escape`, `C-c`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Send text literally, one character each.
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", SESSION, "-l", text]);
    }

    /// Wait until `ok(screen)` holds; the screen that satisfied it. Panics with `what`
    /// and the last screen after [`WAIT`].
    pub fn wait_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}: waited {WAIT:?} for {what} ({:.1?} into the test); the screen:\n{s}",
                    self.test,
                    self.started.elapsed()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Wait until `text` is on screen.
    pub fn wait_text(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?}"), |s| s.contains(text))
    }

    /// Wait for the dashboard's first snapshot of the demo. (Not a count of VMs: the
    /// dashboard's cleanup may remove the demo's expired VM at start-up.)
    pub fn wait_dashboard(&self) -> String {
        self.wait_until("the demo's VMs, app-1 selected", |s| {
            s.contains("┌ VMs ")
                && selected(s).as_deref() == Some("app-1")
                && rows(s).iter().any(|r| r.1 == "web-1")
        })
    }

    /// Wait until the wrapped command has ended and the wrapper has reported.
    pub fn wait_ended(&self) -> Ended {
        let screen = self.wait_until("the program to exit (EXIT= and TTY= lines)", |s| {
            s.contains("TTY=")
        });
        // Found anywhere on a line: a program that leaves the cursor mid-line (or the
        // terminal in raw mode, no CR on LF) shifts them.
        let after = |tag: &str| {
            screen
                .lines()
                .find_map(|l| l.find(tag).map(|i| l[i + tag.len()..].to_string()))
        };
        let code = after("EXIT=")
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or_else(|| panic!("no EXIT= line:\n{screen}"));
        let tty = after("TTY=")
            .map(|t| t.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        Ended {
            code,
            tty,
            alternate_on: self.format("#{alternate_on}") == "1",
            cursor_visible: self.format("#{cursor_flag}") == "1",
            screen,
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.sandbox.finish(Duration::from_secs(15), &mut || {});
        eprintln!(
            "{}: {:.2?} including cleanup",
            self.test,
            self.started.elapsed()
        );
    }
}

pub fn path_env() -> String {
    let mut p = std::env::var("PATH").unwrap_or_default();
    for extra in ["/usr/local/bin", "/usr/bin", "/bin"] {
        if !p.split(':').any(|d| d == extra) {
            if !p.is_empty() {
                p.push(':');
            }
            p.push_str(extra);
        }
    }
    p
}

pub fn have_tmux() -> bool {
    std::env::split_paths(&path_env()).any(|d| d.join("tmux").is_file())
}

/// `'…'` for sh.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The table's rows: `(selected, name, rest of the line)`.
pub fn rows(screen: &str) -> Vec<(bool, String, String)> {
    screen
        .lines()
        .filter_map(|l| {
            let inner = l.strip_prefix('│')?;
            let (mark, rest) = if let Some(r) = inner.strip_prefix("▶ ") {
                (true, r)
            } else {
                (false, inner.strip_prefix("  ")?)
            };
            let name = rest.split_whitespace().next()?;
            let is_vm =
                name.starts_with(|c: char| c.is_ascii_alphanumeric()) && !name.starts_with("NAME");
            is_vm.then(|| (mark, name.to_string(), rest.to_string()))
        })
        .collect()
}

/// The name on the row with the ▶ marker.
pub fn selected(screen: &str) -> Option<String> {
    rows(screen).into_iter().find(|r| r.0).map(|r| r.1)
}

/// The state column of `name`'s row.
pub fn state_of(screen: &str, name: &str) -> Option<String> {
    rows(screen)
        .into_iter()
        .find(|r| r.1 == name)
        .and_then(|r| r.2.split_whitespace().nth(1).map(String::from))
}

/// The hints bar: the last non-empty line.
pub fn hints_bar(screen: &str) -> String {
    screen
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_string()
}

pub fn write_file(path: &Path, text: &str) {
    fs::write(path, text).expect("write a file for the test");
}
