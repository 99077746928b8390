//! Two hosts in one dashboard, end to end: two private libvirtds (each in its own temp
//! dir, see tests/common/libvirtd.rs), the real binary in tmux (tests/common/tmux.rs).
//! Both hosts' VMs are listed (a same-named VM on each is two rows); starting the second
//! host's copy reaches only that host; a daemon frozen with SIGSTOP is marked STALE
//! while the other host keeps refreshing, and SIGCONT brings it back.
#![allow(clippy::unwrap_used)]

mod common;
use common::fleet::strip_line;
use common::libvirtd::PrivateLibvirtd;
use common::tmux::*;

use std::process::Command;
use std::time::{Duration, Instant};

/// Send `sig` (`STOP`, `CONT`) to `pid`.
fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} {pid}");
}

/// Thaws a frozen daemon however the test ends, so its own cleanup can stop it.
struct Thaw(u32);

impl Drop for Thaw {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(self.0.to_string())
            .status();
    }
}

/// The row of `name` on host `host`: (selected, the row's cells).
fn row_of(screen: &str, name: &str, host: &str) -> Option<String> {
    screen
        .lines()
        .find(|l| {
            let cells: Vec<&str> = l
                .trim_start_matches(['│', ' ', '▶'])
                .split_whitespace()
                .collect();
            cells.first() == Some(&name) && cells.get(1) == Some(&host)
        })
        .map(str::to_string)
}

#[test]
fn two_hosts_one_frozen() {
    if std::env::var("VMLIFE_SKIP_LIBVIRTD").is_ok_and(|v| v == "1") {
        eprintln!("NOTE: VMLIFE_SKIP_LIBVIRTD=1: skipping");
        return;
    }
    let Some(t) = Tmux::new("two_hosts_one_frozen") else {
        return;
    };
    let (hv1, hv2) = std::thread::scope(|s| {
        let a = s.spawn(PrivateLibvirtd::start);
        let b = s.spawn(PrivateLibvirtd::start);
        (a.join().unwrap(), b.join().unwrap())
    });
    hv1.define_tiny("alpha-1");
    let same1 = hv1.define_tiny("same");
    hv2.define_tiny("beta-2");
    let same2 = hv2.define_tiny("same");
    let config = t.path("config.toml");
    write_file(
        &config,
        &format!(
            "[[connections]]\nname = \"hv1\"\nuri = \"{}\"\n\n\
             [[connections]]\nname = \"hv2\"\nuri = \"{}\"\n\n\
             [dashboard]\nrefresh_seconds = 1\n",
            hv1.uri(),
            hv2.uri()
        ),
    );
    let state = t.path("state");
    t.launch(&[
        "--config",
        config.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
    ]);
    // Both hosts' VMs; the same-named VM is two rows.
    let screen = t.wait_until("both hosts' VMs", |s| {
        row_of(s, "alpha-1", "hv1").is_some()
            && row_of(s, "beta-2", "hv2").is_some()
            && row_of(s, "same", "hv1").is_some()
            && row_of(s, "same", "hv2").is_some()
    });
    assert!(
        strip_line(&screen, "hv1").unwrap().contains("live"),
        "{screen}"
    );
    assert!(
        strip_line(&screen, "hv2").unwrap().contains("live"),
        "{screen}"
    );

    // Start hv2's "same": rows sort by name, then host (alpha-1, beta-2, same@hv1,
    // same@hv2): the last row.
    t.keys(&["End"]);
    t.wait_until("hv2's same selected", |s| {
        row_of(s, "same", "hv2").is_some_and(|r| r.contains('▶'))
    });
    t.keys(&["u"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while hv2.domstate("same") != "running (booted)" {
        assert!(
            Instant::now() < deadline,
            "hv2's same did not start: {}\n{}",
            hv2.domstate("same"),
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        hv1.domstate("same").starts_with("shut off"),
        "hv1's same was touched: {}",
        hv1.domstate("same")
    );
    assert_ne!(same1, "", "{same2}");
    t.wait_until("hv2's same running", |s| {
        row_of(s, "same", "hv2").is_some_and(|r| r.contains("running"))
    });
    let journal = std::fs::read_to_string(state.join("journal.jsonl")).unwrap();
    let start: serde_json::Value = journal
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["action"] == "start")
        .unwrap();
    assert_eq!(start["host"], "hv2", "{journal}");
    assert_eq!(start["vm_id"], same2.as_str(), "{journal}");

    // Freeze hv1's daemon: hv1 goes STALE, hv2 keeps refreshing (a VM defined on hv2
    // now shows up), the keys still answer.
    let _thaw = Thaw(hv1.pid());
    signal(hv1.pid(), "STOP");
    t.wait_until("hv1 STALE", |s| {
        strip_line(s, "hv1").is_some_and(|l| l.contains("STALE") && l.contains("no answer"))
    });
    hv2.define_tiny("gamma-3");
    t.wait_until("hv2's new VM while hv1 is frozen", |s| {
        row_of(s, "gamma-3", "hv2").is_some()
    });
    let screen = t.screen();
    assert!(
        strip_line(&screen, "hv2").unwrap().contains("live"),
        "{screen}"
    );
    t.keys(&["/"]);
    t.type_text("gamma");
    t.wait_until("the filter answers", |s| {
        row_of(s, "alpha-1", "hv1").is_none()
    });
    t.keys(&["Escape"]);

    // Thaw it: live again.
    signal(hv1.pid(), "CONT");
    t.wait_until("hv1 live again", |s| {
        strip_line(s, "hv1").is_some_and(|l| l.contains("live"))
    });
    t.keys(&["q"]);
    let ended = t.wait_ended();
    assert_eq!(ended.code, 0, "{}", ended.screen);
    ended.assert_terminal_restored();
    hv2.virsh(&["destroy", "same"]);
}
