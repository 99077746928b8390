//! Failed cleanups back off: retried in later rounds (interval doubled per failure),
//! never-failed VMs first, one alert per VM and error, and a person's named cleanup runs
//! beside the engine's failing retries.

use super::*;

/// Snapshots every 5 s for `secs`; every cleanup fails 3 s after it started with
/// `error`. Returns the start times of the attempts per VM.
fn failing_for(b: &mut Bench, from: i64, secs: i64, error: &str) -> Vec<(String, i64)> {
    let mut attempts = Vec::new();
    let mut running: Vec<(Planned, i64)> = Vec::new();
    let mut t = from;
    while t < from + secs {
        let (done, still): (Vec<_>, Vec<_>) = running.into_iter().partition(|(_, s)| t >= s + 3);
        running = still;
        for (p, s) in done {
            b.finish(&p, Outcome::Failed(error.into()), s + 3);
        }
        for p in b.snap(t) {
            attempts.push((p.cmd.vm_id.to_string(), t));
            running.push((p, t));
        }
        t += 5;
    }
    attempts
}

#[test]
fn a_failing_cleanup_backs_off_and_alerts_once() {
    let mut b = Bench::new(settings(|s| s.cleanup.check_interval_minutes = 1));
    b.fake.put(expired("a", 60));
    let attempts = failing_for(&mut b, t0(), 5 * 60, "still running after 2s");
    let times: Vec<i64> = attempts.iter().map(|(_, t)| t - t0()).collect();
    // Rounds every minute; the waits double: 1, 2, 4 intervals.
    assert_eq!(times, [0, 60, 180], "attempts at");
    assert_eq!(
        b.core.take_alerts().len(),
        1,
        "one alert for the same error"
    );
    let r = b.record("a");
    assert_eq!(r.cleanup_attempts, 3);
    // The plan says when it is retried.
    let plan = b.plan(t0() + 5 * 60);
    assert!(matches!(
        plan.lines[0].state,
        VmCleanupState::Failed { attempts: 3, .. }
    ));
    assert!(plan.lines[0].retry_at.is_some_and(|at| at > t0() + 5 * 60));
}

#[test]
fn a_new_error_raises_a_new_alert() {
    let mut b = Bench::new(settings(|s| s.cleanup.check_interval_minutes = 1));
    b.fake.put(expired("a", 60));
    failing_for(&mut b, t0(), 120, "first error");
    assert_eq!(b.core.take_alerts().len(), 1);
    failing_for(&mut b, t0() + 120, 240, "another error");
    let alerts = b.core.take_alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].error, "another error");
}

#[test]
fn fresh_vms_go_before_failing_ones() {
    let mut b = Bench::new(settings(|s| {
        s.cleanup.check_interval_minutes = 1;
        s.cleanup.max_concurrent_cleanups = 1;
    }));
    b.fake.put(expired("old", 7200));
    let p = b.snap(t0());
    assert_eq!(uuids(&p), ["old"]);
    b.finish(&p[0], Outcome::Failed("stuck".into()), t0() + 3);
    // A VM that expires later arrives; the failing one is due for its retry too.
    b.fake.put(expired("new", 60));
    let p = b.snap(t0() + 60);
    assert_eq!(
        uuids(&p),
        ["new"],
        "never-failed first, whatever the expiry"
    );
    let plan = b.plan(t0() + 61);
    let limited = plan.limited.clone().unwrap_or_default();
    assert!(
        limited.contains("max_concurrent_cleanups = 1"),
        "names the limit in force: {plan:?}"
    );
}

#[test]
fn a_named_manual_cleanup_runs_beside_failing_retries() {
    let mut b = Bench::new(settings(|s| {
        s.cleanup.check_interval_minutes = 1;
        s.cleanup.max_concurrent_cleanups = 1;
    }));
    b.fake.put(expired("bad", 7200));
    b.fake.put(expired("mine", 60));
    let p = b.snap(t0());
    assert_eq!(uuids(&p), ["bad"]);
    b.finish(&p[0], Outcome::Failed("stuck".into()), t0() + 3);
    // mine waited for the slot; it fails too, once.
    let p = b.snap(t0() + 10);
    assert_eq!(uuids(&p), ["mine"], "the freed slot");
    b.finish(&p[0], Outcome::Failed("stuck".into()), t0() + 13);
    // Next round: the engine retries bad (older expiry) and holds the only slot.
    let p = b.snap(t0() + 60);
    assert_eq!(uuids(&p), ["bad"]);
    let views = b.poller.poll(at(t0() + 61)).unwrap();
    let only: BTreeSet<Uuid> = ["mine".into()].into();
    let req = RoundRequest {
        manual: true,
        ignore_window: false,
        only: Some(only.clone()),
    };
    let (_, planned) = b
        .core
        .manual_round(&views, &req, &Actor::Cli("bob".into()), at(t0() + 61))
        .unwrap();
    assert_eq!(uuids(&planned), ["mine"], "named: not refused for the slot");
    // An unnamed manual round still waits for the slot and the backoff.
    b.finish(&planned[0], Outcome::Failed("stuck".into()), t0() + 64);
    let req = RoundRequest {
        manual: true,
        ..Default::default()
    };
    let (_, planned) = b
        .core
        .manual_round(&views, &req, &Actor::Cli("bob".into()), at(t0() + 65))
        .unwrap();
    assert!(planned.is_empty(), "{planned:?}");
}
