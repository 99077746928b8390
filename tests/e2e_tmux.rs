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

mod common;
use common::tmux::*;
use std::fs;

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
    let s = t.wait_until("the destroy result and the row destroyed", |s| {
        let done = s
            .lines()
            .any(|l| l.contains(" ok ") && l.contains("destroyed ci-runner-17"));
        // A stopped VM says why: destroyed.
        done && state_of(s, "ci-runner-17").as_deref() == Some("destroyed")
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
    let s = t.wait_until("ci-runner-18 destroyed and still selected", |s| {
        let done = s
            .lines()
            .any(|l| l.contains(" ok ") && l.contains("destroyed ci-runner-18"));
        done && state_of(s, "ci-runner-18").as_deref() == Some("destroyed")
    });
    assert_eq!(selected(&s).as_deref(), Some("ci-runner-18"), "{s}");
    // A poll more, then Enter: the detail pane is the destroyed VM's.
    t.keys(&["Enter"]);
    let s = t.wait_until("the detail pane of ci-runner-18", |s| {
        s.lines()
            .any(|l| l.starts_with("│ci-runner-18  stopped: destroyed"))
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
    t.new_session("exec env PS1='$ ' bash --norc --noprofile -i");
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

/// Marks and one confirmation (issue 14, point 4): the stopped demo VMs, filtered and
/// marked with `*`, started with one `u` and one `y`; one result line per VM.
#[test]
fn mark_the_stopped_vms_and_start_them_with_one_confirmation() {
    let Some(t) = Tmux::start("mark_the_stopped_vms_and_start_them", &["--demo"]) else {
        return;
    };
    t.wait_dashboard();
    t.type_text("/stopped");
    t.keys(&["Enter"]);
    let s = t.wait_until("only the stopped rows", |s| {
        s.contains("filter: stopped") && rows(s).len() >= 2 && !s.contains("enter keep")
    });
    let stopped: Vec<String> = rows(&s).into_iter().map(|r| r.1).collect();
    let n = stopped.len();
    t.keys(&["*"]);
    t.wait_text(&format!("{n} marked"));
    // Clear the filter: the marks stay, and the confirmation lists them all.
    t.keys(&["Escape"]);
    t.wait_until("the filter cleared, the marks kept", |s| {
        s.contains("VMs 12/12") && s.contains(&format!("{n} marked"))
    });
    t.keys(&["u"]);
    let s = t.wait_text(&format!("START {n} VMs?"));
    assert!(s.contains(&format!("{n} of the {n} marked VMs:")), "{s}");
    for name in &stopped {
        assert!(s.contains(&format!("  {name} (")), "{name}: {s}");
    }
    t.keys(&["y"]);
    let s = t.wait_until("one ok line per VM, and every one running", |s| {
        let oks = s
            .lines()
            .filter(|l| l.contains(" ok ") && l.contains("started"))
            .count();
        oks == n
            && stopped
                .iter()
                .all(|name| state_of(s, name).as_deref() == Some("running"))
    });
    assert!(!s.contains("marked"), "the marks are spent: {s}");
    t.keys(&["q"]);
}
