//! End to end: the real binary in a real terminal (tmux), on the bundled demo.
//!
//! Each test starts its own tmux server on a socket in a fresh temp dir `$D`
//! (`tmux -S $D/tmux.sock -f $D/tmux.conf`), so a user's tmux is never touched, with a
//! fixed 120×32 window and a clean environment: `HOME` and every `XDG_*` inside `$D`, no
//! `LIBVIRT_DEFAULT_URI`, no `VMLIFE_CONFIG`/`VMLIFE_STATE_DIR`, `TERM=xterm-256color`.
//! The pane runs `$D/wrap.sh vmlife ARGS…`: the binary, then `EXIT=<code>` and the
//! terminal's line discipline flags (`TTY=isig icanon echo` when restored) from
//! `stty -a`, printed on the normal screen. The pane stays alive after that (`exec sleep
//! 60`, ended by the cleanup), so a test reads what the shell printed and tmux's own view
//! of the terminal (`#{alternate_on}`, `#{cursor_flag}`).
//!
//! Tests poll `capture-pane -p` with a deadline ([`WAIT`]) for the text they expect:
//! no fixed sleeps. A failure prints the last screen.
//!
//! Cleanup is `tests/common/sandbox.rs`, shared with the libvirtd harness: a watchdog
//! `sh` in its own process group blocks on a pipe whose only writer is the test. When the pipe closes ([`Drop`], a
//! panic unwinding, or the test process dying any other way) it kills the tmux server,
//! then every process whose environment mentions `$D/` (tmux, the shell, vmlife), and
//! removes `$D`. `Drop` waits for it.
//!
//! tmux is required: a missing tmux fails these tests, unless `VMLIFE_SKIP_TMUX=1`.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a test may panic

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::sandbox::Sandbox;

/// Set to `1` to skip these tests when tmux is not installed.
const SKIP_ENV: &str = "VMLIFE_SKIP_TMUX";
const WIDTH: u16 = 120;
const HEIGHT: u16 = 32;
/// How long a test waits for something to appear on screen.
const WAIT: Duration = Duration::from_secs(10);
const SESSION: &str = "e2e";

/// Runs the command given as arguments, then reports how it ended and the terminal's
/// modes, on the normal screen. `stty -a` lists `icanon`/`-icanon` (and echo, isig):
/// raw mode left behind shows as `-icanon -echo -isig`. The pane then stays alive
/// (tmux reports a dead pane's cursor as hidden) until the test's cleanup.
const WRAPPER: &str = r#"#!/bin/sh
"$@"
echo "EXIT=$?"
printf 'TTY=%s\n' "$(stty -a | tr -s ' ;' '\n\n' | grep -xE -- '-?(isig|icanon|echo)' | tr '\n' ' ')"
exec sleep 60
"#;

/// tmux's config: nothing from the user, no status line (all 32 rows are the pane's),
/// the pane kept after its command ends so its last screen can be read.
const TMUX_CONF: &str = "set -g status off\n\
set -g default-terminal xterm-256color\n\
set -g remain-on-exit on\n\
set -g history-limit 100\n";

/// The sandbox's first step: stop the tmux server cleanly before its processes are
/// signalled.
const STOP_TMUX: &str = r#"tmux -S "$D/tmux.sock" kill-server 2>/dev/null"#;

/// How the wrapped command ended, and what the terminal looked like afterwards.
#[derive(Debug)]
struct Ended {
    /// `EXIT=` as printed by the wrapper.
    code: i32,
    /// `TTY=` words: `isig icanon echo` when the terminal is restored.
    tty: Vec<String>,
    /// The whole pane.
    screen: String,
    alternate_on: bool,
    cursor_visible: bool,
}

impl Ended {
    fn assert_terminal_restored(&self) {
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
struct Tmux {
    dir: PathBuf,
    /// `$D` and its cleanup watchdog.
    sandbox: Sandbox,
    started: Instant,
    test: &'static str,
}

impl Tmux {
    /// Start `vmlife ARGS…` in a private tmux, or `None` when tmux is missing and
    /// `VMLIFE_SKIP_TMUX=1`. Panics when tmux is missing otherwise.
    fn start(test: &'static str, args: &[&str]) -> Option<Tmux> {
        let t = Tmux::new(test)?;
        t.launch(args);
        Some(t)
    }

    /// The temp dir and its watchdog, before tmux starts (see [`Tmux::start`]).
    fn new(test: &'static str) -> Option<Tmux> {
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
    fn launch(&self, args: &[&str]) {
        self.launch_env(&[], args);
    }

    /// [`Tmux::launch`] with `NAME=value` pairs added to vmlife's environment.
    fn launch_env(&self, env: &[&str], args: &[&str]) {
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
            &command,
        ]);
        let size = self.format("#{pane_width}x#{pane_height}");
        assert_eq!(size, format!("{WIDTH}x{HEIGHT}"), "pane size");
    }

    /// A file in the test's temp dir.
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `tmux -S SOCK -f CONF ARGS…` with the clean environment; its stdout. Panics when
    /// it fails.
    fn tmux(&self, args: &[&str]) -> String {
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
    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", SESSION])
    }

    /// One `#{format}` of the pane.
    fn format(&self, f: &str) -> String {
        self.tmux(&["display-message", "-p", "-t", SESSION, f])
            .trim()
            .to_string()
    }

    /// Send keys by tmux name (`j`, `Enter`, `Escape`, `C-c`).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Send text literally, one character each.
    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", SESSION, "-l", text]);
    }

    /// Wait until `ok(screen)` holds; the screen that satisfied it. Panics with `what`
    /// and the last screen after [`WAIT`].
    fn wait_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
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
    fn wait_text(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?}"), |s| s.contains(text))
    }

    /// Wait for the dashboard's first snapshot of the demo. (Not a count of VMs: the
    /// dashboard's cleanup may remove the demo's expired VM at start-up.)
    fn wait_dashboard(&self) -> String {
        self.wait_until("the demo's VMs, app-1 selected", |s| {
            s.contains("┌ VMs ")
                && selected(s).as_deref() == Some("app-1")
                && rows(s).iter().any(|r| r.1 == "web-1")
        })
    }

    /// Wait until the wrapped command has ended and the wrapper has reported.
    fn wait_ended(&self) -> Ended {
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

fn path_env() -> String {
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

fn have_tmux() -> bool {
    std::env::split_paths(&path_env()).any(|d| d.join("tmux").is_file())
}

/// `'…'` for sh.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The table's rows: `(selected, name, rest of the line)`.
fn rows(screen: &str) -> Vec<(bool, String, String)> {
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
fn selected(screen: &str) -> Option<String> {
    rows(screen).into_iter().find(|r| r.0).map(|r| r.1)
}

/// The state column of `name`'s row.
fn state_of(screen: &str, name: &str) -> Option<String> {
    rows(screen)
        .into_iter()
        .find(|r| r.1 == name)
        .and_then(|r| r.2.split_whitespace().nth(1).map(String::from))
}

/// The hints bar: the last non-empty line.
fn hints_bar(screen: &str) -> String {
    screen
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_string()
}

fn write_file(path: &Path, text: &str) {
    fs::write(path, text).expect("write a file for the test");
}

#[test]
fn navigate_filter_help_destroy_and_quit() {
    let Some(t) = Tmux::start("navigate_filter_help_destroy_and_quit", &["--demo"]) else {
        return;
    };
    let s = t.wait_dashboard();
    assert!(s.contains(" DEMO "), "{s}");

    // j/k move the ▶ marker (rows sorted by name).
    t.keys(&["j"]);
    t.wait_until("▶ on broken-policy", |s| {
        selected(s).as_deref() == Some("broken-policy")
    });
    t.keys(&["j"]);
    t.wait_until("▶ on build-cache", |s| {
        selected(s).as_deref() == Some("build-cache")
    });
    t.keys(&["k"]);
    t.wait_until("▶ back on broken-policy", |s| {
        selected(s).as_deref() == Some("broken-policy")
    });

    // Filter: /ci, Enter keeps it; only the ci-runner rows stay.
    t.type_text("/ci");
    t.wait_text("filter: ci");
    t.keys(&["Enter"]);
    t.wait_until("only the ci-runner rows, filter kept after Enter", |s| {
        let names: Vec<String> = rows(s).into_iter().map(|r| r.1).collect();
        // While the filter is edited the hints bar says "enter keep".
        s.contains("VMs 2/")
            && s.contains("filter: ci")
            && names == ["ci-runner-17", "ci-runner-18"]
            && !s.contains("enter keep")
    });

    // Help opens and closes.
    t.keys(&["?"]);
    t.wait_text("Keys (configurable");
    t.keys(&["Escape"]);
    t.wait_until("help closed, the ci rows back", |s| {
        !s.contains("Keys (configurable") && selected(s).as_deref() == Some("ci-runner-17")
    });

    // Destroy the selected running VM: asks, y confirms.
    let s = t.screen();
    assert_eq!(
        state_of(&s, "ci-runner-17").as_deref(),
        Some("running"),
        "{s}"
    );
    t.keys(&["D"]);
    t.wait_text("DESTROY ci-runner-17?");
    t.keys(&["y"]);
    let s = t.wait_until("the destroy result and the row stopped", |s| {
        let done = s
            .lines()
            .any(|l| l.contains(" ok ") && l.contains("destroyed ci-runner-17"));
        done && state_of(s, "ci-runner-17").as_deref() == Some("stopped")
    });
    assert!(
        !s.contains("DESTROY ci-runner-17?"),
        "popup still open:\n{s}"
    );
    assert_eq!(
        state_of(&s, "ci-runner-18").as_deref(),
        Some("running"),
        "only the selected VM is destroyed:\n{s}"
    );

    t.keys(&["q"]);
    let end = t.wait_ended();
    assert_eq!(end.code, 0, "{}", end.screen);
    end.assert_terminal_restored();
}

#[test]
fn ctrl_c_quits_and_restores_the_terminal() {
    let Some(t) = Tmux::start("ctrl_c_quits_and_restores_the_terminal", &["--demo"]) else {
        return;
    };
    t.wait_dashboard();
    // A popup open: Ctrl-C quits from there too.
    t.keys(&["?"]);
    t.wait_text("Keys (configurable");
    t.keys(&["C-c"]);
    let end = t.wait_ended();
    assert_eq!(end.code, 0, "{}", end.screen);
    end.assert_terminal_restored();
}

#[test]
fn bad_config_is_one_line_on_the_normal_screen() {
    let Some(t) = Tmux::new("bad_config_is_one_line_on_the_normal_screen") else {
        return;
    };
    let cfg = t.path("bad.toml");
    write_file(&cfg, "[keys]\ndestroy = [\"j\"]\n");
    let cfg = cfg.display().to_string();
    t.launch(&["--demo", "--config", &cfg]);
    let end = t.wait_ended();
    assert_eq!(end.code, 1, "{}", end.screen);
    let want =
        format!("vmlife: error: config file {cfg}: keys.destroy: j is already bound to down");
    let printed: Vec<&str> = end
        .screen
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !l.starts_with("EXIT=") && !l.starts_with("TTY="))
        .filter(|l| !l.starts_with("Pane is dead"))
        .collect();
    assert_eq!(
        printed,
        [want.as_str()],
        "exactly the one error line:\n{}",
        end.screen
    );
    end.assert_terminal_restored();
}

#[test]
fn readonly_has_no_destroy() {
    let Some(t) = Tmux::start("readonly_has_no_destroy", &["--demo", "--readonly"]) else {
        return;
    };
    let s = t.wait_dashboard();
    assert!(s.contains(" READ-ONLY "), "{s}");
    let hints = hints_bar(&s);
    assert!(hints.contains("quit"), "hints bar: {hints:?}");
    for word in ["destroy", "shutdown", "start", "reboot"] {
        assert!(
            !hints.contains(word),
            "{word} in the read-only hints bar: {hints:?}"
        );
    }
    assert_eq!(state_of(&s, "app-1").as_deref(), Some("running"), "{s}");

    // D on a running VM does nothing; the next key (j) shows it has been read.
    t.keys(&["D"]);
    t.keys(&["j"]);
    let s = t.wait_until("▶ on broken-policy after D j", |s| {
        selected(s).as_deref() == Some("broken-policy")
    });
    assert!(
        !s.contains("DESTROY"),
        "a destroy popup under --readonly:\n{s}"
    );
    assert!(s.contains("no actions yet"), "{s}");
    assert_eq!(state_of(&s, "app-1").as_deref(), Some("running"), "{s}");

    t.keys(&["q"]);
    let end = t.wait_ended();
    assert_eq!(end.code, 0, "{}", end.screen);
    end.assert_terminal_restored();
}

#[test]
fn destroy_keeps_the_selection_on_the_destroyed_vm() {
    let Some(t) = Tmux::start(
        "destroy_keeps_the_selection_on_the_destroyed_vm",
        &["--demo"],
    ) else {
        return;
    };
    t.wait_dashboard();
    t.keys(&["j", "j", "j", "j"]);
    t.wait_until("▶ on ci-runner-18", |s| {
        selected(s).as_deref() == Some("ci-runner-18")
    });
    t.keys(&["D"]);
    t.wait_text("DESTROY ci-runner-18?");
    t.keys(&["y"]);
    // The destroyed VM moves in libvirt's list (running domains first), not in the
    // table: the ▶ stays on it after the snapshots that follow the destroy.
    let s = t.wait_until("ci-runner-18 stopped and still selected", |s| {
        let done = s
            .lines()
            .any(|l| l.contains(" ok ") && l.contains("destroyed ci-runner-18"));
        done && state_of(s, "ci-runner-18").as_deref() == Some("stopped")
    });
    assert_eq!(selected(&s).as_deref(), Some("ci-runner-18"), "{s}");
    // A poll more, then Enter: the detail pane is the destroyed VM's.
    t.keys(&["Enter"]);
    let s = t.wait_until("the detail pane of ci-runner-18", |s| {
        s.lines().any(|l| l.starts_with("│ci-runner-18  stopped"))
    });
    assert_eq!(selected(&s).as_deref(), Some("ci-runner-18"), "{s}");
    assert_eq!(
        state_of(&s, "ci-runner-17").as_deref(),
        Some("running"),
        "{s}"
    );
    t.keys(&["q"]);
    let end = t.wait_ended();
    assert_eq!(end.code, 0, "{}", end.screen);
}

/// A panic on a tokio worker or a blocking thread (a debug-build-only trigger) ends the
/// whole process: non-zero, terminal restored, one line on stderr, the report in the log.
#[cfg(debug_assertions)]
#[test]
fn a_panic_on_any_thread_ends_the_process_cleanly() {
    for (kind, what) in [
        ("worker", "debug panic on a tokio worker"),
        ("blocking", "debug panic on a blocking thread"),
    ] {
        let Some(t) = Tmux::new("a_panic_on_any_thread_ends_the_process_cleanly") else {
            return;
        };
        let state = t.path("state-dir");
        let state_arg = state.display().to_string();
        t.launch_env(
            &[&format!("VMLIFE_DEBUG_PANIC={kind}")],
            &["--demo", "--state-dir", &state_arg],
        );
        let end = t.wait_ended();
        assert_eq!(end.code, 101, "{kind}: {}", end.screen);
        end.assert_terminal_restored();
        let printed: Vec<&str> = end
            .screen
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter(|l| !l.starts_with("EXIT=") && !l.starts_with("TTY="))
            .filter(|l| !l.starts_with("Pane is dead"))
            .collect();
        let log = state.join("dashboard.log");
        assert_eq!(printed.len(), 1, "{kind}: one line:\n{}", end.screen);
        assert!(
            printed[0].starts_with("vmlife: internal error: panic at ")
                && printed[0].contains(what)
                && printed[0].ends_with(&format!("the full report is in {}", log.display())),
            "{kind}: {}",
            printed[0]
        );
        let report = fs::read_to_string(&log).unwrap();
        assert!(report.contains(what), "{kind}: {report}");
        assert!(report.contains("stack backtrace:"), "{kind}: {report}");
    }
}

/// Ctrl-Z gives the terminal back to an interactive shell (job stopped, normal screen);
/// `fg` takes it again in raw mode: one `j` moves the ▶ without Enter.
#[test]
fn ctrl_z_and_fg_restore_raw_mode() {
    let Some(t) = Tmux::new("ctrl_z_and_fg_restore_raw_mode") else {
        return;
    };
    let (w, h) = (WIDTH.to_string(), HEIGHT.to_string());
    t.tmux(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        &w,
        "-y",
        &h,
        "exec env PS1='$ ' bash --norc --noprofile -i",
    ]);
    t.wait_text("$ ");
    t.type_text(&format!(
        "{} --demo",
        sh_quote(env!("CARGO_BIN_EXE_vmlife"))
    ));
    t.keys(&["Enter"]);
    t.wait_dashboard();
    t.keys(&["j"]);
    t.wait_until("▶ on broken-policy", |s| {
        selected(s).as_deref() == Some("broken-policy")
    });

    t.keys(&["C-z"]);
    let s = t.wait_until("the job stopped, on the shell's screen", |s| {
        s.contains("Stopped")
    });
    assert_eq!(t.format("#{alternate_on}"), "0", "{s}");

    t.type_text("fg");
    t.keys(&["Enter"]);
    t.wait_until("the dashboard back, ▶ on broken-policy", |s| {
        s.contains("┌ VMs ") && selected(s).as_deref() == Some("broken-policy")
    });
    assert_eq!(t.format("#{alternate_on}"), "1");
    // Raw mode: a single key arrives without Enter, and is not echoed.
    t.keys(&["j"]);
    let s = t.wait_until("▶ on build-cache after one j", |s| {
        selected(s).as_deref() == Some("build-cache")
    });
    assert!(
        !s.lines()
            .any(|l| l.trim_end().ends_with("fgj") || l.trim() == "j"),
        "j echoed:\n{s}"
    );

    t.keys(&["q"]);
    t.wait_until("the shell prompt again", |s| {
        !s.contains("┌ VMs ") && s.lines().any(|l| l.starts_with("$ "))
    });
    assert_eq!(t.format("#{alternate_on}"), "0");
}
