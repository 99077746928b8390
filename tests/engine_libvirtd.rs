//! The lifecycle engine against a real, private, unprivileged libvirtd (see
//! `tests/common/libvirtd.rs`) with tiny diskless TCG VMs, which ignore ACPI shutdown
//! (so grace periods are short and `force_cleanup` is set where a VM must go). Never
//! touches `qemu:///system`.
//!
//! One `#[test]` starts one daemon. First, independent cases run in parallel, each with
//! its own EngineCore, state directory and VMs (named by case; each core sees only its
//! own VMs), driven the way the daemon's runner drives it: poll, `on_snapshot`, run the
//! commands through the executor, `on_result`. Time is real, except that a case may
//! pass a later `now` to reach the next round without waiting an interval. Then, with
//! the case VMs gone, the crash-safety case runs the real `vmlife daemon` binary, kills
//! it with SIGKILL during a cleanup's grace period, and starts it again.
//! `VMLIFE_SKIP_LIBVIRTD=1` skips it.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Local, Timelike, Utc};
use common::libvirtd::PrivateLibvirtd;
use common::{run_cases, wait_for, Lap};
use vmlife::config::Config;
use vmlife::engine::{
    engine_owner, EngineCore, EngineSettings, EngineStore, Owner, Planned, Pressure,
};
use vmlife::executor::{ExecResult, Executor, Outcome};
use vmlife::hypervisor::libvirt::LibvirtHypervisor;
use vmlife::hypervisor::{Hypervisor, RunState};
use vmlife::lifecycle::{Actor, Command, Op};
use vmlife::metadata::{self, LifecycleMeta};
use vmlife::model::{CleanupStatus, PersistenceMode, RestartPolicy};
use vmlife::poll::{Poller, PollerOptions, Vm};
use vmlife::store::Journal;

const TIMEOUT: Duration = Duration::from_secs(20);

#[test]
fn engine_against_a_private_daemon() {
    let Some(lv) = PrivateLibvirtd::start_or_skip() else {
        return;
    };
    let hv = Arc::new(LibvirtHypervisor::open(lv.uri(), false).expect("connect"));
    run_cases(&[
        ("window", &|| window(&lv, &hv)),
        ("retry", &|| retry(&lv, &hv)),
        ("extended", &|| extended(&lv, &hv)),
        ("replaced", &|| replaced(&lv, &hv)),
        ("crash_restart", &|| crash_restart(&lv, &hv)),
        ("destroyed_always", &|| destroyed_always(&lv, &hv)),
        ("unmanaged", &|| unmanaged(&lv, &hv)),
    ]);
    remove_all(&lv);
    crash_safety(&lv, &hv);
}

/// One case's engine: a core on its own state dir, a poller that shows only the case's
/// VMs, and an executor.
struct Rig {
    hv: Arc<LibvirtHypervisor>,
    core: EngineCore,
    poller: Poller,
    exec: Executor,
    prefix: String,
    dir: tempfile::TempDir,
}

impl Rig {
    fn new(hv: &Arc<LibvirtHypervisor>, prefix: &str, config: &str) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        Rig::in_dir(hv, prefix, config, dir)
    }

    fn in_dir(
        hv: &Arc<LibvirtHypervisor>,
        prefix: &str,
        config: &str,
        dir: tempfile::TempDir,
    ) -> Rig {
        let config = Config::parse(config).expect("test config");
        let journal = Arc::new(Journal::open(dir.path()).unwrap());
        let core = EngineCore::new(
            EngineStore::new(dir.path()),
            journal.clone(),
            EngineSettings::from_config(&config),
            hv.uri(),
        )
        .unwrap()
        .with_pressure_probe(Box::new(|| Pressure::Fine("test".into())));
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let hv_dyn: Arc<dyn Hypervisor> = hv.clone();
        Rig {
            hv: hv.clone(),
            core,
            poller: Poller::new(hv_dyn.clone(), PollerOptions::default()),
            exec: Executor::new(hv_dyn, journal, tx),
            prefix: prefix.to_string(),
            dir,
        }
    }

    fn views(&mut self, now: DateTime<Utc>) -> Vec<Vm> {
        let mut v = self.poller.poll(now).expect("poll");
        v.retain(|v| v.snapshot.vm_name.starts_with(&self.prefix));
        v
    }

    fn snap(&mut self, now: DateTime<Utc>) -> Vec<Planned> {
        let views = self.views(now);
        self.core.on_snapshot(&views, now)
    }

    /// Runs each planned command (blocking) and feeds the results back.
    fn run(&mut self, planned: Vec<Planned>) -> Vec<ExecResult> {
        let mut out = Vec::new();
        for p in planned {
            assert!(!p.dry_run);
            let r = self.exec.run_now(p.cmd, p.actor);
            self.core.on_result(&r, Utc::now());
            self.poller.invalidate(&r.cmd.vm_id);
            out.push(r);
        }
        out
    }

    fn record(&self, uuid: &str) -> vmlife::model::VmCleanupSchedule {
        EngineStore::new(self.dir.path())
            .load()
            .unwrap()
            .cleanups
            .records[uuid]
            .clone()
    }

    fn exists(&self, uuid: &str) -> bool {
        self.hv
            .poll(vmlife::hypervisor::StatsGroups::STATE)
            .unwrap()
            .iter()
            .any(|d| d.uuid == uuid)
    }

    fn state(&self, uuid: &str) -> Option<RunState> {
        self.hv
            .poll(vmlife::hypervisor::StatsGroups::STATE)
            .unwrap()
            .into_iter()
            .find(|d| d.uuid == uuid)
            .and_then(|d| d.state)
    }
}

/// Defines the tiny VM `name` with `meta`, started when `run`.
fn vm(
    lv: &PrivateLibvirtd,
    hv: &LibvirtHypervisor,
    name: &str,
    meta: &LifecycleMeta,
    run: bool,
) -> String {
    let uuid = lv.define_tiny(name);
    hv.set_metadata(&uuid, Some(&metadata::to_xml(meta)))
        .expect("set metadata");
    if run {
        hv.start(&uuid).expect("start");
    }
    uuid
}

/// Temporary, expired an hour ago, auto-cleaned after `grace` seconds.
fn expired_meta(force: bool, grace: u64) -> LifecycleMeta {
    let mut m = LifecycleMeta::default();
    m.persistence.mode = PersistenceMode::Temporary;
    m.persistence.ttl_hours = 1.0;
    m.persistence.created_at_unix = Some(Utc::now().timestamp() - 2 * 3600);
    m.persistence.force_cleanup = force;
    m.persistence.cleanup_grace_period = grace;
    m
}

/// A window of one hour that starts `hours_from_now` hours from now, local time.
fn window_config(hours_from_now: u32) -> String {
    let h = (Local::now().hour() + hours_from_now) % 24;
    format!(
        "[cleanup]\ncleanup_window_start = \"{h:02}:00\"\ncleanup_window_end = \"{:02}:00\"\nskip_on_low_resources = false\n",
        (h + 1) % 24
    )
}

const NO_WINDOW: &str = "[cleanup]\ncleanup_in_window_only = false\ncheck_interval_minutes = 1\n";

/// An expired temporary VM is cleaned inside the window and not outside it.
fn window(lv: &PrivateLibvirtd, hv: &Arc<LibvirtHypervisor>) {
    let mut lap = Lap::new("window");
    let uuid = vm(lv, hv, "ew-win", &expired_meta(true, 2), false);
    let mut outside = Rig::new(hv, "ew-win", &window_config(2));
    let now = Utc::now();
    assert!(outside.snap(now).is_empty(), "outside the window: nothing");
    let views = outside.views(now);
    let plan = outside
        .core
        .plan(&views, &Default::default(), outside.core.clock(now));
    assert!(
        plan.held
            .as_deref()
            .is_some_and(|h| h.starts_with("outside the cleanup window")),
        "{plan:?}"
    );
    assert!(outside.exists(&uuid));
    lap.mark("held outside the window");

    let mut inside = Rig::new(hv, "ew-win", &window_config(0));
    let planned = inside.snap(Utc::now());
    assert_eq!(planned.len(), 1, "inside the window: cleaned");
    let r = inside.run(planned);
    assert!(r[0].outcome.is_ok(), "{:?}", r[0].outcome);
    assert!(!inside.exists(&uuid), "undefined");
    let rec = inside.record(&uuid);
    assert_eq!(
        (rec.cleanup_status, rec.cleanup_attempts),
        (CleanupStatus::Completed, 1)
    );
    lap.mark("cleaned inside the window");
}

/// A running VM without force_cleanup fails after its grace period and is retried in
/// the next round.
fn retry(lv: &PrivateLibvirtd, hv: &Arc<LibvirtHypervisor>) {
    let mut lap = Lap::new("retry");
    let uuid = vm(lv, hv, "ew-retry", &expired_meta(false, 2), true);
    let mut rig = Rig::new(hv, "ew-retry", NO_WINDOW);
    let t = Utc::now();
    let planned = rig.snap(t);
    let r = rig.run(planned);
    assert_eq!(r.len(), 1);
    assert!(
        matches!(r[0].outcome, Outcome::Failed(_)),
        "{:?}",
        r[0].outcome
    );
    let rec = rig.record(&uuid);
    assert_eq!(
        (rec.cleanup_status, rec.cleanup_attempts),
        (CleanupStatus::Failed, 1)
    );
    lap.mark("first attempt failed after the grace period");
    assert!(
        rig.snap(t + chrono::Duration::seconds(30)).is_empty(),
        "not before the next round"
    );
    let planned = rig.snap(t + chrono::Duration::seconds(61));
    let r = rig.run(planned);
    assert_eq!(r.len(), 1, "retried in the next round");
    assert!(matches!(r[0].outcome, Outcome::Failed(_)));
    let rec = rig.record(&uuid);
    assert_eq!(
        (rec.cleanup_status, rec.cleanup_attempts),
        (CleanupStatus::Failed, 2)
    );
    assert!(rec.cleanup_error.is_some());
    assert_eq!(rig.state(&uuid), Some(RunState::Running), "never forced");
    let alerts: Vec<_> = rig.core.take_alerts();
    assert_eq!(
        alerts.len(),
        1,
        "the same error again raises no second alert"
    );
    assert!(alerts
        .iter()
        .all(|a| a.action == "cleanup" && a.vm_id == uuid));
    lap.mark("second attempt failed, one alert");
}

/// A VM extended between planning and execution survives.
fn extended(lv: &PrivateLibvirtd, hv: &Arc<LibvirtHypervisor>) {
    let uuid = vm(lv, hv, "ew-ext", &expired_meta(true, 2), true);
    let mut rig = Rig::new(hv, "ew-ext", NO_WINDOW);
    let planned = rig.snap(Utc::now());
    assert_eq!(planned.len(), 1);
    let extend = rig.exec.run_now(
        Command::new(
            &uuid,
            "ew-ext",
            Op::ExtendTtl { hours: 2.0 },
            "a person extends it",
        ),
        Actor::Cli("alice".into()),
    );
    assert!(extend.outcome.is_ok(), "{:?}", extend.outcome);
    let r = rig.run(planned);
    assert!(
        matches!(r[0].outcome, Outcome::Refused(_)),
        "{:?}",
        r[0].outcome
    );
    assert_eq!(
        rig.state(&uuid),
        Some(RunState::Running),
        "survives, still running"
    );
    assert_eq!(rig.record(&uuid).cleanup_status, CleanupStatus::Pending);
    assert!(rig
        .snap(Utc::now() + chrono::Duration::seconds(61))
        .is_empty());
}

/// A VM replaced by a same-named VM with another UUID is left alone.
fn replaced(lv: &PrivateLibvirtd, hv: &Arc<LibvirtHypervisor>) {
    let old = vm(lv, hv, "ew-rep", &expired_meta(true, 2), false);
    let mut rig = Rig::new(hv, "ew-rep", NO_WINDOW);
    let planned = rig.snap(Utc::now());
    assert_eq!(planned.len(), 1);
    lv.virsh(&["undefine", "ew-rep"]);
    let new = lv.define_tiny("ew-rep");
    assert_ne!(old, new);
    let r = rig.run(planned);
    assert!(
        matches!(r[0].outcome, Outcome::Refused(_)),
        "{:?}",
        r[0].outcome
    );
    assert!(rig.exists(&new), "the new same-named VM is left alone");
    assert!(
        rig.snap(Utc::now() + chrono::Duration::seconds(61))
            .is_empty(),
        "the new VM is permanent"
    );
    assert!(rig.exists(&new));
}

/// Snapshots until `f` says the planned commands are what is awaited.
fn snap_until(rig: &mut Rig, what: &str, f: impl Fn(&[Planned]) -> bool) -> Vec<Planned> {
    wait_for(TIMEOUT, Duration::from_millis(100), || {
        let p = rig.snap(Utc::now());
        f(&p).then_some(p)
    })
    .unwrap_or_else(|| panic!("no snapshot gave {what} within {TIMEOUT:?}"))
}

fn wait_state(rig: &Rig, uuid: &str, state: RunState) {
    wait_for(TIMEOUT, Duration::from_millis(50), || {
        (rig.state(uuid) == Some(state)).then_some(())
    })
    .unwrap_or_else(|| panic!("{uuid} not {state:?} within {TIMEOUT:?}"));
}

/// A VM whose QEMU is killed is restarted under on_failure until max_retries, then left
/// stopped with an alert.
fn crash_restart(lv: &PrivateLibvirtd, hv: &Arc<LibvirtHypervisor>) {
    let mut lap = Lap::new("crash_restart");
    let mut m = LifecycleMeta::default();
    m.persistence.restart_policy = RestartPolicy::OnFailure;
    m.persistence.max_retries = 2;
    let uuid = vm(lv, hv, "ew-crash", &m, true);
    let mut rig = Rig::new(hv, "ew-crash", "[engine]\nrestart_stable_seconds = 3600\n");
    assert!(rig.snap(Utc::now()).is_empty(), "running: nothing to do");
    for n in 1..=2 {
        lv.kill_qemu("ew-crash");
        let p = snap_until(&mut rig, "a restart", |p| !p.is_empty());
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].cmd.op, Op::RestartByPolicy);
        assert!(
            p[0].cmd.reason.contains(&format!("restart {n} of 2")),
            "{}",
            p[0].cmd.reason
        );
        let r = rig.run(p);
        assert!(r[0].outcome.is_ok(), "{:?}", r[0].outcome);
        wait_state(&rig, &uuid, RunState::Running);
        assert!(rig.snap(Utc::now()).is_empty(), "seen running again");
        lap.mark("crashed, restarted");
    }
    let count = metadata::parse_or_default(hv.metadata(&uuid).unwrap().as_deref())
        .unwrap()
        .state
        .restart_count;
    assert_eq!(count, 2, "restart_count in the metadata");
    lv.kill_qemu("ew-crash");
    wait_for(TIMEOUT, Duration::from_millis(100), || {
        assert!(
            rig.snap(Utc::now()).is_empty(),
            "no restart after max_retries"
        );
        (!rig.core.alerts().is_empty()).then_some(())
    })
    .expect("an alert after giving up");
    let alerts = rig.core.take_alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].action, "restart");
    assert!(
        alerts[0].error.contains("max_retries = 2"),
        "{}",
        alerts[0].error
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(rig.snap(Utc::now()).is_empty());
    assert_eq!(rig.state(&uuid), Some(RunState::Shutoff), "left stopped");
    let j = Journal::read(rig.dir.path()).unwrap();
    assert!(j
        .entries
        .iter()
        .any(|e| e.action == "alert" && e.result.starts_with("error: gave up")));
    lap.mark("gave up with an alert");
}

/// A VM destroyed by a person is not restarted under `always`.
fn destroyed_always(lv: &PrivateLibvirtd, hv: &Arc<LibvirtHypervisor>) {
    let mut m = LifecycleMeta::default();
    m.persistence.restart_policy = RestartPolicy::Always;
    let uuid = vm(lv, hv, "ew-destroy", &m, true);
    let mut rig = Rig::new(hv, "ew-destroy", "");
    assert!(rig.snap(Utc::now()).is_empty());
    lv.virsh(&["destroy", "ew-destroy"]);
    wait_state(&rig, &uuid, RunState::Shutoff);
    for _ in 0..5 {
        assert!(rig.snap(Utc::now()).is_empty(), "not restarted");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(rig.state(&uuid), Some(RunState::Shutoff));
    assert!(rig.core.take_alerts().is_empty());
}

/// A VM without a vmlife element is observed only: its crash is not undone, while the
/// same crash of a VM with an element (same defaults) is.
fn unmanaged(lv: &PrivateLibvirtd, hv: &Arc<LibvirtHypervisor>) {
    let plain = lv.define_tiny("ew-unman-plain");
    hv.start(&plain).expect("start");
    let ours = vm(lv, hv, "ew-unman-ours", &LifecycleMeta::default(), true);
    let mut rig = Rig::new(hv, "ew-unman", "");
    assert!(rig.snap(Utc::now()).is_empty());
    lv.kill_qemu("ew-unman-plain");
    lv.kill_qemu("ew-unman-ours");
    wait_state(&rig, &plain, RunState::Shutoff);
    wait_state(&rig, &ours, RunState::Shutoff);
    let p = snap_until(&mut rig, "a restart", |p| !p.is_empty());
    let ids: Vec<&str> = p.iter().map(|p| p.cmd.vm_id.as_str()).collect();
    assert_eq!(ids, [ours.as_str()], "only the managed VM is restarted");
    let r = rig.run(p);
    assert!(r[0].outcome.is_ok(), "{:?}", r[0].outcome);
    wait_state(&rig, &ours, RunState::Running);
    for _ in 0..5 {
        assert!(rig.snap(Utc::now()).is_empty(), "plain VM left stopped");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(rig.state(&plain), Some(RunState::Shutoff));
    assert_eq!(hv.metadata(&plain).unwrap(), None, "not given an element");
    assert!(rig.core.take_alerts().is_empty());
}

/// Removes every domain (between the cases and the daemon, which sees them all).
fn remove_all(lv: &PrivateLibvirtd) {
    for name in lv
        .virsh(&["list", "--all", "--name"])
        .lines()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let _ = lv.try_virsh(&["destroy", name]);
        lv.virsh(&["undefine", name]);
    }
}

/// A `vmlife daemon` child, killed on drop.
struct Daemon {
    child: Child,
}

impl Daemon {
    fn start(uri: &str, dir: &Path, config: &Path, log: &str) -> Daemon {
        let log = std::fs::File::create(dir.join(log)).unwrap();
        let child = Process::new(env!("CARGO_BIN_EXE_vmlife"))
            .args(["-c", uri, "--state-dir"])
            .arg(dir)
            .arg("--config")
            .arg(config)
            .arg("daemon")
            .env_remove("LIBVIRT_DEFAULT_URI")
            .env_remove("VMLIFE_CONFIG")
            .env_remove("VMLIFE_STATE_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn vmlife daemon");
        Daemon { child }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn signal(&self, sig: &str) {
        let st = Process::new("kill")
            .args([sig, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Waits for the exit (reaping it); its status code.
    fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let t = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            if t.elapsed() > timeout {
                panic!("the daemon did not exit within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cleanup_status(dir: &Path, uuid: &str) -> Option<(CleanupStatus, u32)> {
    let data = EngineStore::new(dir)
        .load()
        .expect("the store parses at every moment");
    data.cleanups
        .records
        .get(uuid)
        .map(|r| (r.cleanup_status, r.cleanup_attempts))
}

/// The daemon killed with SIGKILL during a cleanup's grace period, then started again,
/// finishes the cleanup (counting the interrupted attempt); the store and journal
/// parse; the VMs that were not due are untouched.
fn crash_safety(lv: &PrivateLibvirtd, hv: &Arc<LibvirtHypervisor>) {
    let mut lap = Lap::new("crash_safety");
    let state = tempfile::tempdir().unwrap();
    let dir = state.path();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        "[cleanup]\ncleanup_in_window_only = false\ncheck_interval_minutes = 1\nskip_on_low_resources = false\n[engine]\npoll_seconds = 1\nstop_timeout_seconds = 5\n",
    )
    .unwrap();
    let due = vm(lv, hv, "cs-due", &expired_meta(true, 6), true);
    let mut later_meta = expired_meta(true, 6);
    later_meta.persistence.created_at_unix = Some(Utc::now().timestamp());
    later_meta.persistence.ttl_hours = 24.0;
    let later = vm(lv, hv, "cs-later", &later_meta, true);
    let mut perm_meta = LifecycleMeta::default();
    perm_meta.persistence.restart_policy = RestartPolicy::OnFailure;
    let perm = vm(lv, hv, "cs-perm", &perm_meta, true);
    lap.mark("three VMs running");

    let mut first = Daemon::start(lv.uri(), dir, &config, "daemon1.log");
    wait_for(TIMEOUT, Duration::from_millis(50), || {
        (cleanup_status(dir, &due) == Some((CleanupStatus::InProgress, 0))).then_some(())
    })
    .expect("the daemon starts cleaning cs-due");
    assert_eq!(
        engine_owner(dir),
        Owner::Other {
            pid: first.pid(),
            role: Some(vmlife::engine::Role::Daemon)
        }
    );
    // Inside the 6 s grace period: the guest was asked to shut down and ignores it.
    std::thread::sleep(Duration::from_millis(1500));
    first.signal("-KILL");
    first.wait_exit(Duration::from_secs(5));
    lap.mark("daemon killed during the grace period");
    assert_eq!(
        engine_owner(dir),
        Owner::Nobody,
        "the kernel released the lock"
    );
    assert_eq!(
        cleanup_status(dir, &due),
        Some((CleanupStatus::InProgress, 0))
    );
    let rig_hv: &LibvirtHypervisor = hv;
    let running = |u: &str| {
        rig_hv
            .poll(vmlife::hypervisor::StatsGroups::STATE)
            .unwrap()
            .into_iter()
            .find(|d| d.uuid == u)
            .and_then(|d| d.state)
    };
    assert_eq!(
        running(&due),
        Some(RunState::Running),
        "not destroyed: the grace period was cut short"
    );
    Journal::read(dir).expect("the journal parses");

    let mut second = Daemon::start(lv.uri(), dir, &config, "daemon2.log");
    wait_for(Duration::from_secs(30), Duration::from_millis(100), || {
        (cleanup_status(dir, &due) == Some((CleanupStatus::Completed, 2))).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "cs-due not cleaned up after the restart: {:?}; log:\n{}",
            cleanup_status(dir, &due),
            std::fs::read_to_string(dir.join("daemon2.log")).unwrap_or_default()
        )
    });
    lap.mark("restarted daemon finished the cleanup");
    assert_eq!(running(&due), None, "cs-due is gone");
    assert_eq!(
        running(&later),
        Some(RunState::Running),
        "not due: untouched"
    );
    assert_eq!(
        running(&perm),
        Some(RunState::Running),
        "permanent: untouched"
    );
    let journal = Journal::read(dir).expect("the journal parses");
    assert!(
        journal
            .entries
            .iter()
            .any(|e| e.vm_id == due && e.result.starts_with("error: interrupted")),
        "{:?}",
        journal.entries
    );
    assert!(journal
        .entries
        .iter()
        .any(|e| e.vm_id == due && e.action == "cleanup" && e.result == "ok"));

    // One engine per state directory.
    let out = Process::new(env!("CARGO_BIN_EXE_vmlife"))
        .args(["-c", lv.uri(), "--state-dir"])
        .arg(dir)
        .arg("daemon")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        format!(
            "vmlife: error: another engine holds {}/engine.lock (pid {})",
            dir.display(),
            second.pid()
        )
    );

    second.signal("-TERM");
    assert_eq!(
        second.wait_exit(Duration::from_secs(10)),
        Some(0),
        "a clean stop"
    );
    let log = std::fs::read_to_string(dir.join("daemon2.log")).unwrap();
    assert!(
        log.contains("SIGTERM: stopping") && log.contains("vmlife daemon stopped"),
        "{log}"
    );
    lap.mark("second daemon refused, first stopped cleanly");
}
