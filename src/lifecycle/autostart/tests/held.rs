//! Held-back VMs (issue 9, point 4) and absurd values (point 5).

use super::*;

#[test]
fn a_bad_vm_holds_back_only_itself_and_its_dependants() {
    let p = plan(vec![
        member("a", 0, &["b"]),
        member("b", 0, &["c"]),
        member("c", 0, &["a"]),
        member("d", 0, &["d"]),
        member("e", 0, &["ghost"]),
        member("f", 0, &[]),
        member("g", 0, &["d"]),
        member("h", 0, &["g", "f"]),
        member("i", 0, &["f"]),
    ]);
    // The rest is ordered as usual, the held-back VMs follow by name.
    assert_eq!(names(&p), ["f", "i", "a", "b", "c", "d", "e", "g", "h"]);
    assert_eq!(p.to_start(), ["f", "i"]);
    assert_eq!(
        p.held_back(),
        [
            ("a", "in a dependency cycle: a → b → c → a"),
            ("b", "in a dependency cycle: a → b → c → a"),
            ("c", "in a dependency cycle: a → b → c → a"),
            ("d", "in a dependency cycle: d → d"),
            ("e", "depends on ghost, which does not exist"),
            (
                "g",
                "depends on d, which is held back: in a dependency cycle: d → d"
            ),
            (
                "h",
                "depends on g, which is held back: depends on d, which is held back: in a \
                 dependency cycle: d → d"
            ),
        ]
    );
    assert_eq!(p.steps[1].deps, vec![0]);
    assert!(p.steps[2..].iter().all(|s| s.deps.is_empty()));
    assert_eq!(
        p.describe()[3],
        "4. b: held back: in a dependency cycle: a → b → c → a"
    );
    // A single self-dependency holds back that VM only.
    let p = plan(vec![member("x", 0, &["x"]), member("y", 0, &[])]);
    assert_eq!(p.to_start(), ["y"]);
    // The sequence starts the rest and shows the held back as skipped.
    let mut seq = Sequence::new(p, SequenceSettings::default(), t0());
    assert_eq!(run_simple(&mut seq, |_| SeqEvent::Started), ["y"]);
    let progress = seq.progress(t0());
    assert_eq!(
        progress.steps[1].text,
        "skipped: held back: in a dependency cycle: x → x"
    );
    assert_eq!(progress.tally(), (1, 0, 1));
}

#[test]
fn invalid_policy_is_held_back_with_its_dependants() {
    let bad = VmFacts {
        meta: Err(crate::metadata::parse(
            r#"<lifecycle xmlns="urn:vmlife:lifecycle:1"><persistence ttl_hours="0"/></lifecycle>"#,
        )
        .unwrap_err()),
        ..facts("bad", false, LifecycleMeta::default())
    };
    let app = LifecycleMeta {
        autostart: Some(cfg(0, &["bad"])),
        ..LifecycleMeta::default()
    };
    let vms = vec![bad, facts("app", false, app)];
    // Named only as a dependency, or selected itself: held back either way.
    let only = BTreeSet::from(["app".to_string()]);
    for sel in [select(&vms, None), select(&vms, Some(&only))] {
        let p = plan(sel.candidates);
        assert!(p.to_start().is_empty());
        let held = p.held_back();
        assert_eq!(held.len(), 2, "{held:?}");
        assert!(held[0]
            .1
            .starts_with("depends on bad, which is held back: invalid policy ("));
        assert!(held[1]
            .1
            .starts_with("invalid policy (persistence/@ttl_hours"));
    }
}

/// The cycles `ls`, `show` and `set --depends-on` look at: over every VM's record.
#[test]
fn dependency_cycles_over_names() {
    let d = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (a, b, c, e) = (d(&["b"]), d(&["a", "ghost"]), d(&["c"]), d(&[]));
    let got = dependency_cycles([
        ("a", a.as_slice()),
        ("b", b.as_slice()),
        ("c", c.as_slice()),
        ("e", e.as_slice()),
    ]);
    let want = BTreeMap::from([
        ("a".to_string(), d(&["a", "b", "a"])),
        ("b".to_string(), d(&["b", "a", "b"])),
        ("c".to_string(), d(&["c", "c"])),
    ]);
    assert_eq!(got, want);
}

/// Absurd delays and timeouts (from hand-edited metadata or config) saturate at the end
/// of time instead of panicking (`DateTime + TimeDelta overflowed`), and the VMs that
/// do not wait for them still start.
#[test]
fn huge_delays_and_timeouts_do_not_panic() {
    let mut slow = member("slow", 0, &[]);
    slow.config.start_delay_seconds = 10_000_000_000_000;
    let mut ssh = member("ssh", 0, &[]);
    ssh.config.wait_for_ssh = true;
    ssh.config.ssh_timeout_seconds = u64::MAX;
    let mut retry = member("retry", 0, &[]);
    retry.config.max_start_retries = 1;
    let p = plan(vec![slow, ssh, retry, member("fast", 1, &[])]);
    let settings = SequenceSettings {
        max_parallel: 8,
        retry_delay_ms: i64::MAX,
        probe_interval_ms: i64::MAX,
    };
    let late = DateTime::<Utc>::MAX_UTC - Duration::seconds(5);
    for now in [t0(), late] {
        let mut seq = Sequence::new(p.clone(), settings, now);
        for a in seq.advance(now) {
            match a {
                SeqAction::Start { step, .. } if seq.name(step) == "retry" => {
                    seq.on_event(step, SeqEvent::StartFailed("no".into()), now)
                }
                SeqAction::Start { step, .. } => seq.on_event(step, SeqEvent::Started, now),
                SeqAction::Probe { step } => seq.on_event(
                    step,
                    SeqEvent::SshNotYet {
                        target: None,
                        why: "no address yet".into(),
                    },
                    now,
                ),
            }
        }
        assert!(seq.next_wakeup().is_some());
        let progress = seq.progress(now);
        let fast = progress.steps.iter().find(|s| s.name == "fast").unwrap();
        assert_eq!(fast.text, "up");
        seq.advance(DateTime::<Utc>::MAX_UTC);
    }
}
