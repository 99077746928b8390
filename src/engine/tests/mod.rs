//! EngineCore against the in-memory FakeHypervisor, with fake time: rounds (interval,
//! window, batch, concurrency, dry run, confirmation, pressure), the record lifecycle,
//! retention, crash recovery, the restart policy and the stability reset.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::executor::{ExecResult, JobId, Outcome};
use crate::hypervisor::fake::{running, FakeDomain, FakeHypervisor};
use crate::hypervisor::{Hypervisor, RunState, RunningReason, ShutoffReason, StateReason};
use crate::lifecycle::cleanup::{RoundRequest, VmCleanupState};
use crate::lifecycle::{Actor, Op};
use crate::metadata::{self, LifecycleMeta};
use crate::model::{CleanupStatus, HhMm, PersistenceMode, RestartPolicy};
use crate::model::{Uuid, VmRef};
use crate::poll::{Poller, PollerOptions};
use crate::store::Journal;

mod alerts;

mod managed;

mod backoff;

mod pressure;

mod threshold;

/// 2026-01-10 03:00:00 UTC: inside the default window (02:00–06:00) in UTC.
fn t0() -> i64 {
    Utc.with_ymd_and_hms(2026, 1, 10, 3, 0, 0)
        .unwrap()
        .timestamp()
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).unwrap()
}

fn with_meta(mut d: FakeDomain, f: impl FnOnce(&mut LifecycleMeta)) -> FakeDomain {
    let mut m = LifecycleMeta::default();
    f(&mut m);
    d.metadata = Some(metadata::to_xml(&m));
    d
}

/// A temporary VM that expired `ago` seconds before t0.
fn expired(uuid: &str, ago: i64) -> FakeDomain {
    with_meta(running(uuid, &format!("vm-{uuid}")), |m| {
        m.persistence.mode = PersistenceMode::Temporary;
        m.persistence.ttl_hours = 1.0;
        m.persistence.created_at_unix = Some(t0() - 3600 - ago);
        m.persistence.force_cleanup = true;
        m.persistence.cleanup_grace_period = 2;
    })
}

fn permanent(uuid: &str, policy: RestartPolicy, count: u32, max: u32) -> FakeDomain {
    with_meta(running(uuid, &format!("vm-{uuid}")), |m| {
        m.persistence.restart_policy = policy;
        m.persistence.max_retries = max;
        m.state.restart_count = count;
    })
}

struct Bench {
    fake: Arc<FakeHypervisor>,
    poller: Poller,
    core: EngineCore,
    dir: tempfile::TempDir,
    journal: Arc<Journal>,
    next_job: u64,
}

impl Bench {
    fn new(settings: EngineSettings) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        Bench::in_dir(dir, settings, Arc::new(FakeHypervisor::new()))
    }

    fn in_dir(
        dir: tempfile::TempDir,
        settings: EngineSettings,
        fake: Arc<FakeHypervisor>,
    ) -> Bench {
        let journal = Arc::new(Journal::open(dir.path()).unwrap());
        let core = EngineCore::new(
            EngineStore::new(dir.path()),
            journal.clone(),
            settings,
            "fake:///",
        )
        .unwrap()
        .with_window_zone(WindowZone::Fixed(0))
        .with_pressure_probe(Box::new(|| Pressure::Fine("test".into())));
        let poller = Poller::new(fake.clone(), PollerOptions::default());
        Bench {
            fake,
            poller,
            core,
            dir,
            journal,
            next_job: 1,
        }
    }

    /// Drop the core and start a new one on the same store and hypervisor.
    fn restart(self) -> Bench {
        let settings = self.core.settings().clone();
        let fake = self.fake.clone();
        drop(self.core);
        Bench::in_dir(self.dir, settings, fake)
    }

    fn snap(&mut self, now: i64) -> Vec<Planned> {
        let views = self.poller.poll(at(now)).unwrap();
        self.core.on_snapshot(&views, at(now))
    }

    fn plan(&mut self, now: i64) -> crate::lifecycle::cleanup::RoundPlan {
        let views = self.poller.poll(at(now)).unwrap();
        self.core
            .plan(&views, &RoundRequest::default(), self.core.clock(at(now)))
    }

    fn finish(&mut self, p: &Planned, outcome: Outcome, now: i64) {
        let r = ExecResult {
            job: JobId(self.next_job),
            cmd: p.cmd.clone(),
            actor: p.actor.clone(),
            outcome,
            journal_error: None,
        };
        self.next_job += 1;
        self.core.on_result(&r, at(now));
    }

    fn record(&self, uuid: &str) -> crate::model::VmCleanupSchedule {
        // From disk, not the core's copy: the store is the truth.
        EngineStore::new(self.dir.path())
            .load()
            .unwrap()
            .cleanups
            .records[uuid]
            .clone()
    }

    fn set_state(&self, uuid: &str, state: RunState, reason: impl Into<StateReason>) {
        self.fake.update(uuid, |d| {
            d.raw.state = Some(state);
            d.raw.reason = reason.into();
        });
    }

    fn set_count(&mut self, uuid: &str, count: u32) {
        self.fake.update(uuid, |d| {
            let mut m = metadata::parse_or_default(d.metadata.as_deref()).unwrap();
            m.state.restart_count = count;
            d.metadata = Some(metadata::to_xml(&m));
        });
        self.poller.invalidate(uuid);
    }
}

fn uuids(planned: &[Planned]) -> Vec<&str> {
    planned.iter().map(|p| p.cmd.vm_id.as_str()).collect()
}

fn ops(planned: &[Planned]) -> Vec<&'static str> {
    planned.iter().map(|p| p.cmd.op.name()).collect()
}

fn settings(f: impl FnOnce(&mut EngineSettings)) -> EngineSettings {
    let mut s = EngineSettings::default();
    f(&mut s);
    s
}

#[test]
fn rounds_follow_the_interval_and_failures_are_retried_next_round() {
    let mut b = Bench::new(settings(|s| s.cleanup.check_interval_minutes = 60));
    b.fake.put(expired("a", 60));
    let t = t0();
    let p = b.snap(t);
    assert_eq!(uuids(&p), ["a"]);
    assert!(matches!(
        p[0].cmd.op,
        Op::Cleanup {
            force: true,
            grace_seconds: 2,
            ..
        }
    ));
    assert_eq!(p[0].actor, Actor::Engine);
    assert!(!p[0].dry_run);
    b.finish(
        &p[0],
        Outcome::Failed("still running after 2s".into()),
        t + 3,
    );
    let r = b.record("a");
    assert_eq!(r.cleanup_status, CleanupStatus::Failed);
    assert_eq!(r.cleanup_attempts, 1);
    assert_eq!(r.cleanup_error.as_deref(), Some("still running after 2s"));
    assert_eq!(r.last_cleanup_attempt, Some(at(t + 3)));
    assert!(
        b.snap(t + 10).is_empty(),
        "not retried inside the same round"
    );
    assert!(b.snap(t + 59 * 60).is_empty(), "not before the interval");
    let plan = b.plan(t + 59 * 60);
    assert!(
        matches!(plan.lines[0].state, VmCleanupState::Planned),
        "the plan shows what the next round does"
    );
    let p = b.snap(t + 60 * 60);
    assert_eq!(uuids(&p), ["a"], "retried next round");
    b.finish(&p[0], Outcome::Ok("cleaned up vm-a".into()), t + 3605);
    b.fake.undefine("a").unwrap();
    let r = b.record("a");
    assert_eq!(
        (r.cleanup_status, r.cleanup_attempts, r.cleanup_error),
        (CleanupStatus::Completed, 2, None)
    );
    let data = EngineStore::new(b.dir.path()).load().unwrap();
    assert_eq!(data.engine.last_round_at, Some(at(t + 3600)));
    assert!(data.cleanups.claims.is_empty());
}

#[test]
fn the_window_holds_rounds_until_it_opens() {
    let mut b = Bench::new(settings(|s| {
        s.cleanup.cleanup_window_start = HhMm::new(22, 0);
        s.cleanup.cleanup_window_end = HhMm::new(2, 0);
    }));
    b.fake.put(expired("a", 60));
    let noon = Utc
        .with_ymd_and_hms(2026, 1, 10, 12, 0, 0)
        .unwrap()
        .timestamp();
    assert!(b.snap(noon).is_empty());
    let plan = b.plan(noon);
    assert_eq!(
        plan.held.as_deref(),
        Some("outside the cleanup window 22:00–02:00")
    );
    assert_eq!(plan.window_opens_in_minutes, 600);
    assert_eq!(
        EngineStore::new(b.dir.path())
            .load()
            .unwrap()
            .engine
            .last_round_at,
        None,
        "a held round did not run"
    );
    assert!(b.snap(noon + 9 * 3600 + 3599).is_empty(), "21:59:59");
    let p = b.snap(noon + 10 * 3600);
    assert_eq!(uuids(&p), ["a"], "at 22:00 sharp, not an interval later");
    // Crossing midnight: 01:30 is inside.
    let mut b2 = Bench::new(b.core.settings().clone());
    b2.fake.put(expired("b", 60));
    let late = Utc
        .with_ymd_and_hms(2026, 1, 11, 1, 30, 0)
        .unwrap()
        .timestamp();
    assert_eq!(uuids(&b2.snap(late)), ["b"]);
}

#[test]
fn batch_and_concurrency_limit_a_round() {
    let mut b = Bench::new(settings(|s| {
        s.cleanup.cleanup_batch_size = 3;
        s.cleanup.max_concurrent_cleanups = 2;
    }));
    for (i, u) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        b.fake.put(expired(u, 600 - i as i64 * 60));
    }
    let t = t0();
    let p = b.snap(t);
    assert_eq!(uuids(&p), ["a", "b"], "oldest expiry first, two at once");
    assert!(b.snap(t + 5).is_empty(), "both slots busy");
    b.finish(&p[0], Outcome::Ok("done".into()), t + 6);
    b.fake.undefine("a").unwrap();
    let p2 = b.snap(t + 10);
    assert_eq!(
        uuids(&p2),
        ["c"],
        "a freed slot is used, up to the batch of 3"
    );
    b.finish(&p[1], Outcome::Ok("done".into()), t + 11);
    b.fake.undefine("b").unwrap();
    assert!(b.snap(t + 15).is_empty(), "batch of 3 used up");
    b.finish(&p2[0], Outcome::Ok("done".into()), t + 16);
    b.fake.undefine("c").unwrap();
    assert!(b.snap(t + 20).is_empty());
    let p3 = b.snap(t + 3600);
    assert_eq!(uuids(&p3), ["d", "e"], "the rest in the next round");
}

#[test]
fn dry_run_plans_dry_commands_and_changes_nothing_it_records() {
    let mut b = Bench::new(settings(|s| s.cleanup.dry_run_mode = true));
    b.fake.put(expired("a", 60));
    let p = b.snap(t0());
    assert_eq!(uuids(&p), ["a"]);
    assert!(p[0].dry_run, "run on a dry-run executor");
    assert_eq!(b.record("a").cleanup_status, CleanupStatus::InProgress);
    b.finish(&p[0], Outcome::DryRun("clean up".into()), t0() + 1);
    let r = b.record("a");
    assert_eq!(
        (r.cleanup_status, r.cleanup_attempts),
        (CleanupStatus::Pending, 0)
    );
    assert!(b.snap(t0() + 5).is_empty(), "once per round");
    assert!(b
        .fake
        .calls()
        .iter()
        .all(|c| !c.starts_with("destroy") && !c.starts_with("undefine")));
}

#[test]
fn confirmation_parks_until_a_person_confirms() {
    let mut b = Bench::new(settings(|s| s.cleanup.require_confirmation = true));
    b.fake.put(expired("a", 60));
    b.fake.put(expired("b", 30));
    assert!(b.snap(t0()).is_empty());
    let plan = b.plan(t0() + 1);
    assert!(plan
        .lines
        .iter()
        .all(|l| l.state == VmCleanupState::AwaitingConfirmation));
    let alice = Actor::Dashboard("alice".into());
    b.core
        .confirm(&[VmRef::new("a", "vm-a")], &alice, true, at(t0() + 60))
        .unwrap();
    let p = b.snap(t0() + 65);
    assert_eq!(
        uuids(&p),
        ["a"],
        "a confirmation starts a round now; b still waits"
    );
    let data = EngineStore::new(b.dir.path()).load().unwrap();
    assert_eq!(data.engine.confirmed["a"].by, "dashboard:alice");
    b.finish(&p[0], Outcome::Ok("done".into()), t0() + 70);
    let data = EngineStore::new(b.dir.path()).load().unwrap();
    assert!(
        !data.engine.confirmed.contains_key("a"),
        "used up by the cleanup"
    );
    let j = b.journal.read_all().unwrap().entries;
    assert!(j
        .iter()
        .any(|e| e.action == "confirm_cleanup" && e.actor == "dashboard:alice" && e.vm_id == "a"));
}

#[test]
fn pressure_defers_a_round_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = Bench::in_dir(
        dir,
        EngineSettings::default(),
        Arc::new(FakeHypervisor::new()),
    );
    b.core = b.core.with_pressure_probe(Box::new(|| {
        Pressure::Under("2.0 % memory available".into())
    }));
    b.fake.put(expired("a", 60));
    assert!(b.snap(t0()).is_empty());
    assert_eq!(
        b.plan(t0()).held.as_deref(),
        Some("host under pressure: 2.0 % memory available")
    );
    b.core = b
        .core
        .with_pressure_probe(Box::new(|| Pressure::Fine("ok".into())));
    assert_eq!(
        uuids(&b.snap(t0() + 5)),
        ["a"],
        "runs once the pressure is gone"
    );
    // skip_on_low_resources = false ignores pressure.
    let mut c = Bench::new(settings(|s| s.cleanup.skip_on_low_resources = false));
    c.core = c
        .core
        .with_pressure_probe(Box::new(|| Pressure::Under("x".into())));
    c.fake.put(expired("a", 60));
    assert_eq!(uuids(&c.snap(t0())), ["a"]);
}

#[test]
fn in_progress_is_on_disk_before_the_command_is_returned() {
    let mut b = Bench::new(EngineSettings::default());
    b.fake.put(expired("a", 60));
    let p = b.snap(t0());
    assert_eq!(p.len(), 1);
    let data = EngineStore::new(b.dir.path()).load().unwrap();
    assert_eq!(
        data.cleanups.records["a"].cleanup_status,
        CleanupStatus::InProgress
    );
    assert_eq!(data.cleanups.claims["a"].actor, "engine");
    assert_eq!(data.cleanups.claims["a"].owner.pid, std::process::id());
}

#[test]
fn refused_goes_back_to_pending_and_the_record_goes_when_no_longer_due() {
    let mut b = Bench::new(EngineSettings::default());
    b.fake.put(expired("a", 60));
    let p = b.snap(t0());
    // Extended between planning and execution: the executor refuses.
    b.fake.update("a", |d| {
        let mut m = metadata::parse_or_default(d.metadata.as_deref()).unwrap();
        m.persistence.scheduled_cleanup = Some(t0() + 7200);
        d.metadata = Some(metadata::to_xml(&m));
    });
    b.poller.invalidate("a");
    b.finish(
        &p[0],
        Outcome::Refused("vm-a is no longer expired".into()),
        t0() + 1,
    );
    assert_eq!(b.record("a").cleanup_status, CleanupStatus::Pending);
    assert!(b.snap(t0() + 3600).is_empty());
    let data = EngineStore::new(b.dir.path()).load().unwrap();
    assert!(
        data.cleanups.records.is_empty(),
        "a pending record of a VM no longer due is dropped"
    );
}

#[test]
fn cleanup_failure_raises_an_alert() {
    let mut b = alerts::alerted();
    let alerts = b.core.take_alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (alerts[0].action.as_str(), alerts[0].error.as_str()),
        ("cleanup", "guest did not shut down")
    );
    assert!(b.core.take_alerts().is_empty());
    assert_eq!(b.core.alerts().len(), 1);
    assert_eq!(
        EngineStore::new(b.dir.path()).load().unwrap().engine.alerts,
        alerts
    );
    let j = b.journal.read_all().unwrap().entries;
    let e = j
        .iter()
        .find(|e| e.action == "alert")
        .expect("an alert line");
    assert_eq!(e.result, "error: guest did not shut down");
    assert_eq!(e.actor, "engine");
    // alert_on_cleanup_failure = false: journal (by the executor) only.
    let mut c = Bench::new(settings(|s| s.cleanup.alert_on_cleanup_failure = false));
    c.fake.put(expired("a", 60));
    let p = c.snap(t0());
    c.finish(&p[0], Outcome::Failed("x".into()), t0() + 2);
    assert!(c.core.take_alerts().is_empty() && c.core.alerts().is_empty());
}

#[test]
fn retention_prunes_old_finished_records_of_gone_vms() {
    let mut b = Bench::new(settings(|s| s.cleanup.retention_days = 7));
    b.fake.put(expired("a", 60));
    b.fake.put(expired("b", 30));
    let p = b.snap(t0());
    b.finish(&p[0], Outcome::Ok("done".into()), t0() + 5);
    b.fake.undefine("a").unwrap();
    b.finish(&p[1], Outcome::Failed("stuck".into()), t0() + 5);
    let day = 86_400;
    let p = b.snap(t0() + 7 * day);
    assert_eq!(uuids(&p), ["b"], "b is retried every round");
    b.finish(&p[0], Outcome::Failed("stuck".into()), t0() + 7 * day + 1);
    assert!(
        EngineStore::new(b.dir.path())
            .load()
            .unwrap()
            .cleanups
            .records
            .contains_key("a"),
        "7 days: kept"
    );
    // A round runs (and tidies); b backs off: its second failure waits two intervals.
    assert!(b.snap(t0() + 7 * day + 3600).is_empty());
    let records = EngineStore::new(b.dir.path())
        .load()
        .unwrap()
        .cleanups
        .records;
    assert!(
        !records.contains_key("a"),
        "completed 7 days ago, VM gone: pruned"
    );
    assert!(records.contains_key("b"), "failed but the VM exists: kept");
    // Alerts older than retention go too.
    let alerts = EngineStore::new(b.dir.path()).load().unwrap().engine.alerts;
    assert!(alerts.iter().all(|a| a.time > at(t0() + 5)), "{alerts:?}");
}

#[test]
fn the_store_survives_a_restart_of_the_core() {
    let mut b = Bench::new(EngineSettings::default());
    b.fake.put(expired("a", 60));
    b.fake.put(expired("b", 30));
    let p = b.snap(t0());
    assert_eq!(p.len(), 2);
    // The core dies mid-round: a's cleanup finished (VM gone) but was not recorded; b's
    // was interrupted.
    b.fake.undefine("a").unwrap();
    let mut b = b.restart();
    let p = b.snap(t0() + 30);
    let a = b.record("a");
    assert_eq!(
        (a.cleanup_status, a.cleanup_attempts),
        (CleanupStatus::Completed, 1)
    );
    let r = b.record("b");
    assert_eq!(r.cleanup_attempts, 1, "the interrupted attempt counts");
    assert_eq!(uuids(&p), ["b"], "retried at once, not an interval later");
    assert_eq!(r.cleanup_status, CleanupStatus::InProgress);
    b.finish(&p[0], Outcome::Ok("done".into()), t0() + 40);
    let r = b.record("b");
    assert_eq!(
        (r.cleanup_status, r.cleanup_attempts),
        (CleanupStatus::Completed, 2)
    );
    let j = b.journal.read_all().unwrap().entries;
    assert!(
        j.iter()
            .any(|e| e.vm_id == "b" && e.result.starts_with("error: interrupted")),
        "{j:?}"
    );
    assert!(j
        .iter()
        .any(|e| e.vm_id == "a" && e.action == "cleanup" && e.result == "ok"));
}

#[test]
fn a_live_claim_of_another_process_is_left_alone() {
    let mut b = Bench::new(EngineSettings::default());
    b.fake.put(expired("a", 60));
    // Another engine in this process (stands in for a CLI run) claims a first.
    let journal = Arc::new(Journal::in_memory());
    let mut other = EngineCore::new(
        EngineStore::new(b.dir.path()),
        journal,
        EngineSettings::default(),
        "fake:///",
    )
    .unwrap()
    .with_window_zone(WindowZone::Fixed(0));
    let views = b.poller.poll(at(t0())).unwrap();
    let (_, mine) = other
        .manual_round(
            &views,
            &RoundRequest {
                manual: true,
                ..Default::default()
            },
            &Actor::Cli("root".into()),
            at(t0()),
        )
        .unwrap();
    assert_eq!(uuids(&mine), ["a"]);
    assert!(b.snap(t0() + 1).is_empty(), "not run twice");
    assert!(matches!(
        b.plan(t0() + 1).lines[0].state,
        VmCleanupState::InProgress
    ));
    assert_eq!(
        b.record("a").cleanup_status,
        CleanupStatus::InProgress,
        "not taken for interrupted"
    );
}

#[test]
fn restarts_under_on_failure_until_max_retries_then_gives_up_with_an_alert() {
    let mut b = Bench::new(EngineSettings::default());
    b.fake.put(permanent("p", RestartPolicy::OnFailure, 0, 2));
    let mut t = t0();
    assert!(b.snap(t).is_empty());
    for n in 1..=2u32 {
        b.set_state("p", RunState::Shutoff, ShutoffReason::Crashed);
        t += 5;
        let p = b.snap(t);
        assert_eq!(ops(&p), ["restart"], "restart {n}");
        assert!(
            p[0].cmd.reason.contains(&format!("restart {n} of 2")),
            "{}",
            p[0].cmd.reason
        );
        assert!(b.snap(t + 1).is_empty(), "not twice while it runs");
        // The executor starts it and counts the restart in the metadata.
        b.set_state("p", RunState::Running, RunningReason::Booted);
        b.finish(&p[0], Outcome::Ok("restarted".into()), t + 2);
        t += 5;
        assert!(b.snap(t).is_empty());
        // Even if the metadata read were stale, the engine knows the count it wrote.
        b.set_count("p", n);
    }
    b.set_state("p", RunState::Shutoff, ShutoffReason::Crashed);
    t += 5;
    assert!(b.snap(t).is_empty(), "gave up");
    let alerts = b.core.take_alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].action, "restart");
    assert!(
        alerts[0].error.contains("reached max_retries = 2"),
        "{}",
        alerts[0].error
    );
    assert!(b.snap(t + 5).is_empty(), "left stopped");
    assert!(b.core.take_alerts().is_empty(), "one alert");
}

#[test]
fn stale_metadata_does_not_allow_extra_restarts() {
    let mut b = Bench::new(EngineSettings::default());
    b.fake.put(permanent("p", RestartPolicy::OnFailure, 0, 1));
    assert!(b.snap(t0()).is_empty());
    b.set_state("p", RunState::Shutoff, ShutoffReason::Crashed);
    let p = b.snap(t0() + 5);
    assert_eq!(ops(&p), ["restart"]);
    b.set_state("p", RunState::Running, RunningReason::Booted);
    b.finish(&p[0], Outcome::Ok("restarted".into()), t0() + 6);
    // The metadata still says 0 (the executor's write not yet seen).
    assert!(b.snap(t0() + 10).is_empty());
    b.set_state("p", RunState::Shutoff, ShutoffReason::Crashed);
    assert!(b.snap(t0() + 15).is_empty(), "1 of 1 done: give up");
    assert_eq!(b.core.take_alerts().len(), 1);
}

#[test]
fn a_person_destroying_a_vm_under_always_is_not_restarted() {
    let mut b = Bench::new(EngineSettings::default());
    b.fake.put(permanent("p", RestartPolicy::Always, 0, 5));
    assert!(b.snap(t0()).is_empty());
    b.set_state("p", RunState::Shutoff, ShutoffReason::Destroyed);
    assert!(b.snap(t0() + 5).is_empty());
    b.set_state("p", RunState::Running, RunningReason::Booted);
    assert!(b.snap(t0() + 10).is_empty());
    b.set_state("p", RunState::Shutoff, ShutoffReason::Shutdown);
    assert!(
        b.snap(t0() + 15).is_empty(),
        "a requested shutdown is not restarted either"
    );
    assert!(b.core.take_alerts().is_empty());
}

#[test]
fn a_vm_already_stopped_at_start_is_not_restarted() {
    let mut b = Bench::new(EngineSettings::default());
    b.fake.put(permanent("p", RestartPolicy::Always, 0, 5));
    b.set_state("p", RunState::Shutoff, ShutoffReason::Crashed);
    assert!(b.snap(t0()).is_empty());
    assert!(b.snap(t0() + 5).is_empty());
    // Nor after a restart of the engine.
    let mut b = b.restart();
    assert!(b.snap(t0() + 10).is_empty());
}

#[test]
fn a_guest_shutdown_event_makes_always_restart() {
    let mut b = Bench::new(EngineSettings::default());
    b.fake.put(permanent("p", RestartPolicy::Always, 0, 5));
    b.fake.put(permanent("q", RestartPolicy::OnFailure, 0, 5));
    assert!(b.snap(t0()).is_empty());
    for u in ["p", "q"] {
        b.core.on_event(
            &EngineEvent {
                uuid: u.into(),
                kind: EventKind::ShutdownByGuest,
            },
            at(t0() + 1),
        );
        b.core.on_event(
            &EngineEvent {
                uuid: u.into(),
                kind: EventKind::Stopped(StoppedDetail::Shutdown),
            },
            at(t0() + 1),
        );
        b.set_state(u, RunState::Shutoff, ShutoffReason::Shutdown);
    }
    let p = b.snap(t0() + 5);
    assert_eq!(
        uuids(&p),
        ["p"],
        "always restarts a guest shutdown, on_failure does not"
    );
}

#[test]
fn a_stop_made_through_vmlife_by_another_process_is_not_restarted() {
    let mut b = Bench::new(EngineSettings::default());
    b.fake.put(permanent("p", RestartPolicy::Always, 0, 5));
    assert!(b.snap(t0()).is_empty());
    // A dashboard beside the engine shut it down; its journal line arrives.
    let other = Journal::open(b.dir.path()).unwrap();
    other
        .append(&crate::store::JournalEntry::for_command(
            at(t0() + 1),
            &Actor::Dashboard("bob".into()),
            &crate::lifecycle::Command::new("p", "vm-p", Op::Shutdown, "asked"),
            "ok",
            None,
        ))
        .unwrap();
    b.core.on_event(
        &EngineEvent {
            uuid: "p".into(),
            kind: EventKind::ShutdownByGuest,
        },
        at(t0() + 2),
    );
    b.set_state("p", RunState::Shutoff, ShutoffReason::Shutdown);
    assert!(
        b.snap(t0() + 5).is_empty(),
        "stopped by vmlife: left stopped"
    );
}

#[test]
fn a_stable_run_ends_the_restart_streak() {
    let mut b = Bench::new(settings(|s| s.restart_stable_seconds = 300));
    b.fake.put(permanent("p", RestartPolicy::Always, 2, 5));
    b.fake.put(permanent("q", RestartPolicy::Always, 0, 5));
    assert!(b.snap(t0()).is_empty());
    assert!(b.snap(t0() + 299).is_empty());
    let p = b.snap(t0() + 300);
    assert_eq!(ops(&p), ["reset_restart_count"]);
    assert_eq!(uuids(&p), ["p"], "q has nothing to reset");
    assert!(b.snap(t0() + 305).is_empty(), "not twice");
    b.set_count("p", 0);
    b.finish(&p[0], Outcome::Ok("reset".into()), t0() + 306);
    assert!(b.snap(t0() + 310).is_empty());
}

#[test]
fn the_plan_is_what_the_round_does() {
    let mut b = Bench::new(EngineSettings::default());
    b.fake.put(expired("a", 60));
    b.fake.put(expired("b", 120));
    b.fake.put(permanent("p", RestartPolicy::Always, 0, 5));
    let plan = b.plan(t0());
    let p = b.snap(t0());
    let planned: Vec<_> = p.iter().map(|p| p.cmd.clone()).collect();
    assert_eq!(plan.commands, planned);
    assert_eq!(uuids(&p), ["b", "a"]);
}

#[test]
fn manual_round_ignores_the_interval_and_window_when_asked() {
    let mut b = Bench::new(settings(|s| {
        s.cleanup.cleanup_window_start = HhMm::new(22, 0);
        s.cleanup.cleanup_window_end = HhMm::new(23, 0);
    }));
    b.fake.put(expired("a", 60));
    b.fake.put(expired("b", 60));
    let views = b.poller.poll(at(t0())).unwrap();
    let alice = Actor::Cli("alice".into());
    let only: BTreeSet<Uuid> = ["a".into()].into();
    let req = RoundRequest {
        manual: true,
        ignore_window: false,
        only: Some(only.clone()),
    };
    let (plan, p) = b.core.manual_round(&views, &req, &alice, at(t0())).unwrap();
    assert!(
        p.is_empty() && plan.held.is_some(),
        "the window holds a manual round too"
    );
    let req = RoundRequest {
        manual: true,
        ignore_window: true,
        only: Some(only),
    };
    let (_, p) = b.core.manual_round(&views, &req, &alice, at(t0())).unwrap();
    assert_eq!(uuids(&p), ["a"]);
    assert_eq!(p[0].actor, alice);
    let data = EngineStore::new(b.dir.path()).load().unwrap();
    assert_eq!(data.cleanups.claims["a"].actor, "cli:alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_feeds_events_and_polls_at_once() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeHypervisor::new());
    fake.put(permanent("p", RestartPolicy::Always, 0, 5));
    let journal = Arc::new(Journal::open(dir.path()).unwrap());
    let core = EngineCore::new(
        EngineStore::new(dir.path()),
        journal.clone(),
        EngineSettings::default(),
        "fake:///",
    )
    .unwrap();
    let opts = runner::RunnerOptions {
        // Only the first tick fires on its own: later polls come from events.
        poll_interval: Duration::from_secs(3600),
        stop_timeout: Duration::from_secs(5),
        max_poll_outage: Duration::from_secs(60),
        alert_command: Vec::new(),
        alert_timeout: Duration::from_secs(1),
        limits: None,
    };
    let (ev_tx, ev_rx) = tokio::sync::mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let hv: Arc<dyn crate::hypervisor::Hypervisor> = fake.clone();
    let task = tokio::spawn(runner::run(
        core,
        hv,
        journal.clone(),
        opts,
        Some(ev_rx),
        async {
            let _ = stop_rx.await;
        },
    ));
    let wait = |f: &dyn Fn() -> bool| {
        let t = std::time::Instant::now();
        while !f() {
            assert!(t.elapsed() < Duration::from_secs(10), "timed out");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait(&|| fake.calls().iter().filter(|c| c.as_str() == "poll").count() >= 1);
    // The guest shuts itself down: the event says so, and a poll follows at once.
    fake.update("p", |d| {
        d.raw.state = Some(RunState::Shutoff);
        d.raw.reason = ShutoffReason::Shutdown.into();
    });
    use crate::hypervisor::{DomainEvent as HvEvent, EventDetail as d, LifecycleEvent};
    for (event, detail) in [
        (LifecycleEvent::Shutdown, d::Guest),
        (LifecycleEvent::Stopped, d::Shutdown),
    ] {
        ev_tx
            .send(HvEvent::Lifecycle {
                uuid: "p".into(),
                name: "vm-p".into(),
                event,
                detail,
            })
            .unwrap();
    }
    wait(&|| fake.calls().iter().any(|c| c == "start p"));
    let _ = stop_tx.send(());
    task.await.unwrap().unwrap();
    let j = journal.read_all().unwrap().entries;
    assert!(
        j.iter()
            .any(|e| e.action == "restart" && e.actor == "engine" && e.result == "ok"),
        "{j:?}"
    );
}

#[test]
fn a_temporary_vm_without_created_at_is_stamped_once_with_its_first_sight() {
    let mut b = Bench::new(settings(|_| {}));
    b.fake.put(with_meta(running("u-new", "vm-new"), |m| {
        m.persistence.mode = PersistenceMode::Temporary;
    }));
    b.fake.put(permanent("u-perm", RestartPolicy::No, 0, 5));
    let planned = b.snap(t0());
    let stamps: Vec<&Planned> = planned
        .iter()
        .filter(|p| matches!(p.cmd.op, Op::StampCreatedAt { .. }))
        .collect();
    assert_eq!(stamps.len(), 1, "{planned:?}");
    assert_eq!(stamps[0].cmd.vm_id, "u-new");
    assert_eq!(stamps[0].cmd.op, Op::StampCreatedAt { at: t0() });
    // Not twice while it runs.
    let again = b.snap(t0() + 5);
    assert!(!again
        .iter()
        .any(|p| matches!(p.cmd.op, Op::StampCreatedAt { .. })));
    // Never planned for cleanup on sight.
    assert!(!again.iter().any(|p| matches!(p.cmd.op, Op::Cleanup { .. })));
    b.finish(stamps[0], Outcome::Ok("stamped".into()), t0() + 6);
}
