//! Executor tests on the fake hypervisor, with a wrapper that delays and times the
//! mutating calls so ordering and overlap can be asserted.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use super::*;
use crate::hypervisor::fake::{running, FakeHypervisor};
use crate::hypervisor::{DomainDetails, HvResult, RawDomain, StatsGroups, Uuid, VmRef};
use crate::metadata::{self, LifecycleMeta};
use crate::model::{PersistenceMode, VmPersistence};

mod journal_gate;
mod limits;
mod policy;

/// One timed mutating call.
#[derive(Debug, Clone)]
struct Span {
    call: String,
    start: Instant,
    end: Instant,
}

/// Delegates to a [`FakeHypervisor`], sleeping `delay` inside every mutating call and
/// recording when each began and ended.
struct Slow {
    inner: Arc<FakeHypervisor>,
    delay: Duration,
    spans: Mutex<Vec<Span>>,
}

impl Slow {
    fn new(inner: Arc<FakeHypervisor>, delay: Duration) -> Self {
        Slow {
            inner,
            delay,
            spans: Mutex::new(Vec::new()),
        }
    }

    fn timed(&self, call: &str, uuid: &str, f: impl FnOnce() -> HvResult<()>) -> HvResult<()> {
        let start = Instant::now();
        std::thread::sleep(self.delay);
        let r = f();
        self.spans.lock().unwrap().push(Span {
            call: format!("{call} {uuid}"),
            start,
            end: Instant::now(),
        });
        r
    }

    fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap().clone()
    }
}

impl Hypervisor for Slow {
    fn uri(&self) -> &str {
        self.inner.uri()
    }
    fn is_readonly(&self) -> bool {
        self.inner.is_readonly()
    }
    fn poll(&self, groups: StatsGroups) -> HvResult<Vec<RawDomain>> {
        self.inner.poll(groups)
    }
    fn lookup(&self, name_or_uuid: &str) -> HvResult<VmRef> {
        self.inner.lookup(name_or_uuid)
    }
    fn details(&self, uuid: &str) -> HvResult<DomainDetails> {
        self.inner.details(uuid)
    }
    fn addresses(&self, uuid: &str) -> HvResult<Vec<String>> {
        self.inner.addresses(uuid)
    }
    fn metadata(&self, uuid: &str) -> HvResult<Option<String>> {
        self.inner.metadata(uuid)
    }
    fn set_metadata(&self, uuid: &str, xml: Option<&str>) -> HvResult<()> {
        self.timed("set_metadata", uuid, || self.inner.set_metadata(uuid, xml))
    }
    fn start(&self, uuid: &str) -> HvResult<()> {
        self.timed("start", uuid, || self.inner.start(uuid))
    }
    fn shutdown(&self, uuid: &str) -> HvResult<()> {
        self.timed("shutdown", uuid, || self.inner.shutdown(uuid))
    }
    fn reboot(&self, uuid: &str) -> HvResult<()> {
        self.timed("reboot", uuid, || self.inner.reboot(uuid))
    }
    fn destroy(&self, uuid: &str) -> HvResult<()> {
        self.timed("destroy", uuid, || self.inner.destroy(uuid))
    }
    fn suspend(&self, uuid: &str) -> HvResult<()> {
        self.timed("suspend", uuid, || self.inner.suspend(uuid))
    }
    fn resume(&self, uuid: &str) -> HvResult<()> {
        self.timed("resume", uuid, || self.inner.resume(uuid))
    }
    fn managed_save(&self, uuid: &str) -> HvResult<()> {
        self.timed("managed_save", uuid, || self.inner.managed_save(uuid))
    }
    fn undefine(&self, uuid: &str) -> HvResult<()> {
        self.timed("undefine", uuid, || self.inner.undefine(uuid))
    }
    fn define(&self, xml: &str) -> HvResult<Uuid> {
        self.inner.define(xml)
    }
    fn delete_volume(&self, path: &str) -> HvResult<bool> {
        self.inner.delete_volume(path)
    }
}

/// A fake with `web-1` (u-1) and `web-2` (u-2) running.
fn fake() -> Arc<FakeHypervisor> {
    let hv = Arc::new(FakeHypervisor::new());
    hv.put(running("u-1", "web-1"));
    hv.put(running("u-2", "web-2"));
    hv
}

fn setup(
    hv: Arc<dyn Hypervisor>,
    dry_run: bool,
) -> (Executor, Arc<Journal>, UnboundedReceiver<ExecResult>) {
    let journal = Arc::new(Journal::in_memory());
    let (tx, rx) = unbounded_channel();
    let ex = Executor::with_options(
        hv,
        Arc::clone(&journal),
        tx,
        ExecOptions {
            dry_run,
            ..Default::default()
        },
    );
    (ex, journal, rx)
}

fn cmd(uuid: &str, name: &str, op: Op) -> Command {
    Command::new(uuid, name, op, "test")
}

fn alice() -> Actor {
    Actor::Dashboard("alice".into())
}

/// Metadata of a temporary VM created `age` seconds ago with a `ttl_hours` TTL.
fn temporary_meta(age: i64, ttl_hours: f64) -> String {
    metadata::to_xml(&LifecycleMeta {
        persistence: VmPersistence {
            mode: PersistenceMode::Temporary,
            ttl_hours,
            created_at_unix: Some(Utc::now().timestamp() - age),
            ..VmPersistence::default()
        },
        ..LifecycleMeta::default()
    })
}

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
];

fn mutating_calls(hv: &FakeHypervisor) -> Vec<String> {
    hv.calls()
        .into_iter()
        .filter(|c| MUTATING.iter().any(|m| c.split(' ').next() == Some(m)))
        .collect()
}

/// The journal's result entries: without the `starting: …` lines written before each
/// destructive step.
fn result_entries(journal: &Journal) -> Vec<JournalEntry> {
    journal
        .read_all()
        .unwrap()
        .entries
        .into_iter()
        .filter(|e| !e.result.starts_with("starting: "))
        .collect()
}

async fn recv_n(rx: &mut UnboundedReceiver<ExecResult>, n: usize) -> Vec<ExecResult> {
    let mut out = Vec::new();
    for _ in 0..n {
        let r = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("result in time")
            .expect("channel open");
        out.push(r);
    }
    out
}

#[test]
fn each_op_calls_the_right_method() {
    let cases = [
        (Op::Start, "start", "started web-1"),
        (Op::Shutdown, "shutdown", "asked web-1 to shut down"),
        (Op::Reboot, "reboot", "rebooting web-1"),
        (Op::Destroy, "destroy", "destroyed web-1"),
        (Op::Suspend, "suspend", "suspended web-1"),
        (Op::Resume, "resume", "resumed web-1"),
        (
            Op::ManagedSave,
            "managed_save",
            "saved web-1 (managed save)",
        ),
        (Op::Undefine, "undefine", "undefined web-1"),
    ];
    for (op, call, message) in cases {
        let hv = fake();
        let (ex, journal, _rx) = setup(hv.clone(), false);
        let r = ex.run_now(cmd("u-1", "web-1", op.clone()), Actor::Cli("root".into()));
        assert_eq!(r.outcome, Outcome::Ok(message.into()), "{op:?}");
        assert_eq!(r.to_string(), message);
        assert_eq!(mutating_calls(&hv), vec![format!("{call} u-1")], "{op:?}");
        let entries = result_entries(&journal);
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!(
            (e.actor.as_str(), e.action.as_str(), e.result.as_str()),
            ("cli:root", op.name(), "ok")
        );
        assert_eq!((e.vm_id.as_str(), e.vm_name.as_str()), ("u-1", "web-1"));
        assert_eq!(e.reason, "test");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn results_arrive_on_the_channel_and_in_the_journal() {
    let hv = fake();
    let (ex, journal, mut rx) = setup(hv.clone(), false);
    let a = ex.submit(cmd("u-1", "web-1", Op::Destroy), alice());
    let b = ex.submit(cmd("u-2", "web-2", Op::Suspend), Actor::Engine);
    assert_ne!(a, b);
    let mut results = recv_n(&mut rx, 2).await;
    results.sort_by_key(|r| r.job);
    assert_eq!(results[0].job, a);
    assert_eq!(results[0].outcome, Outcome::Ok("destroyed web-1".into()));
    assert_eq!(results[0].actor, alice());
    assert_eq!(results[1].job, b);
    assert_eq!(results[1].journal_error, None);
    let mut entries = result_entries(&journal);
    entries.sort_by(|x, y| x.vm_id.cmp(&y.vm_id));
    let lines: Vec<_> = entries
        .iter()
        .map(|e| format!("{} {} {} {}", e.actor, e.action, e.vm_id, e.result))
        .collect();
    assert_eq!(
        lines,
        vec!["dashboard:alice destroy u-1 ok", "engine suspend u-2 ok"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn same_vm_commands_run_one_at_a_time_in_order() {
    let fake = fake();
    let slow = Arc::new(Slow::new(fake, Duration::from_millis(40)));
    let (ex, journal, mut rx) = setup(slow.clone(), false);
    let ops = [Op::Start, Op::Suspend, Op::Resume, Op::Reboot, Op::Shutdown];
    let jobs: Vec<JobId> = ops
        .iter()
        .map(|op| ex.submit(cmd("u-1", "web-1", op.clone()), alice()))
        .collect();
    let results = recv_n(&mut rx, ops.len()).await;
    assert_eq!(results.iter().map(|r| r.job).collect::<Vec<_>>(), jobs);
    let spans = slow.spans();
    let calls: Vec<_> = spans.iter().map(|s| s.call.as_str()).collect();
    assert_eq!(
        calls,
        vec![
            "start u-1",
            "suspend u-1",
            "resume u-1",
            "reboot u-1",
            "shutdown u-1"
        ]
    );
    for pair in spans.windows(2) {
        assert!(pair[0].end <= pair[1].start, "overlap: {pair:?}");
    }
    let actions: Vec<_> = result_entries(&journal)
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        ["start", "suspend", "resume", "reboot", "shutdown"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn different_vms_run_in_parallel() {
    let slow = Arc::new(Slow::new(fake(), Duration::from_millis(300)));
    let (ex, _journal, mut rx) = setup(slow.clone(), false);
    ex.submit(cmd("u-1", "web-1", Op::Destroy), alice());
    ex.submit(cmd("u-2", "web-2", Op::Destroy), alice());
    recv_n(&mut rx, 2).await;
    let spans = slow.spans();
    assert_eq!(spans.len(), 2);
    let (a, b) = (&spans[0], &spans[1]);
    assert!(a.start < b.end && b.start < a.end, "no overlap: {spans:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn busy_while_queued_then_forgotten() {
    let slow = Arc::new(Slow::new(fake(), Duration::from_millis(150)));
    let (ex, _journal, mut rx) = setup(slow, false);
    assert!(ex.busy().is_empty());
    ex.submit(cmd("u-1", "web-1", Op::Start), alice());
    ex.submit(cmd("u-1", "web-1", Op::Suspend), alice());
    assert!(ex.is_busy("u-1"));
    assert!(!ex.is_busy("u-2"));
    assert_eq!(ex.busy(), vec!["u-1".to_string()]);
    recv_n(&mut rx, 2).await;
    // The worker removes the VM just after sending the last result.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ex.busy().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(ex.busy().is_empty(), "map entry leaked: {:?}", ex.busy());
}

#[tokio::test(flavor = "multi_thread")]
async fn run_now_waits_behind_queued_commands() {
    let slow = Arc::new(Slow::new(fake(), Duration::from_millis(100)));
    let (ex, _journal, mut rx) = setup(slow.clone(), false);
    ex.submit(cmd("u-1", "web-1", Op::Start), alice());
    let ex2 = ex.clone();
    let r = tokio::task::spawn_blocking(move || {
        ex2.run_now(cmd("u-1", "web-1", Op::Suspend), Actor::Cli("root".into()))
    })
    .await
    .unwrap();
    assert_eq!(r.outcome, Outcome::Ok("suspended web-1".into()));
    // Only the submitted command's result is on the channel.
    let first = recv_n(&mut rx, 1).await;
    assert_eq!(first[0].cmd.op, Op::Start);
    assert!(rx.try_recv().is_err());
    let spans = slow.spans();
    assert_eq!(spans[0].call, "start u-1");
    assert_eq!(spans[1].call, "suspend u-1");
    assert!(spans[0].end <= spans[1].start);
}

#[test]
fn submit_outside_a_runtime_uses_a_thread() {
    let (ex, _journal, mut rx) = setup(fake(), false);
    ex.submit(cmd("u-1", "web-1", Op::Destroy), alice());
    let r = rx.blocking_recv().unwrap();
    assert_eq!(r.outcome, Outcome::Ok("destroyed web-1".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn renamed_uuid_is_refused_without_a_call() {
    let hv = fake();
    hv.update("u-1", |d| d.raw.name = "web-1-old".into());
    let (ex, journal, mut rx) = setup(hv.clone(), false);
    ex.submit(cmd("u-1", "web-1", Op::Destroy), alice());
    let r = recv_n(&mut rx, 1).await.remove(0);
    assert_eq!(
        r.outcome,
        Outcome::Refused("domain u-1 is now named web-1-old, not web-1".into())
    );
    assert_eq!(
        r.to_string(),
        "destroy web-1 refused: domain u-1 is now named web-1-old, not web-1"
    );
    assert!(mutating_calls(&hv).is_empty());
    let e = &journal.read_all().unwrap().entries[0];
    assert_eq!(
        e.result,
        "refused: domain u-1 is now named web-1-old, not web-1"
    );
}

#[test]
fn vanished_vm_is_refused_without_a_call() {
    let hv = fake();
    let (ex, journal, _rx) = setup(hv.clone(), false);
    for op in [Op::Destroy, Op::Undefine, Op::ExtendTtl { hours: 1.0 }] {
        let r = ex.run_now(cmd("u-9", "gone-1", op), alice());
        assert_eq!(
            r.outcome,
            Outcome::Refused("domain gone-1 (u-9) no longer exists".into())
        );
    }
    assert!(mutating_calls(&hv).is_empty());
    assert!(journal
        .read_all()
        .unwrap()
        .entries
        .iter()
        .all(|e| e.result == "refused: domain gone-1 (u-9) no longer exists"));
}

#[test]
fn hypervisor_errors_are_failures() {
    // Start is not re-checked, so a missing domain reaches the hypervisor.
    let hv = fake();
    let (ex, journal, _rx) = setup(hv, false);
    let r = ex.run_now(cmd("u-9", "gone-1", Op::Start), alice());
    assert_eq!(
        r.outcome,
        Outcome::Failed("no domain with UUID \"u-9\"".into())
    );
    assert_eq!(
        r.to_string(),
        "start gone-1 failed: no domain with UUID \"u-9\""
    );
    assert_eq!(
        journal.read_all().unwrap().entries[0].result,
        "error: no domain with UUID \"u-9\""
    );
}

#[test]
fn dry_run_makes_no_mutating_calls() {
    let hv = fake();
    let meta = temporary_meta(3600, 2.0);
    hv.update("u-2", |d| d.metadata = Some(meta.clone()));
    let (ex, journal, _rx) = setup(hv.clone(), true);
    assert!(ex.options().dry_run);
    let cmds = [
        cmd("u-1", "web-1", Op::Destroy),
        cmd("u-1", "web-1", Op::Start),
        cmd("u-1", "web-1", Op::Undefine),
        cmd("u-2", "web-2", Op::ExtendTtl { hours: 1.0 }),
        cmd(
            "u-1",
            "web-1",
            Op::SetMode {
                mode: PersistenceMode::Temporary,
            },
        ),
    ];
    for c in cmds {
        let r = ex.run_now(c.clone(), alice());
        assert_eq!(r.outcome, Outcome::DryRun(c.op.describe()), "{c:?}");
    }
    assert_eq!(mutating_calls(&hv), Vec::<String>::new());
    let results: Vec<_> = journal
        .read_all()
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.result)
        .collect();
    assert_eq!(
        results,
        vec![
            "dry run: would destroy (hard power-off)",
            "dry run: would start",
            "dry run: would undefine (remove the domain definition)",
            "dry run: would extend TTL by 1h",
            "dry run: would make temporary",
        ]
    );
    // Nothing changed.
    let after = hv.details("u-2").unwrap().lifecycle_xml;
    assert_eq!(after.as_deref(), Some(meta.as_str()));
    assert!(hv.lookup("u-1").is_ok());
}

#[test]
fn extend_ttl_moves_scheduled_cleanup() {
    let hv = fake();
    hv.update("u-1", |d| d.metadata = Some(temporary_meta(3600, 2.0)));
    let (ex, journal, _rx) = setup(hv.clone(), false);
    let before = Utc::now().timestamp();
    let r = ex.run_now(cmd("u-1", "web-1", Op::ExtendTtl { hours: 2.0 }), alice());
    let after = Utc::now().timestamp();
    assert!(r.outcome.is_ok(), "{r}");
    assert!(r
        .to_string()
        .starts_with("extended web-1 TTL by 2h (expires "));
    let xml = hv.metadata("u-1").unwrap();
    let meta = metadata::parse_or_default(xml.as_deref()).unwrap();
    // Created an hour ago with 2h: expired at +1h, now at +3h.
    let at = meta.persistence.scheduled_cleanup.unwrap();
    assert!(
        (before + 3 * 3600 - 1..=after + 3 * 3600 + 1).contains(&at),
        "{at}"
    );
    assert_eq!(meta.persistence.mode, PersistenceMode::Temporary);
    let entries = journal.read_all().unwrap().entries;
    assert_eq!(entries[0].result, "starting: write metadata");
    let e = &entries[1];
    assert_eq!(e.result, "ok");
    assert_eq!(e.action, "extend_ttl");
    let detail = e.detail.as_ref().unwrap();
    assert_eq!(detail["scheduled_cleanup"], at);
    assert_eq!(detail["hours"], 2.0);
}

#[test]
fn set_expiry_writes_scheduled_cleanup_and_refuses_permanent() {
    let hv = fake();
    hv.update("u-1", |d| d.metadata = Some(temporary_meta(3600, 2.0)));
    let (ex, journal, _rx) = setup(hv.clone(), false);
    let r = ex.run_now(
        cmd("u-1", "web-1", Op::SetExpiry { at: 1_900_000_000 }),
        alice(),
    );
    assert!(r.outcome.is_ok(), "{r}");
    assert_eq!(r.to_string(), "web-1 now expires 2030-03-17 17:46 UTC");
    let xml = hv.metadata("u-1").unwrap();
    let meta = metadata::parse_or_default(xml.as_deref()).unwrap();
    assert_eq!(meta.persistence.scheduled_cleanup, Some(1_900_000_000));
    assert_eq!(journal.read_all().unwrap().entries[0].action, "set_expiry");
    // A permanent VM has no TTL to set.
    let r = ex.run_now(
        cmd("u-2", "web-2", Op::SetExpiry { at: 1_900_000_000 }),
        alice(),
    );
    assert!(matches!(r.outcome, Outcome::Refused(_)), "{r}");
}

#[test]
fn stamp_created_at_writes_only_a_missing_stamp() {
    let hv = fake();
    let mut m = LifecycleMeta::default();
    m.persistence.mode = PersistenceMode::Temporary;
    hv.update("u-1", |d| d.metadata = Some(metadata::to_xml(&m)));
    let (ex, _journal, _rx) = setup(hv.clone(), false);
    let r = ex.run_now(
        cmd("u-1", "web-1", Op::StampCreatedAt { at: 1_800_000_000 }),
        alice(),
    );
    assert!(r.outcome.is_ok(), "{r}");
    let read = |hv: &Arc<FakeHypervisor>| {
        metadata::parse_or_default(hv.metadata("u-1").unwrap().as_deref()).unwrap()
    };
    assert_eq!(read(&hv).persistence.created_at_unix, Some(1_800_000_000));
    // A stamp that is already there is never moved.
    let r = ex.run_now(cmd("u-1", "web-1", Op::StampCreatedAt { at: 5 }), alice());
    assert_eq!(r.to_string(), "web-1 needs no first-seen stamp");
    assert_eq!(read(&hv).persistence.created_at_unix, Some(1_800_000_000));
}

#[test]
fn extend_ttl_without_created_at_counts_from_now_and_stamps_it() {
    let hv = fake();
    let meta = metadata::to_xml(&LifecycleMeta {
        persistence: VmPersistence {
            mode: PersistenceMode::Temporary,
            ttl_hours: 1.0,
            ..VmPersistence::default()
        },
        ..LifecycleMeta::default()
    });
    hv.update("u-1", |d| d.metadata = Some(meta));
    let (ex, _journal, _rx) = setup(hv.clone(), false);
    let now = Utc::now().timestamp();
    let r = ex.run_now(cmd("u-1", "web-1", Op::ExtendTtl { hours: 1.0 }), alice());
    assert!(r.outcome.is_ok(), "{r}");
    let p = metadata::parse_or_default(hv.metadata("u-1").unwrap().as_deref())
        .unwrap()
        .persistence;
    let created = p.created_at_unix.unwrap();
    assert!((now..=now + 2).contains(&created));
    assert_eq!(p.scheduled_cleanup, Some(created + 2 * 3600));
}

#[test]
fn extend_ttl_on_permanent_is_refused() {
    let hv = fake();
    let (ex, journal, _rx) = setup(hv.clone(), false);
    let r = ex.run_now(cmd("u-1", "web-1", Op::ExtendTtl { hours: 1.0 }), alice());
    assert_eq!(
        r.outcome,
        Outcome::Refused("permanent VMs have no TTL".into())
    );
    assert_eq!(
        r.to_string(),
        "extend TTL of web-1 by 1h refused: permanent VMs have no TTL"
    );
    assert!(mutating_calls(&hv).is_empty());
    assert_eq!(
        journal.read_all().unwrap().entries[0].result,
        "refused: permanent VMs have no TTL"
    );
}

#[test]
fn extend_ttl_by_nonsense_hours_is_refused() {
    let hv = fake();
    hv.update("u-1", |d| d.metadata = Some(temporary_meta(0, 1.0)));
    let (ex, _journal, _rx) = setup(hv.clone(), false);
    for hours in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let r = ex.run_now(cmd("u-1", "web-1", Op::ExtendTtl { hours }), alice());
        assert!(matches!(r.outcome, Outcome::Refused(_)), "{hours}: {r}");
    }
    assert!(mutating_calls(&hv).is_empty());
}

#[test]
fn invalid_metadata_is_refused() {
    let hv = fake();
    let bad =
        r#"<lifecycle xmlns="urn:vmlife:lifecycle:1"><persistence mode="sometimes"/></lifecycle>"#;
    hv.update("u-1", |d| d.metadata = Some(bad.into()));
    let (ex, _journal, _rx) = setup(hv.clone(), false);
    for op in [
        Op::ExtendTtl { hours: 1.0 },
        Op::SetMode {
            mode: PersistenceMode::Permanent,
        },
    ] {
        let r = ex.run_now(cmd("u-1", "web-1", op), alice());
        let Outcome::Refused(why) = &r.outcome else {
            panic!("not refused: {r}");
        };
        assert!(why.starts_with("invalid policy: "), "{why}");
        assert!(why.contains("sometimes"), "{why}");
        assert!(why.ends_with("; fix it with `vmlife set --reset`"), "{why}");
    }
    assert!(mutating_calls(&hv).is_empty());
    assert_eq!(hv.metadata("u-1").unwrap().as_deref(), Some(bad));
}

#[test]
fn set_mode_writes_metadata_once() {
    let hv = fake();
    let (ex, journal, _rx) = setup(hv.clone(), false);
    let temporary = Op::SetMode {
        mode: PersistenceMode::Temporary,
    };
    let now = Utc::now().timestamp();
    let r = ex.run_now(cmd("u-1", "web-1", temporary.clone()), alice());
    assert_eq!(r.outcome, Outcome::Ok("made web-1 temporary".into()));
    let p = metadata::parse_or_default(hv.metadata("u-1").unwrap().as_deref())
        .unwrap()
        .persistence;
    assert_eq!(p.mode, PersistenceMode::Temporary);
    assert!(p.created_at_unix.is_some_and(|c| c >= now));
    // Already temporary: nothing to write.
    hv.clear_calls();
    let r = ex.run_now(cmd("u-1", "web-1", temporary), alice());
    assert_eq!(r.outcome, Outcome::Ok("web-1 is already temporary".into()));
    assert!(mutating_calls(&hv).is_empty());
    let entries = journal.read_all().unwrap().entries;
    // "starting: write metadata", its result, then the no-op.
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].result, "starting: write metadata");
    let detail = entries[1].detail.as_ref().unwrap();
    assert_eq!(detail["mode"], "temporary");
    assert_eq!(detail["previous_mode"], "permanent");
}

#[test]
fn journal_failure_keeps_the_result() {
    // A step that is not destructive still runs (a destructive one does not: see
    // journal_gate_tests); its result stands and says it was not journaled.
    let hv = fake();
    let (tx, _rx) = unbounded_channel();
    let ex = Executor::new(hv.clone(), Arc::new(Journal::broken()), tx);
    let r = ex.run_now(cmd("u-1", "web-1", Op::Suspend), alice());
    assert_eq!(r.outcome, Outcome::Ok("suspended web-1".into()));
    assert_eq!(r.journal_error.as_deref(), Some("journal is broken (test)"));
    assert_eq!(
        r.to_string(),
        "suspended web-1 (not journaled: journal is broken (test))"
    );
    assert_eq!(mutating_calls(&hv), vec!["suspend u-1"]);
}

#[test]
fn dry_run_result_text() {
    let (ex, _journal, _rx) = setup(fake(), true);
    let r = ex.run_now(cmd("u-1", "web-1", Op::ManagedSave), Actor::Engine);
    assert_eq!(r.to_string(), "dry run: would save web-1");
    assert_eq!(
        r.outcome.journal_result(),
        "dry run: would managed save (memory to disk, then stop)"
    );
}

#[test]
fn a_restart_is_refused_when_the_vmlife_element_is_gone_unless_every_vm_is_managed() {
    // The engine planned a restart of a managed VM; its element was removed before the
    // command ran: the VM is observed only now, and no element is added to it.
    for manage_all_vms in [false, true] {
        let hv = Arc::new(FakeHypervisor::new());
        hv.put(running("u-1", "plain"));
        hv.crash("u-1");
        hv.clear_calls();
        let (tx, _rx) = unbounded_channel();
        let options = ExecOptions {
            dry_run: false,
            manage_all_vms,
        };
        let ex = Executor::with_options(hv.clone(), Arc::new(Journal::in_memory()), tx, options);
        let r = ex.run_now(cmd("u-1", "plain", Op::RestartByPolicy), Actor::Engine);
        let started = hv.calls().iter().any(|c| c.starts_with("start "));
        if manage_all_vms {
            assert!(r.outcome.is_ok(), "{:?}", r.outcome);
            assert!(started);
        } else {
            assert_eq!(
                r.outcome,
                Outcome::Refused("not managed by vmlife (no vmlife element): observed only".into())
            );
            assert!(!started, "{:?}", hv.calls());
            assert_eq!(hv.metadata("u-1").unwrap(), None, "no element added");
        }
    }
}
