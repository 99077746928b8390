//! A host other than the first whose entry says `engine = "dashboard"`: the dashboard
//! runs its engine (an expired temporary VM of that host is cleaned up, journaled with
//! the host), with a lock and state of its own under `STATE/hosts/`; a host whose entry
//! says nothing has no engine in the dashboard (its expired VM stays). And a first host
//! that is down at the start: the others are shown, it is `DOWN`. In-process test-driver
//! hosts, the real binary in tmux (tests/common/tmux.rs).
#![allow(clippy::unwrap_used)]

mod common;
use common::fleet::{node, strip_line};
use common::tmux::*;

use std::time::{Duration, Instant};

/// Write `config` and start the dashboard on it with `args`; returns its state dir.
fn launch(t: &Tmux, config: &str, args: &[&str]) -> std::path::PathBuf {
    let path = t.path("config.toml");
    write_file(&path, config);
    let state = t.path("state");
    let mut all = vec![
        "--config",
        path.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    t.launch(&all);
    state
}

#[test]
fn the_dashboard_runs_the_engine_of_a_host_whose_entry_says_so() {
    let Some(t) = Tmux::new("the_dashboard_runs_the_engine_of_a_host_whose_entry_says_so") else {
        return;
    };
    let dir = t.path("nodes");
    std::fs::create_dir(&dir).unwrap();
    let hv1 = node(&dir, "hv1.xml", 1, &["web-1"], 4_000_000_000);
    let hv2 = node(&dir, "hv2.xml", 2, &["old-2"], 1_000_000_000);
    let hv3 = node(&dir, "hv3.xml", 3, &["old-3"], 1_000_000_000);
    let state = launch(
        &t,
        &format!(
            "[[connections]]\nname = \"hv1\"\nuri = \"{hv1}\"\n\n\
         [[connections]]\nname = \"hv2\"\nuri = \"{hv2}\"\nengine = \"dashboard\"\n\n\
         [[connections]]\nname = \"hv3\"\nuri = \"{hv3}\"\n\n\
         [engine]\npoll_seconds = 1\n\n\
         [cleanup]\ncleanup_in_window_only = false\nskip_on_low_resources = false\n"
        ),
        &[],
    );
    let screen = t.wait_until("hv2's engine running here", |s| {
        strip_line(s, "hv2").is_some_and(|l| l.contains("│ this dashboard │"))
    });
    assert!(
        strip_line(&screen, "hv3")
            .is_some_and(|l| l.contains("│ none (this dashboard runs hv1's)")),
        "{screen}"
    );

    // hv2's expired VM is cleaned up by hv2's engine, journaled with hv2.
    let journal = state.join("journal.jsonl");
    let deadline = Instant::now() + Duration::from_secs(30);
    let line = loop {
        let text = std::fs::read_to_string(&journal).unwrap_or_default();
        if let Some(l) = text
            .lines()
            .find(|l| l.contains("\"old-2\"") && l.contains("\"cleanup\"") && l.contains("\"ok\""))
        {
            break l.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "old-2 was not cleaned up:\n{text}\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(line.contains("\"host\":\"hv2\""), "{line}");
    assert!(line.contains("\"engine\""), "the engine's own: {line}");
    t.wait_until("old-2 gone", |s| !s.contains("old-2"));

    // hv3's expired VM stays: its engine is not this dashboard's.
    std::thread::sleep(Duration::from_secs(3));
    let text = std::fs::read_to_string(&journal).unwrap_or_default();
    assert!(
        !text
            .lines()
            .any(|l| l.contains("\"old-3\"") && l.contains("\"cleanup\"")),
        "{text}"
    );
    assert!(t.screen().contains("old-3"));

    // hv2's engine has its own lock and state.
    let hosts: Vec<_> = std::fs::read_dir(state.join("hosts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(hosts.len(), 1, "{hosts:?}");
    assert!(hosts[0].join("engine.lock").exists(), "{hosts:?}");

    t.keys(&["q"]);
    t.wait_ended().assert_terminal_restored();
}

#[test]
fn a_first_host_that_is_down_does_not_keep_the_others_away() {
    let Some(t) = Tmux::new("a_first_host_that_is_down_does_not_keep_the_others_away") else {
        return;
    };
    let dir = t.path("nodes");
    std::fs::create_dir(&dir).unwrap();
    let hv2 = node(&dir, "hv2.xml", 2, &["ci-7"], 4_000_000_000);
    let down = format!(
        "qemu+unix:///session?socket={}",
        t.path("nobody/libvirt-sock").display()
    );
    launch(
        &t,
        &format!(
            "[[connections]]\nname = \"hv1\"\nuri = \"{down}\"\n\n\
         [[connections]]\nname = \"hv2\"\nuri = \"{hv2}\"\n"
        ),
        &["--connect-timeout", "3"],
    );
    let screen = t.wait_until("hv2 live and hv1 down", |s| {
        s.contains("ci-7")
            && strip_line(s, "hv2").is_some_and(|l| l.contains("live"))
            && strip_line(s, "hv1").is_some_and(|l| l.contains("DOWN"))
    });
    assert!(
        strip_line(&screen, "hv1").unwrap().contains("libvirt-sock"),
        "the reason is shown: {screen}"
    );
    t.keys(&["q"]);
    t.wait_ended().assert_terminal_restored();
}
