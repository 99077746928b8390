//! The executor running the policy ops the engine plans (cleanup, restart by policy,
//! reset restart count, the first-seen stamp), on the fake hypervisor with a manual
//! clock, so grace periods pass in no time.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use proptest::prelude::*;
use tokio::sync::mpsc::unbounded_channel;

use super::super::*;
use crate::hypervisor::fake::{running, FakeDomain, FakeHypervisor, OnShutdown};
use crate::hypervisor::{DiskInfo, RunState, ShutoffReason};
use crate::lifecycle::ttl::{self, TtlStatus};
use crate::metadata::{self, LifecycleMeta};
use crate::model::{PersistenceMode, RestartPolicy, VmPersistence};

const DESTRUCTIVE: &[&str] = &["shutdown", "destroy", "undefine", "delete_volume"];
const MUTATING: &[&str] = &[
    "start",
    "shutdown",
    "reboot",
    "destroy",
    "suspend",
    "resume",
    "managed_save",
    "undefine",
    "set_metadata",
    "delete_volume",
];

fn is_one_of(call: &str, names: &[&str]) -> bool {
    call.split(' ').next().is_some_and(|c| names.contains(&c))
}

fn mutating(calls: &[String]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| is_one_of(c, MUTATING))
        .cloned()
        .collect()
}

struct Env {
    hv: Arc<FakeHypervisor>,
    ex: Executor,
    journal: Arc<Journal>,
    clock: Arc<ManualClock>,
}

impl Env {
    fn new(hv: Arc<FakeHypervisor>, dry_run: bool) -> Env {
        Env::with_options(
            hv,
            ExecOptions {
                dry_run,
                ..Default::default()
            },
        )
    }

    fn with_options(hv: Arc<FakeHypervisor>, options: ExecOptions) -> Env {
        let journal = Arc::new(Journal::in_memory());
        let clock = Arc::new(ManualClock::at_now());
        let (tx, _rx) = unbounded_channel();
        let ex = Executor::with_clock(hv.clone(), Arc::clone(&journal), tx, options, clock.clone());
        Env {
            hv,
            ex,
            journal,
            clock,
        }
    }

    fn run(&self, uuid: &str, name: &str, op: Op) -> ExecResult {
        self.ex
            .run_now(Command::new(uuid, name, op, "test"), Actor::Engine)
    }

    fn mutating(&self) -> Vec<String> {
        mutating(&self.hv.calls())
    }

    fn meta(&self, uuid: &str) -> LifecycleMeta {
        metadata::parse_or_default(self.hv.metadata(uuid).unwrap().as_deref()).unwrap()
    }

    fn last_entry(&self) -> crate::store::JournalEntry {
        self.journal.read_all().unwrap().entries.pop().unwrap()
    }
}

fn now() -> i64 {
    Utc::now().timestamp()
}

fn meta_xml(f: impl FnOnce(&mut LifecycleMeta)) -> String {
    let mut m = LifecycleMeta::default();
    f(&mut m);
    metadata::to_xml(&m)
}

/// Temporary, created two hours ago with a one-hour TTL: expired an hour ago.
fn expired(p: &mut VmPersistence) {
    p.mode = PersistenceMode::Temporary;
    p.ttl_hours = 1.0;
    p.created_at_unix = Some(now() - 7200);
}

fn expired_xml() -> String {
    meta_xml(|m| expired(&mut m.persistence))
}

fn vm(uuid: &str, name: &str, state: RunState, meta: Option<String>) -> FakeDomain {
    let mut d = running(uuid, name);
    d.raw.state = Some(state);
    if state == RunState::Shutoff {
        d.raw.reason = ShutoffReason::Shutdown.into();
    }
    d.metadata = meta;
    d
}

fn one(state: RunState, meta: Option<String>) -> Env {
    let hv = Arc::new(FakeHypervisor::new());
    hv.put(vm("u-1", "web-1", state, meta));
    Env::new(hv, false)
}

fn cleanup(force: bool, grace_seconds: u64) -> Op {
    Op::Cleanup {
        force,
        grace_seconds,
        remove_storage: false,
    }
}

#[test]
fn cleanup_of_a_stopped_expired_vm_undefines_it() {
    let env = one(RunState::Shutoff, Some(expired_xml()));
    let r = env.run("u-1", "web-1", cleanup(false, 60));
    assert_eq!(
        r.outcome,
        Outcome::Ok("cleaned up web-1: already shut off, undefined".into())
    );
    assert_eq!(env.mutating(), vec!["undefine u-1"]);
    assert!(env.hv.lookup("u-1").is_err());
    let e = env.last_entry();
    assert_eq!((e.action.as_str(), e.result.as_str()), ("cleanup", "ok"));
    let detail = e.detail.unwrap();
    assert_eq!(
        detail["steps"],
        serde_json::json!(["already shut off", "undefined"])
    );
    assert_eq!(detail["grace_seconds"], 60);
}

#[test]
fn cleanup_of_a_running_vm_that_obeys_shutdown() {
    let env = one(RunState::Running, Some(expired_xml()));
    let r = env.run("u-1", "web-1", cleanup(false, 60));
    assert_eq!(
        r.outcome,
        Outcome::Ok("cleaned up web-1: shut down after 0s, undefined".into())
    );
    assert_eq!(env.mutating(), vec!["shutdown u-1", "undefine u-1"]);
    assert_eq!(env.clock.slept(), Duration::ZERO);
}

#[test]
fn cleanup_waits_for_a_slow_shutdown() {
    let env = one(RunState::Running, Some(expired_xml()));
    env.hv.on_shutdown("u-1", OnShutdown::Ignore);
    let hv = env.hv.clone();
    env.clock.on_sleep(move |t| {
        if t >= Duration::from_secs(3) {
            hv.update("u-1", |d| d.raw.state = Some(RunState::Shutoff));
        }
    });
    let r = env.run("u-1", "web-1", cleanup(false, 60));
    assert_eq!(
        r.outcome,
        Outcome::Ok("cleaned up web-1: shut down after 3s, undefined".into())
    );
    assert_eq!(env.clock.slept(), Duration::from_secs(3));
    assert_eq!(env.mutating(), vec!["shutdown u-1", "undefine u-1"]);
}

#[test]
fn cleanup_without_force_fails_when_the_guest_ignores_shutdown() {
    let env = one(RunState::Running, Some(expired_xml()));
    env.hv.on_shutdown("u-1", OnShutdown::Ignore);
    let r = env.run("u-1", "web-1", cleanup(false, 60));
    assert_eq!(
        r.outcome,
        Outcome::Failed("still running after the 60s grace period (force_cleanup = false)".into())
    );
    assert_eq!(
        r.to_string(),
        "clean up web-1 failed: still running after the 60s grace period (force_cleanup = false)"
    );
    assert_eq!(env.mutating(), vec!["shutdown u-1"]);
    assert_eq!(env.clock.slept(), Duration::from_secs(60));
    // Polled about once a second.
    let polls = env.hv.calls().iter().filter(|c| *c == "poll").count();
    assert!((60..=63).contains(&polls), "{polls} polls");
    assert!(env.hv.lookup("u-1").is_ok());
}

#[test]
fn cleanup_with_force_destroys_then_undefines() {
    let env = one(RunState::Running, Some(expired_xml()));
    env.hv.on_shutdown("u-1", OnShutdown::Ignore);
    let r = env.run("u-1", "web-1", cleanup(true, 30));
    assert_eq!(
        r.outcome,
        Outcome::Ok(
            "cleaned up web-1: still running after the 30s grace period, destroyed, undefined"
                .into()
        )
    );
    assert_eq!(
        env.mutating(),
        vec!["shutdown u-1", "destroy u-1", "undefine u-1"]
    );
    assert!(env.hv.lookup("u-1").is_err());
}

#[test]
fn a_failed_shutdown_request_is_not_fatal() {
    let env = one(RunState::Running, Some(expired_xml()));
    env.hv.on_shutdown("u-1", OnShutdown::Fail);
    let r = env.run("u-1", "web-1", cleanup(false, 5));
    let Outcome::Failed(e) = &r.outcome else {
        panic!("{r}");
    };
    assert_eq!(
        e,
        "still running after the 5s grace period (force_cleanup = false); the shutdown \
         request failed: shutdown u-1: the guest does not answer ACPI (fake)"
    );
    let r = env.run("u-1", "web-1", cleanup(true, 5));
    assert_eq!(
        r.outcome,
        Outcome::Ok(
            "cleaned up web-1: the shutdown request failed (shutdown u-1: the guest does not \
             answer ACPI (fake)), still running after the 5s grace period, destroyed, undefined"
                .into()
        )
    );
}

#[test]
fn extended_between_planning_and_execution_survives() {
    let xml = meta_xml(|m| {
        expired(&mut m.persistence);
        m.persistence.scheduled_cleanup = Some(now() + 3600);
    });
    let env = one(RunState::Running, Some(xml));
    let r = env.run("u-1", "web-1", cleanup(true, 60));
    let Outcome::Refused(why) = &r.outcome else {
        panic!("{r}");
    };
    assert!(why.starts_with("no longer due: extended to "), "{why}");
    assert!(why.ends_with(" UTC"), "{why}");
    assert!(env.mutating().is_empty());
    assert!(env
        .last_entry()
        .result
        .starts_with("refused: no longer due: extended to "));
}

#[test]
fn extended_during_the_grace_period_is_not_destroyed() {
    let env = one(RunState::Running, Some(expired_xml()));
    env.hv.on_shutdown("u-1", OnShutdown::Ignore);
    let hv = env.hv.clone();
    let extended = meta_xml(|m| {
        expired(&mut m.persistence);
        m.persistence.scheduled_cleanup = Some(now() + 86_400);
    });
    env.clock.on_sleep(move |t| {
        if t == Duration::from_secs(5) {
            hv.update("u-1", |d| d.metadata = Some(extended.clone()));
        }
    });
    let r = env.run("u-1", "web-1", cleanup(true, 10));
    let Outcome::Refused(why) = &r.outcome else {
        panic!("{r}");
    };
    assert!(why.starts_with("no longer due: extended to "), "{why}");
    assert!(
        why.ends_with("(already done: still running after the 10s grace period)"),
        "{why}"
    );
    assert_eq!(env.mutating(), vec!["shutdown u-1"]);
}

#[test]
fn not_due_vms_are_refused_without_a_call() {
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        (
            "made permanent",
            Some(meta_xml(|m| {
                expired(&mut m.persistence);
                m.persistence.mode = PersistenceMode::Permanent;
            })),
            "no longer due: made permanent",
        ),
        (
            "auto_cleanup off",
            Some(meta_xml(|m| {
                expired(&mut m.persistence);
                m.persistence.auto_cleanup = false;
            })),
            "no longer due: auto_cleanup = false",
        ),
        (
            "never stamped",
            Some(meta_xml(|m| {
                expired(&mut m.persistence);
                m.persistence.created_at_unix = None;
            })),
            "no longer due: not expired (no created_at_unix: it counts from now)",
        ),
        (
            "no metadata",
            None,
            "no longer due: it has no vmlife metadata (permanent)",
        ),
    ];
    for (what, meta, want) in cases {
        let env = one(RunState::Running, meta);
        let r = env.run("u-1", "web-1", cleanup(true, 60));
        assert_eq!(r.outcome, Outcome::Refused(want.into()), "{what}");
        assert!(env.mutating().is_empty(), "{what}");
    }
    let invalid = r#"<lifecycle xmlns="urn:vmlife:lifecycle:1"><persistence mode="temporary" ttl_hours="soon"/></lifecycle>"#;
    let env = one(RunState::Running, Some(invalid.into()));
    let r = env.run("u-1", "web-1", cleanup(true, 60));
    let Outcome::Refused(why) = &r.outcome else {
        panic!("{r}");
    };
    assert!(why.starts_with("no longer due: invalid policy ("), "{why}");
    assert!(env.mutating().is_empty());
}

#[test]
fn a_same_named_replacement_is_left_alone() {
    // The plan saw web-1 as u-1; u-1 is gone and a new web-1 (u-2), also expired, runs.
    let hv = Arc::new(FakeHypervisor::new());
    hv.put(vm("u-2", "web-1", RunState::Running, Some(expired_xml())));
    let env = Env::new(hv, false);
    let r = env.run("u-1", "web-1", cleanup(true, 60));
    assert_eq!(
        r.outcome,
        Outcome::Refused("domain web-1 (u-1) no longer exists".into())
    );
    assert!(env.mutating().is_empty());
    assert!(env.hv.lookup("u-2").is_ok());
}

#[test]
fn cleanup_dry_run_calls_nothing_that_changes_anything() {
    for (state, force, want) in [
        (
            RunState::Running,
            true,
            "clean up web-1: shut down (grace 60s), then destroy if still running, then undefine",
        ),
        (
            RunState::Running,
            false,
            "clean up web-1: shut down (grace 60s), then fail if still running \
             (force_cleanup = false), then undefine",
        ),
        (
            RunState::Shutoff,
            false,
            "clean up web-1: already shut off, then undefine",
        ),
    ] {
        let hv = Arc::new(FakeHypervisor::new());
        hv.put(vm("u-1", "web-1", state, Some(expired_xml())));
        let env = Env::new(hv, true);
        let r = env.run("u-1", "web-1", cleanup(force, 60));
        assert_eq!(r.outcome, Outcome::DryRun(want.into()));
        assert_eq!(r.to_string(), "dry run: would clean up web-1");
        assert_eq!(env.last_entry().result, format!("dry run: would {want}"));
        assert!(env.mutating().is_empty());
        assert_eq!(env.clock.slept(), Duration::ZERO);
        assert!(env.hv.lookup("u-1").is_ok());
    }
}

fn disk(target: &str, source: &str, device: &str) -> DiskInfo {
    DiskInfo {
        target: target.into(),
        source: Some(source.into()),
        device: device.into(),
    }
}

#[test]
fn cleanup_removes_storage_volumes_but_not_shared_ones() {
    let hv = Arc::new(FakeHypervisor::new());
    let mut web = vm("u-1", "web-1", RunState::Running, Some(expired_xml()));
    web.details.disks = vec![
        disk("vda", "/pool/web-1.qcow2", "disk"),
        disk("vdb", "/pool/shared.qcow2", "disk"),
        disk("vdc", "/loose/web-1-data.img", "disk"),
        disk("vdd", "default/web-1-logs", "disk"),
        disk("sda", "/pool/installer.iso", "cdrom"),
    ];
    hv.put(web);
    let mut other = vm("u-2", "db-1", RunState::Running, None);
    other.details.disks = vec![disk("vda", "/pool/shared.qcow2", "disk")];
    hv.put(other);
    for v in [
        "/pool/web-1.qcow2",
        "/pool/shared.qcow2",
        "/pool/installer.iso",
    ] {
        hv.add_volume(v);
    }
    let env = Env::new(hv, true);
    let op = Op::Cleanup {
        force: false,
        grace_seconds: 60,
        remove_storage: true,
    };
    let r = env.run("u-1", "web-1", op.clone());
    assert_eq!(
        r.outcome,
        Outcome::DryRun(
            "clean up web-1: shut down (grace 60s), then fail if still running \
             (force_cleanup = false), then delete its volumes /pool/web-1.qcow2, \
             /pool/shared.qcow2, /loose/web-1-data.img, default/web-1-logs, then undefine"
                .into()
        )
    );
    assert!(env.mutating().is_empty());

    let env = Env::new(env.hv.clone(), false);
    let r = env.run("u-1", "web-1", op);
    assert_eq!(
        r.outcome,
        Outcome::Ok(
            "cleaned up web-1: shut down after 0s, deleted volume /pool/web-1.qcow2, left \
             /pool/shared.qcow2 in place (also used by db-1), left /loose/web-1-data.img in \
             place (not in any storage pool), left default/web-1-logs in place (not a file \
             path), undefined"
                .into()
        )
    );
    assert_eq!(
        env.mutating(),
        vec![
            "shutdown u-1",
            "delete_volume /pool/web-1.qcow2",
            "delete_volume /loose/web-1-data.img",
            "undefine u-1"
        ]
    );
    assert_eq!(
        env.hv.volumes(),
        vec!["/pool/installer.iso", "/pool/shared.qcow2"]
    );
}

#[test]
fn a_transient_vm_is_gone_once_stopped() {
    let hv = Arc::new(FakeHypervisor::new());
    let mut d = vm("u-1", "web-1", RunState::Running, Some(expired_xml()));
    d.raw.persistent = false;
    hv.put(d);
    let env = Env::new(hv, false);
    let r = env.run("u-1", "web-1", cleanup(false, 60));
    assert_eq!(
        r.outcome,
        Outcome::Ok("cleaned up web-1: shut down after 0s, gone once stopped (transient)".into())
    );
    assert_eq!(env.mutating(), vec!["shutdown u-1"]);
}

fn crashed(meta: Option<String>) -> Env {
    let env = one(RunState::Shutoff, meta);
    env.hv
        .update("u-1", |d| d.raw.reason = ShutoffReason::Crashed.into());
    env
}

#[test]
fn restart_by_policy_counts_the_restart() {
    let env = crashed(Some(meta_xml(|m| m.state.restart_count = 1)));
    let before = env.clock.now().timestamp();
    let r = env.run("u-1", "web-1", Op::RestartByPolicy);
    assert_eq!(
        r.outcome,
        Outcome::Ok("restarted web-1 (restart 2 of 5)".into())
    );
    assert_eq!(env.mutating(), vec!["start u-1", "set_metadata u-1"]);
    let m = env.meta("u-1");
    assert_eq!(m.state.restart_count, 2);
    assert!(m.persistence.last_state_change.is_some_and(|t| t >= before));
    let e = env.last_entry();
    assert_eq!((e.action.as_str(), e.result.as_str()), ("restart", "ok"));
    assert_eq!(e.detail.unwrap()["restart_count"], 2);

    // Now it runs: a second restart is refused.
    env.hv.clear_calls();
    let r = env.run("u-1", "web-1", Op::RestartByPolicy);
    assert_eq!(r.outcome, Outcome::Refused("already running".into()));
    assert!(env.mutating().is_empty());
}

#[test]
fn restart_without_metadata_starts_counting_when_every_vm_is_managed() {
    let hv = Arc::new(FakeHypervisor::new());
    let mut d = vm("u-1", "web-1", RunState::Shutoff, None);
    d.raw.reason = ShutoffReason::Crashed.into();
    hv.put(d);
    let env = Env::with_options(
        hv,
        ExecOptions {
            dry_run: false,
            manage_all_vms: true,
        },
    );
    let r = env.run("u-1", "web-1", Op::RestartByPolicy);
    assert_eq!(
        r.outcome,
        Outcome::Ok("restarted web-1 (restart 1 of 5)".into())
    );
    assert_eq!(env.meta("u-1").state.restart_count, 1);
}

#[test]
fn restart_refusals() {
    let no = meta_xml(|m| m.persistence.restart_policy = RestartPolicy::No);
    let spent = meta_xml(|m| m.state.restart_count = 5);
    for (meta, want) in [
        (no, "restart_policy = no"),
        (spent, "5 restarts in a row reached max_retries = 5"),
        (expired_xml(), "expired: left stopped for cleanup"),
    ] {
        let env = crashed(Some(meta));
        let r = env.run("u-1", "web-1", Op::RestartByPolicy);
        assert_eq!(r.outcome, Outcome::Refused(want.into()));
        assert!(env.mutating().is_empty());
    }
    let env = crashed(None);
    let r = env.run("u-1", "web-2", Op::RestartByPolicy);
    assert_eq!(
        r.outcome,
        Outcome::Refused("domain u-1 is now named web-1, not web-2".into())
    );
}

#[test]
fn restart_dry_run() {
    let hv = Arc::new(FakeHypervisor::new());
    hv.put(vm(
        "u-1",
        "web-1",
        RunState::Shutoff,
        Some(meta_xml(|_| {})),
    ));
    let env = Env::new(hv, true);
    let r = env.run("u-1", "web-1", Op::RestartByPolicy);
    assert_eq!(
        r.outcome,
        Outcome::DryRun("restart web-1 (restart 1 of 5)".into())
    );
    assert!(env.mutating().is_empty());
}

#[test]
fn reset_restart_count() {
    let env = one(
        RunState::Running,
        Some(meta_xml(|m| m.state.restart_count = 3)),
    );
    let r = env.run("u-1", "web-1", Op::ResetRestartCount);
    assert_eq!(
        r.outcome,
        Outcome::Ok("reset the restart count of web-1 (was 3)".into())
    );
    assert_eq!(env.meta("u-1").state.restart_count, 0);
    assert_eq!(env.mutating(), vec!["set_metadata u-1"]);
    env.hv.clear_calls();
    let r = env.run("u-1", "web-1", Op::ResetRestartCount);
    assert_eq!(
        r.outcome,
        Outcome::Ok("the restart count of web-1 is already 0".into())
    );
    assert!(env.mutating().is_empty());

    let env = one(RunState::Running, None);
    let r = env.run("u-1", "web-1", Op::ResetRestartCount);
    assert_eq!(
        r.outcome,
        Outcome::Ok("web-1 has no restart count to reset".into())
    );
    assert!(env.mutating().is_empty());
}

#[test]
fn start_stamps_last_state_change_only_in_existing_metadata() {
    let env = one(RunState::Shutoff, Some(meta_xml(|_| {})));
    let before = env.clock.now().timestamp();
    let r = env.run("u-1", "web-1", Op::Start);
    assert_eq!(r.outcome, Outcome::Ok("started web-1".into()));
    assert_eq!(env.mutating(), vec!["start u-1", "set_metadata u-1"]);
    assert!(env
        .meta("u-1")
        .persistence
        .last_state_change
        .is_some_and(|t| t >= before));

    let env = one(RunState::Shutoff, None);
    env.run("u-1", "web-1", Op::Start);
    assert_eq!(env.mutating(), vec!["start u-1"]);
    assert_eq!(env.hv.metadata("u-1").unwrap(), None);
}

// ---- property tests ----

/// The kinds of metadata a VM in the property tests has.
#[derive(Debug, Clone, Copy)]
enum MetaKind {
    None,
    Permanent,
    Expired,
    ExpiredManual,
    Live,
    NeverStamped,
    ExtendedFuture,
    ScheduledPast,
    ZeroTtl,
    Invalid,
}

fn meta_of(kind: MetaKind, restart_count: u32, now: i64) -> Option<String> {
    let temp = |f: &dyn Fn(&mut VmPersistence)| {
        Some(meta_xml(|m| {
            m.persistence.mode = PersistenceMode::Temporary;
            m.persistence.ttl_hours = 1.0;
            m.persistence.created_at_unix = Some(now - 7200);
            m.state.restart_count = restart_count;
            f(&mut m.persistence);
        }))
    };
    match kind {
        MetaKind::None => None,
        MetaKind::Permanent => Some(meta_xml(|m| {
            m.persistence.created_at_unix = Some(now - 7200);
            m.state.restart_count = restart_count;
        })),
        MetaKind::Expired => temp(&|_| {}),
        MetaKind::ExpiredManual => temp(&|p| p.auto_cleanup = false),
        MetaKind::Live => temp(&|p| p.ttl_hours = 48.0),
        MetaKind::NeverStamped => temp(&|p| p.created_at_unix = None),
        MetaKind::ExtendedFuture => temp(&|p| p.scheduled_cleanup = Some(now + 86_400)),
        MetaKind::ScheduledPast => temp(&|p| p.scheduled_cleanup = Some(now - 10)),
        // The shortest valid TTL is more than 0 (model::ranges): expiring right now.
        MetaKind::ZeroTtl => temp(&|p| {
            p.ttl_hours = 1.0;
            p.created_at_unix = Some(now - 3600);
        }),
        MetaKind::Invalid => Some(
            r#"<lifecycle xmlns="urn:vmlife:lifecycle:1"><persistence mode="temporary" ttl_hours="-1"/></lifecycle>"#
                .into(),
        ),
    }
}

fn meta_kind() -> impl Strategy<Value = MetaKind> {
    use MetaKind::*;
    proptest::sample::select(vec![
        None,
        Permanent,
        Expired,
        ExpiredManual,
        Live,
        NeverStamped,
        ExtendedFuture,
        ScheduledPast,
        ZeroTtl,
        Invalid,
    ])
}

#[derive(Debug, Clone)]
struct VmSpec {
    state: RunState,
    persistent: bool,
    on_shutdown: OnShutdown,
    meta: MetaKind,
    restart_count: u32,
}

fn vm_spec() -> impl Strategy<Value = VmSpec> {
    (
        proptest::sample::select(vec![RunState::Running, RunState::Paused, RunState::Shutoff]),
        any::<bool>(),
        proptest::sample::select(vec![
            OnShutdown::PowerOff,
            OnShutdown::Ignore,
            OnShutdown::Fail,
        ]),
        meta_kind(),
        0u32..7,
    )
        .prop_map(
            |(state, persistent, on_shutdown, meta, restart_count)| VmSpec {
                state,
                persistent,
                on_shutdown,
                meta,
                restart_count,
            },
        )
}

fn any_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Start),
        Just(Op::Shutdown),
        Just(Op::Reboot),
        Just(Op::Destroy),
        Just(Op::Suspend),
        Just(Op::Resume),
        Just(Op::ManagedSave),
        Just(Op::Undefine),
        proptest::sample::select(vec![0.5, 1.0, 24.0]).prop_map(|hours| Op::ExtendTtl { hours }),
        proptest::sample::select(vec![PersistenceMode::Permanent, PersistenceMode::Temporary])
            .prop_map(|mode| Op::SetMode { mode }),
        (any::<bool>(), 0u64..90, any::<bool>()).prop_map(
            |(force, grace_seconds, remove_storage)| Op::Cleanup {
                force,
                grace_seconds,
                remove_storage
            }
        ),
        Just(Op::RestartByPolicy),
        Just(Op::ResetRestartCount),
    ]
}

/// A command: which VM (3 = a UUID that does not exist), whether the name is right, op.
fn any_command() -> impl Strategy<Value = (usize, bool, Op)> {
    (0usize..4, proptest::bool::weighted(0.9), any_op())
}

/// Three VMs from `specs`, each with a disk volume.
fn fake_from(specs: &[VmSpec], now: i64) -> Arc<FakeHypervisor> {
    let hv = Arc::new(FakeHypervisor::new());
    for (i, s) in specs.iter().enumerate() {
        let (uuid, name) = (format!("u-{i}"), format!("vm-{i}"));
        let mut d = vm(&uuid, &name, s.state, meta_of(s.meta, s.restart_count, now));
        d.raw.persistent = s.persistent;
        let path = format!("/pool/{name}.qcow2");
        d.details.disks = vec![disk("vda", &path, "disk")];
        hv.add_volume(&path);
        hv.put(d);
        hv.on_shutdown(&uuid, s.on_shutdown);
    }
    hv
}

fn command(i: usize, right_name: bool, op: Op) -> Command {
    let name = if right_name {
        format!("vm-{i}")
    } else {
        format!("other-{i}")
    };
    Command::new(format!("u-{i}"), name, op, "proptest")
}

/// Whether a cleanup of `uuid` is due right now, from what the fake holds.
fn due(hv: &FakeHypervisor, uuid: &str, now: i64) -> bool {
    let Ok(Some(xml)) = hv.metadata(uuid) else {
        return false;
    };
    let Ok(m) = metadata::parse(&xml) else {
        return false;
    };
    let p = &m.persistence;
    p.mode == PersistenceMode::Temporary
        && p.auto_cleanup
        && matches!(ttl::status(p, now, now), TtlStatus::Expired { .. })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Dry run: whatever the commands and the VMs, no mutating call and no change.
    #[test]
    fn dry_run_never_mutates(
        specs in proptest::collection::vec(vm_spec(), 3),
        cmds in proptest::collection::vec(any_command(), 1..12),
    ) {
        let hv = fake_from(&specs, now());
        let before: Vec<_> = (0..3).map(|i| hv.metadata(&format!("u-{i}")).unwrap()).collect();
        let env = Env::new(hv, true);
        for (i, right, op) in cmds {
            let r = env.ex.run_now(command(i, right, op), Actor::Engine);
            prop_assert!(
                !matches!(r.outcome, Outcome::Ok(ref m) if m.starts_with("cleaned up")
                    || m.starts_with("restarted")),
                "a dry run reported doing something: {}", r
            );
        }
        prop_assert_eq!(env.mutating(), Vec::<String>::new());
        prop_assert_eq!(env.clock.slept(), Duration::ZERO);
        let after: Vec<_> = (0..3).map(|i| env.hv.metadata(&format!("u-{i}")).unwrap()).collect();
        prop_assert_eq!(before, after);
        prop_assert_eq!(env.hv.volumes().len(), 3);
    }

    /// A cleanup never stops, destroys, undefines or deletes storage of a VM that is not
    /// due (permanent, invalid, not expired, auto_cleanup off) or not the one planned.
    #[test]
    fn cleanup_never_touches_a_vm_that_is_not_due(
        specs in proptest::collection::vec(vm_spec(), 3),
        cmds in proptest::collection::vec(any_command(), 1..12),
    ) {
        let env = Env::new(fake_from(&specs, now()), false);
        for (i, right, op) in cmds {
            let is_cleanup = matches!(op, Op::Cleanup { .. });
            let uuid = format!("u-{i}");
            let allowed = right
                && env.hv.lookup(&uuid).is_ok_and(|d| d.uuid == uuid)
                && due(&env.hv, &uuid, env.clock.now().timestamp());
            let seen = env.hv.calls().len();
            let r = env.ex.run_now(command(i, right, op), Actor::Engine);
            let calls = env.hv.calls()[seen..].to_vec();
            if is_cleanup && !allowed {
                let bad: Vec<_> = calls.iter().filter(|c| is_one_of(c, DESTRUCTIVE)).collect();
                prop_assert!(bad.is_empty(), "cleanup of a VM not due called {:?}: {}", bad, r);
                prop_assert!(!r.outcome.is_ok(), "{}", r);
            }
            if is_cleanup {
                // Whatever happened, only this VM was acted on.
                for c in calls.iter().filter(|c| is_one_of(c, &["shutdown", "destroy", "undefine"])) {
                    prop_assert!(c.ends_with(&format!(" {uuid}")), "{} during a cleanup of {}", c, uuid);
                }
                for c in calls.iter().filter(|c| is_one_of(c, &["delete_volume"])) {
                    prop_assert_eq!(c, &format!("delete_volume /pool/vm-{i}.qcow2"));
                }
            }
        }
    }
}
