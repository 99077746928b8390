use super::*;
use crate::metadata::LifecycleMeta;
use crate::model::VmState;
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

mod held;
use std::collections::{BTreeMap, BTreeSet};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn cfg(order: i64, deps: &[&str]) -> VmAutoStartConfig {
    VmAutoStartConfig {
        start_order: order,
        wait_for_ssh: false,
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        ..VmAutoStartConfig::default()
    }
}

fn member(name: &str, order: i64, deps: &[&str]) -> Candidate {
    Candidate::member(format!("u-{name}"), name, cfg(order, deps), false)
}

fn names(p: &AutostartPlan) -> Vec<&str> {
    p.steps.iter().map(|s| s.candidate.name.as_str()).collect()
}

fn facts(name: &str, active: bool, meta: LifecycleMeta) -> VmFacts {
    VmFacts {
        uuid: format!("u-{name}").into(),
        name: name.into(),
        state: if active {
            VmState::Running
        } else {
            VmState::Stopped
        },
        active,
        meta: Ok(meta),
        first_seen_unix: 0,
    }
}

#[test]
fn order_is_topological_then_start_order_then_name() {
    let p = plan(vec![
        member("web-1", 30, &["app-1"]),
        member("app-1", 20, &["db-1"]),
        member("db-1", 10, &[]),
        member("lab-dns", 5, &[]),
        member("zz", 5, &[]),
        member("aa", 50, &[]),
    ]);
    assert_eq!(names(&p), ["lab-dns", "zz", "db-1", "app-1", "web-1", "aa"]);
    assert_eq!(p.steps[3].deps, vec![2]);
    assert_eq!(p.dependants(2), vec![3]);
    // A low start_order does not jump ahead of its dependency.
    let p = plan(vec![member("a", 100, &[]), member("b", 1, &["a"])]);
    assert_eq!(names(&p), ["a", "b"]);
}

#[test]
fn selection_takes_records_auto_start_and_external_dependencies() {
    let with = |f: &dyn Fn(&mut LifecycleMeta)| {
        let mut m = LifecycleMeta::default();
        f(&mut m);
        m
    };
    let vms = vec![
        facts(
            "app",
            false,
            with(&|m| m.autostart = Some(cfg(0, &["db", "ext"]))),
        ),
        facts("db", false, with(&|m| m.persistence.auto_start = true)),
        facts(
            "off",
            false,
            with(&|m| {
                m.persistence.auto_start = true;
                m.autostart = Some(VmAutoStartConfig {
                    enabled: false,
                    ..VmAutoStartConfig::default()
                });
            }),
        ),
        facts("ext", true, LifecycleMeta::default()),
        facts("plain", false, LifecycleMeta::default()),
    ];
    let sel = select(&vms, None);
    let got: Vec<(&str, bool)> = sel
        .candidates
        .iter()
        .map(|c| (c.name.as_str(), c.external))
        .collect();
    assert_eq!(got, [("app", false), ("db", false), ("ext", true)]);
    // `auto_start` without a record: the contract defaults.
    assert!(sel.candidates[1].config.wait_for_ssh);
    // Restricted to app: db becomes an external dependency (stopped: held).
    let only = BTreeSet::from(["app".to_string()]);
    let sel = select(&vms, Some(&only));
    let db = sel.candidates.iter().find(|c| c.name == "db").unwrap();
    assert!(db.external && db.hold.is_some());
}

fn run_simple(seq: &mut Sequence, outcome: impl Fn(&str) -> SeqEvent) -> Vec<String> {
    let mut started = Vec::new();
    let mut now = t0();
    for _ in 0..10_000 {
        for a in seq.advance(now) {
            match a {
                SeqAction::Start { step, .. } => {
                    let name = seq.name(step).to_string();
                    started.push(name.clone());
                    seq.on_event(step, outcome(&name), now);
                }
                SeqAction::Probe { step } => seq.on_event(
                    step,
                    SeqEvent::SshUp {
                        target: "127.0.0.1:22".into(),
                    },
                    now,
                ),
            }
        }
        if seq.is_done() {
            break;
        }
        now = seq
            .next_wakeup()
            .unwrap_or(now + Duration::seconds(1))
            .max(now);
    }
    started
}

#[test]
fn failed_start_is_retried_then_dependants_are_skipped() {
    let mut bad = member("bad", 0, &[]);
    bad.config.max_start_retries = 2;
    let p = plan(vec![
        bad,
        member("dep", 0, &["bad"]),
        member("dep2", 0, &["dep"]),
        member("other", 0, &[]),
    ]);
    let mut seq = Sequence::new(p, SequenceSettings::default(), t0());
    let started = run_simple(&mut seq, |n| {
        if n == "bad" {
            SeqEvent::StartFailed("disk missing".into())
        } else {
            SeqEvent::Started
        }
    });
    assert_eq!(started, ["bad", "other", "bad", "bad"]);
    let p = seq.progress(t0());
    let text: Vec<&str> = p.steps.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        text,
        [
            "failed: start failed 3 times; last error: disk missing",
            "skipped: dependency bad did not come up",
            "skipped: dependency dep did not come up",
            "up",
        ]
    );
    assert_eq!(p.tally(), (1, 1, 2));
}

#[test]
fn stop_halts_the_sequence() {
    let mut bad = member("a-bad", 0, &[]);
    bad.config.on_start_failure = StartFailureAction::Stop;
    let p = plan(vec![bad, member("b", 1, &[])]);
    let settings = SequenceSettings {
        max_parallel: 1,
        ..SequenceSettings::default()
    };
    let mut seq = Sequence::new(p, settings, t0());
    let started = run_simple(&mut seq, |_| SeqEvent::StartFailed("no".into()));
    assert_eq!(started, ["a-bad"]);
    assert_eq!(
        seq.progress(t0()).steps[1].text,
        "skipped: not started: a-bad did not come up and its on_start_failure is stop"
    );
}

#[test]
fn delay_ssh_wait_and_texts() {
    let mut db = member("db", 0, &[]);
    db.config.wait_for_ssh = true;
    db.config.ssh_timeout_seconds = 300;
    let mut app = member("app", 0, &["db"]);
    app.config.start_delay_seconds = 5;
    let p = plan(vec![db, app]);
    let mut seq = Sequence::new(p, SequenceSettings::default(), t0());
    assert_eq!(
        seq.advance(t0()),
        [SeqAction::Start {
            step: 0,
            attempt: 1
        }]
    );
    assert_eq!(seq.progress(t0()).steps[1].text, "waiting for db");
    seq.on_event(0, SeqEvent::Started, t0());
    assert_eq!(seq.advance(t0()), [SeqAction::Probe { step: 0 }]);
    let t = t0() + Duration::seconds(12);
    seq.on_event(
        0,
        SeqEvent::SshNotYet {
            target: Some("10.0.0.5:22".into()),
            why: "connection refused".into(),
        },
        t,
    );
    assert_eq!(
        seq.progress(t).steps[0].text,
        "waiting for SSH on 10.0.0.5:22 (12/300 s)"
    );
    assert!(seq.advance(t).is_empty(), "next probe after the interval");
    assert_eq!(seq.next_wakeup(), Some(t + Duration::seconds(2)));
    let t = t + Duration::seconds(2);
    assert_eq!(seq.advance(t), [SeqAction::Probe { step: 0 }]);
    seq.on_event(
        0,
        SeqEvent::SshUp {
            target: "10.0.0.5:22".into(),
        },
        t,
    );
    assert!(seq.advance(t).is_empty());
    assert_eq!(seq.progress(t).steps[1].text, "start delay 0/5 s");
    let t = t + Duration::seconds(5);
    assert_eq!(
        seq.advance(t),
        [SeqAction::Start {
            step: 1,
            attempt: 1
        }]
    );
    seq.on_event(1, SeqEvent::AlreadyRunning, t);
    assert!(seq.is_done());
    assert_eq!(seq.progress(t).steps[1].text, "up (was already running)");
}

#[test]
fn ssh_timeout_fails_and_skips_dependants() {
    let mut db = member("db", 0, &[]);
    db.config.wait_for_ssh = true;
    db.config.ssh_timeout_seconds = 10;
    let p = plan(vec![db, member("app", 0, &["db"])]);
    let mut seq = Sequence::new(p, SequenceSettings::default(), t0());
    seq.advance(t0());
    seq.on_event(0, SeqEvent::Started, t0());
    let mut now = t0();
    while !seq.is_done() {
        for a in seq.advance(now) {
            if let SeqAction::Probe { step } = a {
                seq.on_event(
                    step,
                    SeqEvent::SshNotYet {
                        target: None,
                        why: "no address yet".into(),
                    },
                    now,
                );
            }
        }
        now = seq.next_wakeup().unwrap_or(now);
    }
    let p = seq.progress(now);
    assert_eq!(
        p.steps[0].text,
        "failed: no SSH answer within 10 s (last: no address yet); left running"
    );
    assert_eq!(p.steps[1].text, "skipped: dependency db did not come up");
}

#[test]
fn describe_lists_what_will_happen() {
    let mut db = member("db-1", 10, &[]);
    db.config.wait_for_ssh = true;
    let mut app = member("app-1", 20, &["db-1"]);
    app.config.start_delay_seconds = 5;
    app.config.wait_for_ssh = true;
    app.active = true;
    let mut held = member("kept", 0, &[]);
    held.hold = Some("on_host_reboot = keep_stopped".into());
    let p = plan(vec![db, app, held]);
    assert_eq!(
        p.describe(),
        [
            "1. kept: not started: on_host_reboot = keep_stopped",
            "2. db-1: start, then wait up to 300 s for SSH; if the start fails: retry up to 3 times",
            "3. app-1: after db-1 is up: already running (no start, so no 5 s delay), then \
             wait up to 300 s for SSH",
        ]
    );
    assert_eq!(p.to_start(), ["db-1"]);
}

/// A random DAG: VM i may depend only on VMs with a lower index; names are shuffled
/// relative to the index so the order is not simply by name.
fn dag() -> impl Strategy<Value = (Vec<Candidate>, Vec<bool>, Vec<bool>)> {
    (1usize..14).prop_flat_map(|n| {
        (
            proptest::collection::vec(proptest::collection::vec(any::<bool>(), n), n),
            proptest::collection::vec(-3i64..3, n),
            proptest::collection::vec(any::<bool>(), n),
            proptest::collection::vec(any::<bool>(), n),
            proptest::collection::vec(0u32..3, n),
            proptest::collection::vec(0u8..3, n),
            Just(n),
        )
            .prop_map(|(edges, orders, fails, ssh, retries, policy, n)| {
                let name = |i: usize| format!("vm-{:02}", (i * 7 + 3) % 97);
                let cands = (0..n)
                    .map(|i| {
                        let deps: Vec<String> = (0..i).filter(|&j| edges[i][j]).map(name).collect();
                        let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
                        let mut c = member(&name(i), orders[i], &deps);
                        c.config.max_start_retries = retries[i];
                        c.config.on_start_failure = match policy[i] {
                            0 => StartFailureAction::Retry,
                            1 => StartFailureAction::Ignore,
                            _ => StartFailureAction::Stop,
                        };
                        c.config.wait_for_ssh = ssh[i];
                        c
                    })
                    .collect();
                (cands, fails, ssh)
            })
    })
}

proptest! {
    #[test]
    fn every_vm_starts_after_its_dependencies_and_never_after_a_failure(
        (cands, fails, _ssh) in dag(),
        parallel in 1usize..4,
    ) {
        let failing: BTreeSet<String> = cands
            .iter()
            .zip(&fails)
            .filter(|(_, f)| **f)
            .map(|(c, _)| c.name.clone())
            .collect();
        let p = plan(cands);
        prop_assert!(p.held_back().is_empty());
        let settings = SequenceSettings { max_parallel: parallel, retry_delay_ms: 1000, probe_interval_ms: 1000 };
        let mut seq = Sequence::new(p.clone(), settings, t0());
        let mut now = t0();
        let mut pending: Vec<(usize, SeqEvent)> = Vec::new();
        let mut started: BTreeSet<usize> = BTreeSet::new();
        for _ in 0..100_000 {
            for a in seq.advance(now) {
                match a {
                    SeqAction::Start { step, .. } => {
                        // Every dependency is up when a VM starts.
                        for &d in &p.steps[step].deps {
                            let up = matches!(seq.states()[d], StepState::Up { .. });
                            prop_assert!(up, "{} started before {}", seq.name(step), seq.name(d));
                        }
                        let in_flight = seq.states().iter().filter(|s| s.holds_slot()).count();
                        prop_assert!(in_flight <= parallel);
                        started.insert(step);
                        let ev = if failing.contains(seq.name(step)) {
                            SeqEvent::StartFailed("boom".into())
                        } else {
                            SeqEvent::Started
                        };
                        pending.push((step, ev));
                    }
                    SeqAction::Probe { step } => {
                        pending.push((step, SeqEvent::SshUp { target: "127.0.0.1:22".into() }));
                    }
                }
            }
            // Answer one event per round, so several steps are in flight at once.
            if let Some((step, ev)) = (!pending.is_empty()).then(|| pending.remove(0)) {
                seq.on_event(step, ev, now);
                continue;
            }
            if seq.is_done() {
                break;
            }
            now = seq.next_wakeup().unwrap_or(now + Duration::seconds(1)).max(now);
        }
        prop_assert!(seq.is_done());
        // No VM that (transitively) depends on a failed one was started, and every
        // VM that is up has every dependency up.
        for (i, s) in p.steps.iter().enumerate() {
            let mut stack = s.deps.clone();
            let mut seen = BTreeSet::new();
            while let Some(d) = stack.pop() {
                if !seen.insert(d) {
                    continue;
                }
                if failing.contains(seq.name(d)) {
                    prop_assert!(!started.contains(&i), "{} started though {} failed", seq.name(i), seq.name(d));
                    prop_assert!(seq.states()[i].did_not_come_up());
                }
                stack.extend(p.steps[d].deps.iter().copied());
            }
            if matches!(seq.states()[i], StepState::Up { .. }) {
                for &d in &s.deps {
                    let up = matches!(seq.states()[d], StepState::Up { .. });
                    prop_assert!(up);
                }
            }
        }
    }

    #[test]
    fn a_cycle_is_always_reported(
        (cands, _fails, _ssh) in dag(),
        a in 0usize..14,
        b in 0usize..14,
    ) {
        let mut cands = cands;
        let n = cands.len();
        let (a, b) = (a % n, b % n);
        // Add an edge from a low VM to a high one: together with a path from the
        // high one down to it (added too) that is a cycle (or a self-loop).
        let (lo, hi) = (a.min(b), a.max(b));
        let hi_name = cands[hi].name.clone();
        let lo_name = cands[lo].name.clone();
        cands[lo].config.depends_on.push(hi_name.clone());
        cands[hi].config.depends_on.push(lo_name.clone());
        let edges: BTreeMap<String, Vec<String>> = cands
            .iter()
            .map(|c| (c.name.clone(), c.config.depends_on.clone()))
            .collect();
        let p = plan(cands);
        let held: Vec<(String, String)> = p
            .held_back()
            .into_iter()
            .map(|(n, w)| (n.to_string(), w.to_string()))
            .collect();
        prop_assert!(held.iter().any(|(n, _)| n == &lo_name));
        // Each reported cycle is a real one: consecutive VMs depend on each other.
        for (_, why) in &held {
            let Some(path) = why.rsplit("in a dependency cycle: ").next().filter(|_| why.contains("cycle")) else {
                prop_assert!(false, "{why}");
                continue;
            };
            let c: Vec<&str> = path.split(" → ").collect();
            prop_assert_eq!(c.first(), c.last());
            for w in c.windows(2) {
                prop_assert!(edges[w[0]].contains(&w[1].to_string()), "{} does not depend on {}", w[0], w[1]);
            }
        }
        // Nothing held back is started; everything else is.
        let started: BTreeSet<String> = p.to_start().iter().map(|s| s.to_string()).collect();
        prop_assert!(held.iter().all(|(n, _)| !started.contains(n)));
    }
}
