//! The pressure reactions wired into the engine, on the fake hypervisor: readings in,
//! `Op::Pressure` out, the results recorded; a pressure kill is never restarted; one
//! alert per disk-full episode; dry run makes no mutating call; the records survive a
//! restart of the engine.

use super::*;
use crate::engine::signals::{self, Readings};
use crate::executor::{ExecOptions, Executor};
use crate::hypervisor::{DiskInfo, DiskSpace, PausedReason};
use crate::lifecycle::pressure::{Cause, MemInfo, PressureState, ReactionKind};
use crate::model::PressureAction;

const GIB: u64 = 1024 * 1024 * 1024;

fn pressure_settings(f: impl FnOnce(&mut EngineSettings)) -> EngineSettings {
    settings(|s| {
        s.pressure.hold_seconds = 0;
        s.pressure.clear_seconds = 20;
        s.pressure.settle_seconds = 5;
        s.pressure.disk_resume_free_mib = 1;
        f(s);
    })
}

/// A managed VM with `mode`, policies and one disk `vda` on `/img/{uuid}.img`.
fn pvm(
    uuid: &str,
    mode: PersistenceMode,
    on_mem: Option<PressureAction>,
    on_disk: Option<PressureAction>,
) -> FakeDomain {
    let mut d = with_meta(running(uuid, &format!("vm-{uuid}")), |m| {
        m.persistence.mode = mode;
        m.persistence.ttl_hours = 100.0;
        m.persistence.created_at_unix = Some(t0());
        m.persistence.restart_policy = RestartPolicy::Always;
        m.policy.on_memory_pressure = on_mem;
        m.policy.on_disk_full = on_disk;
    });
    d.details.disks = vec![DiskInfo {
        target: "vda".into(),
        source: Some(format!("/img/{uuid}.img")),
        device: "disk".into(),
    }];
    d.details.memory_kib = Some(1024 * 1024);
    d
}

impl Bench {
    /// A snapshot with readings: available memory `avail_pct` % of 16 GiB.
    fn psnap(&mut self, now: i64, avail_pct: u64) -> Vec<Planned> {
        let views = self.poller.poll(at(now)).unwrap();
        let mut r: Readings = signals::read(self.fake.as_ref(), &views, &self.core.disk_watch());
        let total_kib = 16 * 1024 * 1024;
        r.memory = Some(Ok(MemInfo {
            total_kib,
            available_kib: total_kib * avail_pct / 100,
        }));
        r.psi = None;
        self.core.set_readings(r);
        self.core.on_snapshot(&views, at(now))
    }

    fn pressure(&self) -> crate::engine::state_files::PressureRecords {
        EngineStore::new(self.dir.path())
            .load()
            .unwrap()
            .engine
            .pressure
    }
}

fn pressure_op(p: &Planned) -> (ReactionKind, Cause) {
    match p.cmd.op {
        Op::Pressure { action, cause } => (action, cause),
        ref op => panic!("not a pressure op: {op:?}"),
    }
}

#[test]
fn a_vm_killed_for_memory_pressure_is_never_restarted() {
    let mut b = Bench::new(pressure_settings(|_| {}));
    b.fake.put(pvm(
        "t",
        PersistenceMode::Temporary,
        Some(PressureAction::Kill),
        None,
    ));
    let t = t0();
    let p = b.psnap(t, 2);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(
        pressure_op(&p[0]),
        (ReactionKind::Kill, Cause::MemoryPressure)
    );
    assert!(
        p[0].cmd.reason.contains("available 2.0 % < 5 %"),
        "{}",
        p[0].cmd.reason
    );
    assert!(!p[0].dry_run);
    // The poll sees it stopped before the result arrives: still vmlife's stop.
    b.set_state("t", RunState::Shutoff, ShutoffReason::Destroyed);
    assert!(b.psnap(t + 1, 2).is_empty());
    b.finish(&p[0], Outcome::Ok("destroyed".into()), t + 2);
    assert!(b.psnap(t + 3, 2).is_empty());
    assert!(b.core.take_alerts().is_empty());
}

#[test]
fn memory_pressure_suspends_one_per_step_and_resumes_after_the_clear_time() {
    let mut b = Bench::new(pressure_settings(|s| {
        s.on_memory_pressure = PressureAction::Suspend;
    }));
    b.fake
        .put(pvm("perm", PersistenceMode::Permanent, None, None));
    b.fake
        .put(pvm("temp", PersistenceMode::Temporary, None, None));
    let mut t = t0();
    let p = b.psnap(t, 2);
    assert_eq!(uuids(&p), ["temp"], "temporary first");
    b.set_state("temp", RunState::Paused, PausedReason::User);
    b.finish(&p[0], Outcome::Ok("suspended".into()), t);
    assert!(b.psnap(t + 1, 2).is_empty(), "settling");
    t += 6;
    let p = b.psnap(t, 2);
    assert_eq!(uuids(&p), ["perm"]);
    b.set_state("perm", RunState::Paused, PausedReason::User);
    b.finish(&p[0], Outcome::Ok("suspended".into()), t);
    assert_eq!(b.pressure().paused.len(), 2);

    // The daemon restarts: the records are in engine.json.
    let mut b = b.restart();
    t += 6;
    assert!(b.psnap(t, 50).is_empty(), "clearing");
    assert!(matches!(b.pressure().state, PressureState::Clearing { .. }));
    t += 21;
    let p = b.psnap(t, 50);
    assert_eq!(uuids(&p), ["perm"], "latest paused first");
    assert_eq!(pressure_op(&p[0]).0, ReactionKind::Resume);
    b.set_state("perm", RunState::Running, RunningReason::Unpaused);
    b.finish(&p[0], Outcome::Ok("resumed".into()), t);
    t += 6;
    let p = b.psnap(t, 50);
    assert_eq!(uuids(&p), ["temp"]);
    b.set_state("temp", RunState::Running, RunningReason::Unpaused);
    b.finish(&p[0], Outcome::Ok("resumed".into()), t);
    assert!(b.psnap(t + 6, 50).is_empty());
    assert!(b.pressure().paused.is_empty());
}

#[test]
fn a_full_disk_is_kept_paused_resumed_with_room_and_alerted_once_per_episode() {
    let mut b = Bench::new(pressure_settings(|_| {}));
    b.fake.put(pvm(
        "d",
        PersistenceMode::Permanent,
        None,
        Some(PressureAction::Suspend),
    ));
    let tight = DiskSpace {
        free_bytes: 0,
        total_bytes: GIB,
    };
    b.fake.set_disk_space("/img/d.img", Some(tight));
    let mut t = t0();
    assert!(b.psnap(t, 50).is_empty());
    // QEMU pauses it on enospc; the event is missed: the poll's disk-error check finds it.
    b.fake.fill_disk("d", "vda");
    b.poller.invalidate("d");
    t += 1;
    let p = b.psnap(t, 50);
    assert_eq!(uuids(&p), ["d"]);
    assert_eq!(pressure_op(&p[0]), (ReactionKind::Suspend, Cause::DiskFull));
    let alerts = b.core.take_alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].action, "disk_full");
    assert!(alerts[0].error.contains("vda"), "{}", alerts[0].error);
    b.finish(&p[0], Outcome::Ok("kept paused".into()), t);
    let status = pressure_status(&b.pressure(), "d", true);
    assert_eq!(status.as_deref(), Some("paused: disk full (vda)"));
    // Still no room: nothing, and no second alert.
    assert!(b.psnap(t + 1, 50).is_empty());
    assert!(b.core.take_alerts().is_empty());
    // Room again: resumed.
    let roomy = DiskSpace {
        free_bytes: GIB / 2,
        total_bytes: GIB,
    };
    b.fake.set_disk_space("/img/d.img", Some(roomy));
    t += 2;
    let p = b.psnap(t, 50);
    assert_eq!(uuids(&p), ["d"]);
    assert_eq!(pressure_op(&p[0]), (ReactionKind::Resume, Cause::DiskFull));
    b.set_state("d", RunState::Running, RunningReason::Unpaused);
    b.finish(&p[0], Outcome::Ok("resumed".into()), t);
    assert!(b.psnap(t + 1, 50).is_empty());
    // It fills again, this time reported by the event: suspended again, no new alert.
    b.fake.set_disk_space("/img/d.img", Some(tight));
    b.fake.fill_disk("d", "vda");
    b.poller.invalidate("d");
    b.core
        .on_io_error("d", "vm-d", "/img/d.img", "virtio-disk0", "enospc");
    t += 2;
    let p = b.psnap(t, 50);
    assert_eq!(uuids(&p), ["d"]);
    assert_eq!(pressure_op(&p[0]).0, ReactionKind::Suspend);
    assert!(b.core.take_alerts().is_empty(), "the same episode");
}

#[test]
fn on_disk_full_none_only_alerts_and_kill_destroys() {
    let mut b = Bench::new(pressure_settings(|_| {}));
    b.fake.put(pvm("n", PersistenceMode::Permanent, None, None));
    b.fake.put(pvm(
        "k",
        PersistenceMode::Permanent,
        None,
        Some(PressureAction::Kill),
    ));
    let t = t0();
    assert!(b.psnap(t, 50).is_empty());
    for u in ["n", "k"] {
        b.core.on_io_error(
            u,
            &format!("vm-{u}"),
            &format!("/img/{u}.img"),
            "virtio-disk0",
            "enospc",
        );
        b.fake.fill_disk(u, "vda");
        b.poller.invalidate(u);
    }
    let p = b.psnap(t + 1, 50);
    assert_eq!(uuids(&p), ["k"]);
    assert_eq!(pressure_op(&p[0]), (ReactionKind::Kill, Cause::DiskFull));
    assert_eq!(b.core.take_alerts().len(), 2);
    b.set_state("k", RunState::Shutoff, ShutoffReason::Destroyed);
    b.finish(&p[0], Outcome::Ok("destroyed".into()), t + 1);
    // Never restarted (restart_policy = always), and `n` is left paused.
    assert!(b.psnap(t + 2, 50).is_empty());
    assert!(b.psnap(t + 3, 50).is_empty());
    assert!(!b.pressure().disk_full.contains_key("k"));
    // A late error of the burst QEMU sent before the kill, delivered after the stop
    // was seen (a busy host): no new episode, no second alert.
    b.core
        .on_io_error("k", "vm-k", "/img/k.img", "virtio-disk0", "enospc");
    assert!(b.psnap(t + 4, 50).is_empty());
    assert!(b.core.take_alerts().is_empty());
    assert!(!b.pressure().disk_full.contains_key("k"));
}

#[test]
fn dry_run_journals_would_once_and_makes_no_call() {
    let mut b = Bench::new(pressure_settings(|s| {
        s.on_memory_pressure = PressureAction::Suspend;
        s.cleanup.dry_run_mode = true;
    }));
    b.fake.put(pvm("a", PersistenceMode::Temporary, None, None));
    let t = t0();
    let p = b.psnap(t, 2);
    assert_eq!(uuids(&p), ["a"]);
    assert!(p[0].dry_run);
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let dry = Executor::with_options(
        b.fake.clone(),
        b.journal.clone(),
        tx,
        ExecOptions {
            dry_run: true,
            manage_all_vms: false,
        },
    );
    b.fake.clear_calls();
    let r = dry.run_now(p[0].cmd.clone(), p[0].actor.clone());
    assert!(matches!(r.outcome, Outcome::DryRun(_)), "{r:?}");
    let mutating: Vec<String> = b
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("suspend") || c.starts_with("destroy"))
        .collect();
    assert!(mutating.is_empty(), "{mutating:?}");
    b.core.on_result(&r, at(t));
    // The same step is not journaled again every poll.
    assert!(b.psnap(t + 10, 2).is_empty());
    assert!(b.pressure().paused.is_empty());
}

#[test]
fn a_host_default_kill_refused_by_the_recheck_is_not_retried_every_poll() {
    // The planner never plans it; the executor's re-check is the second line.
    let mut b = Bench::new(pressure_settings(|s| {
        s.on_memory_pressure = PressureAction::Kill;
    }));
    b.fake.put(pvm("p", PersistenceMode::Permanent, None, None));
    assert!(b.psnap(t0(), 2).is_empty());
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let exec = Executor::new(b.fake.clone(), b.journal.clone(), tx);
    let cmd = crate::lifecycle::Command::new(
        "p",
        "vm-p",
        Op::Pressure {
            action: ReactionKind::Kill,
            cause: Cause::MemoryPressure,
        },
        "test",
    );
    let r = exec.run_now(cmd, Actor::Engine);
    assert!(
        matches!(&r.outcome, Outcome::Refused(w) if w.contains("permanent")),
        "{r:?}"
    );
    assert!(!b.fake.calls().iter().any(|c| c.starts_with("destroy")));
}

#[test]
fn a_remote_uri_judges_skip_on_low_resources_by_its_node_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = EngineCore::new(
        EngineStore::new(dir.path()),
        Arc::new(Journal::in_memory()),
        settings(|s| s.cleanup.skip_on_low_resources = true),
        "qemu+ssh://far/system",
    )
    .unwrap();
    assert!(matches!(core.pressure(), Pressure::Unknown(_)));
    core.set_readings(Readings {
        memory: Some(Ok(MemInfo {
            total_kib: 1000,
            available_kib: 10,
        })),
        ..Readings::default()
    });
    core.refresh();
    assert!(matches!(core.pressure(), Pressure::Under(s) if s.contains("1.0 %")));
}
