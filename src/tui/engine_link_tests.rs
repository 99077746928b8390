use super::*;
use crate::engine::{EngineCore, EngineSettings, EngineStore};
use crate::hypervisor::fake::{running, FakeHypervisor};
use crate::metadata::{self, LifecycleMeta};
use crate::model::PersistenceMode;
use crate::poll::{Poller, PollerOptions};
use crate::tui::keymap::Keymap;
use crate::tui::state::State;
use crate::tui::update::update;

fn link(
    dir: &Path,
    hv: &Arc<dyn Hypervisor>,
    config: &Config,
) -> (EngineLink, tokio::sync::mpsc::UnboundedReceiver<ExecResult>) {
    let journal = Arc::new(Journal::open(dir).unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let link = EngineLink::open(
        dir,
        config,
        hv.clone(),
        journal,
        tx,
        Actor::Dashboard("t".into()),
        true,
    )
    .unwrap();
    (link, rx)
}

/// Dashboard B beside dashboard A says A runs the engine, retries the lock, takes
/// it over once A quits and runs the next restart.
#[test]
fn a_second_dashboard_takes_the_engine_over_when_the_first_quits() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeHypervisor::new());
    fake.put(running("u-1", "vm-1"));
    let mut d = running("u-2", "vm-2");
    d.metadata = Some(metadata::to_xml(&LifecycleMeta::default())); // restart: always
    fake.put(d);
    let hv: Arc<dyn Hypervisor> = fake.clone();
    let config = Config::default();
    let (a, _a_rx) = link(dir.path(), &hv, &config);
    assert!(a.is_engine());
    assert_eq!(a.status, "engine: this dashboard");
    let (mut b, mut b_rx) = link(dir.path(), &hv, &config);
    assert!(!b.is_engine());
    let pid = std::process::id();
    assert_eq!(b.status, format!("engine: another dashboard pid {pid}"));

    let mut poller = Poller::new(hv.clone(), PollerOptions::default());
    let t0 = Utc::now();
    let mut state = State::new(
        "fake:///",
        Keymap::build(&Default::default(), false).unwrap(),
        t0,
    );
    let mut snap = |b: &mut EngineLink, state: &mut State, at: DateTime<Utc>| {
        state.vms = poller.poll(at).unwrap().into();
        for m in b.after_snapshot(&state.vms, at) {
            update(state, m);
        }
    };
    snap(&mut b, &mut state, t0);
    assert_eq!(state.engine, format!("engine: another dashboard pid {pid}"));

    drop(a); // A quits.
    snap(&mut b, &mut state, t0 + chrono::TimeDelta::seconds(1));
    assert!(!b.is_engine(), "not retried before LOCK_RETRY");
    snap(
        &mut b,
        &mut state,
        t0 + LOCK_RETRY + chrono::TimeDelta::seconds(1),
    );
    assert!(b.is_engine(), "taken over");
    assert_eq!(state.engine, "engine: this dashboard");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("engine.lock"))
            .unwrap()
            .trim(),
        format!("{pid} dashboard")
    );

    // The next crash is B's to handle.
    fake.update("u-2", |d| {
        d.raw.state = Some(crate::hypervisor::RunState::Shutoff);
        d.raw.reason = crate::hypervisor::ShutoffReason::Crashed.into();
    });
    snap(&mut b, &mut state, t0 + chrono::TimeDelta::seconds(10));
    let r = b_rx.blocking_recv().expect("a result");
    assert_eq!(r.cmd.op, Op::RestartByPolicy);
    assert_eq!(r.cmd.vm_id, "u-2");
    assert!(r.outcome.is_ok(), "{r}");
    assert!(
        fake.calls().iter().any(|c| c == "start u-2"),
        "{:?}",
        fake.calls()
    );
}

/// A dashboard beside a daemon says so (the role comes from the lock file).
#[test]
fn beside_a_daemon_the_header_says_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeHypervisor::new());
    let hv: Arc<dyn Hypervisor> = fake;
    let daemon = EngineLock::acquire(dir.path(), Role::Daemon).unwrap();
    let (b, _rx) = link(dir.path(), &hv, &Config::default());
    assert!(!b.is_engine());
    assert_eq!(
        b.status,
        format!("engine: daemon pid {}", std::process::id())
    );
    drop(daemon);
}

/// The cleanup pane shows exactly the plan `vmlife plan` computes: the same
/// `EngineCore::plan` on the same store, VMs and clock.
#[test]
fn the_cleanup_pane_is_the_engine_plan() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeHypervisor::new());
    for (uuid, ago) in [("u-1", 30 * 3600), ("u-2", 3600)] {
        let mut d = running(uuid, &format!("vm-{uuid}"));
        let mut m = LifecycleMeta::default();
        m.persistence.mode = PersistenceMode::Temporary;
        m.persistence.created_at_unix = Some(Utc::now().timestamp() - ago);
        d.metadata = Some(metadata::to_xml(&m));
        fake.put(d);
    }
    let hv: Arc<dyn Hypervisor> = fake.clone();
    let mut config = Config::default();
    config.cleanup.require_confirmation = true; // nothing runs: the test only compares
    let journal = Arc::new(Journal::open(dir.path()).unwrap());
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut link = EngineLink::open(
        dir.path(),
        &config,
        hv.clone(),
        journal,
        tx,
        Actor::Dashboard("t".into()),
        true,
    )
    .unwrap();
    assert!(link.is_engine(), "no daemon: the dashboard takes the lock");
    let now = Utc::now();
    let vms = Poller::new(hv, PollerOptions::default()).poll(now).unwrap();
    let mut state = State::new(
        "fake:///",
        Keymap::build(&Default::default(), false).unwrap(),
        now,
    );
    state.vms = vms.clone().into();
    for m in link.after_snapshot(&state.vms, now) {
        update(&mut state, m);
    }

    let planner = EngineCore::for_planning(
        EngineStore::new(dir.path()),
        EngineSettings::from_config(&config),
        "fake:///",
    )
    .unwrap();
    let plan = planner.plan(&vms, &RoundRequest::default(), planner.clock(now));
    let pane = state.cleanup.expect("a plan after the snapshot");
    assert_eq!(pane.lines, plan.lines);
    assert_eq!(pane.held, plan.held);
    assert_eq!(pane.lines.len(), 2);
}

/// A managed running VM of 1 GiB and 2 vCPUs, no limits set.
fn sized(fake: &FakeHypervisor) {
    let mut d = running("m", "vm-m");
    d.details.memory_max_kib = Some(1024 * 1024);
    d.details.vcpus = Some(2);
    d.metadata = Some(metadata::to_xml(&LifecycleMeta::default()));
    fake.put(d);
}

/// `[limits] apply = true`: the dashboard that runs the engine sets the drifting limits
/// through the executor (shown as pending), as the daemon does; report only by default.
#[test]
fn a_dashboard_running_the_engine_applies_limits_when_asked() {
    for apply in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let fake = Arc::new(FakeHypervisor::new());
        sized(&fake);
        let hv: Arc<dyn Hypervisor> = fake.clone();
        let mut config = Config::default();
        config.limits.apply = apply;
        let (mut l, mut rx) = link(dir.path(), &hv, &config);
        assert!(l.is_engine());
        let now = Utc::now();
        let vms = Poller::new(hv, PollerOptions::default()).poll(now).unwrap();
        let out = l.after_snapshot(&vms, now);
        let pending: Vec<&str> = out
            .iter()
            .filter_map(|m| match m {
                Msg::Pending { action, .. } => Some(action.as_str()),
                _ => None,
            })
            .collect();
        if !apply {
            assert!(pending.is_empty(), "{pending:?}");
            assert!(!fake.calls().iter().any(|c| c.starts_with("set_")));
            continue;
        }
        assert_eq!(pending, ["set_limit", "set_limit"], "memory and cpu");
        for _ in 0..2 {
            let r = rx.blocking_recv().expect("a result");
            assert!(r.outcome.is_ok(), "{r}");
            l.on_result(&r, Utc::now());
        }
        assert_eq!(fake.tunables("m").hard_limit_kib, Some(1280 * 1024));
        // Reconciled: the next snapshot sets nothing more.
        let later = now + chrono::TimeDelta::seconds(5);
        let vms = Poller::new(fake.clone(), PollerOptions::default())
            .poll(later)
            .unwrap();
        let again = l.after_snapshot(&vms, later);
        assert!(
            !again.iter().any(|m| matches!(m, Msg::Pending { .. })),
            "nothing planned twice"
        );
    }
}

/// A block-threshold event reaching the dashboard's engine: one alert per disk and
/// episode, in the cleanup pane's alerts.
#[test]
fn a_block_threshold_event_is_one_alert_in_the_dashboard_engine() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeHypervisor::new());
    sized(&fake);
    let hv: Arc<dyn Hypervisor> = fake.clone();
    let (mut l, _rx) = link(dir.path(), &hv, &Config::default());
    let ev = DomainEvent::BlockThreshold {
        uuid: "m".into(),
        name: "vm-m".into(),
        dev: "vda".into(),
        path: "/img/m.img".into(),
        threshold: 9 << 30,
        excess: 1 << 20,
    };
    let now = Utc::now();
    l.on_event(&ev, now);
    l.on_event(&ev, now);
    let vms = Poller::new(hv, PollerOptions::default()).poll(now).unwrap();
    let pane = l
        .after_snapshot(&vms, now)
        .into_iter()
        .find_map(|m| match m {
            Msg::Cleanup(c) => Some(c),
            _ => None,
        })
        .expect("the pane");
    assert_eq!(pane.alerts.len(), 1, "{:?}", pane.alerts);
    assert_eq!(pane.alerts[0].action, "disk_threshold");
    assert!(pane.alerts[0].error.contains("vda"), "{:?}", pane.alerts[0]);
}

/// The detail pane's limits: one VM's tunables read on the engine thread, the driver's
/// refusal shown, a fired threshold `reached`; a stopped VM costs no call.
#[test]
fn read_limits_reads_one_vm_and_marks_a_fired_threshold() {
    use crate::hypervisor::fake::FakeTunables;
    use crate::lifecycle::limits::{DiskTunable, LimitStatus};
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeHypervisor::new());
    sized(&fake);
    fake.update("m", |d| {
        d.details.disks = vec![crate::hypervisor::DiskInfo {
            target: "vda".into(),
            source: Some("/img/m.img".into()),
            device: "disk".into(),
        }];
    });
    let mut other = running("o", "vm-o");
    other.metadata = Some(metadata::to_xml(&LifecycleMeta::default()));
    other.raw.state = Some(crate::hypervisor::RunState::Shutoff);
    fake.put(other);
    let mut t = FakeTunables {
        hard_limit_kib: Some(1280 * 1024),
        disks: vec![DiskTunable {
            target: "vda".into(),
            capacity_bytes: Some(10 << 30),
            threshold_bytes: None,
        }],
        ..FakeTunables::default()
    };
    t.refuse.insert("cpu");
    fake.set_tunables("m", t);
    let hv: Arc<dyn Hypervisor> = fake.clone();
    let mut config = Config::default();
    config.policy.enforce_disk_limit = true;
    let (mut l, _rx) = link(dir.path(), &hv, &config);
    let now = Utc::now();
    let vms = Poller::new(hv, PollerOptions::default()).poll(now).unwrap();
    l.on_event(
        &DomainEvent::BlockThreshold {
            uuid: "m".into(),
            name: "vm-m".into(),
            dev: "vda".into(),
            path: "/img/m.img".into(),
            threshold: 9 << 30,
            excess: 1,
        },
        now,
    );
    fake.clear_calls();
    let Some(Msg::Limits(v)) = l.read_limits(&vms, "m") else {
        panic!("no limits")
    };
    let statuses: Vec<LimitStatus> = v.rows.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [LimitStatus::Ok, LimitStatus::Refused, LimitStatus::Reached]
    );
    assert_eq!(
        crate::tui::limits::summary(&v),
        "memory 1.2 GiB ok · cpu 2.00 CPU refused (not supported by this driver) · vda 90 % reached (disk nearly full)"
    );
    let mut calls = fake.calls();
    calls.sort();
    assert_eq!(
        calls,
        ["cpu_quota m", "disk_tunables m", "memory_hard_limit m"]
    );
    fake.clear_calls();
    let Some(Msg::Limits(v)) = l.read_limits(&vms, "o") else {
        panic!("no limits")
    };
    assert_eq!(crate::tui::limits::summary(&v), "skipped: not running");
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

/// While some VM's metadata is not read yet (the dashboard reads the rows in view
/// first), the engine plans and runs nothing; once every policy is read it does.
#[test]
fn nothing_is_planned_while_a_policy_is_unread() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeHypervisor::new());
    fake.put(running("u-1", "vm-1"));
    let mut d = running("u-2", "vm-2");
    d.metadata = Some(metadata::to_xml(&LifecycleMeta::default())); // restart: always
    fake.put(d);
    let hv: Arc<dyn Hypervisor> = fake.clone();
    let (mut link, mut rx) = link(dir.path(), &hv, &Config::default());
    assert!(link.is_engine());
    let mut poller = Poller::new(
        hv.clone(),
        PollerOptions {
            view: Some(crate::poll::ViewOptions {
                procfs: false,
                ..Default::default()
            }),
            ..PollerOptions::default()
        },
    );
    poller.set_view(vec!["u-1".into()]);
    let t0 = Utc::now();
    let vms = poller.poll(t0).unwrap();
    assert!(vms.iter().any(|v| v.pending));
    assert!(
        link.after_snapshot(&vms, t0).is_empty(),
        "nothing while unread"
    );
    let vms = poller.fill(10, t0);
    assert!(vms.iter().all(|v| !v.pending));
    assert!(
        !link.after_snapshot(&vms, t0).is_empty(),
        "planned once read"
    );
    fake.update("u-2", |d| {
        d.raw.state = Some(crate::hypervisor::RunState::Shutoff);
        d.raw.reason = crate::hypervisor::ShutoffReason::Crashed.into();
    });
    let t1 = t0 + chrono::TimeDelta::seconds(2);
    let vms = poller.poll(t1).unwrap();
    link.after_snapshot(&vms, t1);
    let r = rx.blocking_recv().expect("a result");
    assert_eq!(r.cmd.op, Op::RestartByPolicy);
    assert_eq!(r.cmd.vm_id, "u-2");
}
