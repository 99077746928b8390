//! The host runners against the fake hypervisor and a manual clock: fast and
//! deterministic. The same paths against a real libvirtd are in
//! `tests/host_libvirtd.rs`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::autostart::{prepare, run_sequence};
use super::boot::{self, BootAction, BootGate};
use super::recover::{plan_recover, RecoverAction};
use super::recovery_file::RecoveryFile;
use super::shutdown::{plan_shutdown, run_shutdown, StopState};
use super::*;
use crate::executor::ManualClock;
use crate::hypervisor::fake::{running, FakeDomain, FakeHypervisor, OnShutdown};
use crate::hypervisor::{RunState, ShutoffReason};
use crate::lifecycle::autostart::StepState;
use crate::metadata::{self, LifecycleMeta};
use crate::model::{HostRebootAction, HostShutdownAction, RecoveryVmState, VmAutoStartConfig};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn vm(name: &str, active: bool, meta: impl FnOnce(&mut LifecycleMeta)) -> FakeDomain {
    let mut d = running(&format!("u-{name}"), name);
    if !active {
        d.raw.state = Some(RunState::Shutoff);
        d.raw.reason = ShutoffReason::Shutdown.into();
    }
    let mut m = LifecycleMeta::default();
    meta(&mut m);
    d.metadata = Some(metadata::to_xml(&m));
    d
}

fn auto(order: i64, deps: &[&str], ssh: bool) -> VmAutoStartConfig {
    VmAutoStartConfig {
        start_order: order,
        wait_for_ssh: ssh,
        ssh_timeout_seconds: 60,
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        ..VmAutoStartConfig::default()
    }
}

/// A probe that answers for a VM once the clock has reached its time.
struct TimedProbe {
    clock: Arc<ManualClock>,
    up_at: Mutex<Vec<(String, DateTime<Utc>)>>,
}

impl SshProbe for TimedProbe {
    fn probe(&self, _uuid: &str, name: &str) -> ProbeResult {
        let now = self.clock.now();
        let up = self
            .up_at
            .lock()
            .unwrap()
            .iter()
            .any(|(n, at)| n == name && *at <= now);
        if up {
            ProbeResult::Up {
                target: "127.0.0.1:22".into(),
            }
        } else {
            ProbeResult::NotYet {
                target: Some("127.0.0.1:22".into()),
                why: "connection refused".into(),
            }
        }
    }

    fn describe_target(&self, _name: &str) -> String {
        "127.0.0.1:22 (test)".into()
    }
}

struct Fixture {
    hv: Arc<FakeHypervisor>,
    clock: Arc<ManualClock>,
    ctx: HostCtx,
    _dir: tempfile::TempDir,
}

fn fixture(domains: Vec<FakeDomain>) -> Fixture {
    let hv = Arc::new(FakeHypervisor::new());
    for d in domains {
        hv.put(d);
    }
    let clock = Arc::new(ManualClock::new(t0()));
    let dir = tempfile::tempdir().unwrap();
    let mut settings = HostSettings::default();
    settings.autostart.ssh_probe_interval_seconds = 1.0;
    settings.autostart.retry_delay_seconds = 1.0;
    let ctx = HostCtx::new(
        hv.clone(),
        "fake:///",
        Arc::new(Journal::in_memory()),
        Actor::Engine,
        settings,
        dir.path(),
    )
    .with_clock(clock.clone());
    Fixture {
        hv,
        clock,
        ctx,
        _dir: dir,
    }
}

fn starts(hv: &FakeHypervisor) -> Vec<String> {
    hv.calls()
        .into_iter()
        .filter_map(|c| c.strip_prefix("start u-").map(String::from))
        .collect()
}

#[test]
fn autostart_runs_in_dependency_order_and_waits_for_ssh() {
    let f = fixture(vec![
        vm("db", false, |m| m.autostart = Some(auto(10, &[], true))),
        vm("app", false, |m| {
            m.autostart = Some(auto(20, &["db"], false))
        }),
        vm("web", false, |m| {
            m.autostart = Some(VmAutoStartConfig {
                start_delay_seconds: 3,
                ..auto(30, &["app"], false)
            })
        }),
        vm("dns", true, |m| m.autostart = Some(auto(5, &[], false))),
        vm("other", false, |_| {}),
    ]);
    let probe = Arc::new(TimedProbe {
        clock: f.clock.clone(),
        up_at: Mutex::new(vec![("db".into(), t0() + Duration::seconds(7))]),
    });
    let ctx = f.ctx.clone().with_probe(probe);
    let views = ctx.inventory(None, t0()).unwrap();
    let prepared = prepare(&ctx, &views, None, &Default::default());
    let plan = prepared.plan.clone();
    assert_eq!(plan.to_start(), ["db", "app", "web"]);
    let mut seen: Vec<(String, String)> = Vec::new();
    let last = run_sequence(&ctx, plan, "test", &RunControl::new(), &mut |p| {
        for s in &p.steps {
            let entry = (s.name.clone(), super::autostart::state_key(&s.state));
            if !seen.contains(&entry) {
                seen.push(entry);
            }
        }
    });
    assert_eq!(starts(&f.hv), ["db", "app", "web"]);
    assert_eq!(last.tally(), (4, 0, 0));
    assert!(last.done);
    // app started only once db answered SSH (7 s), web 3 s after app was up.
    let at = |name: &str| {
        last.steps
            .iter()
            .find(|s| s.name == name)
            .map(|s| match s.state {
                StepState::Up { at, .. } => at,
                _ => panic!("{name} not up"),
            })
            .unwrap()
    };
    assert!(at("db") >= t0() + Duration::seconds(7), "{}", at("db"));
    assert!(at("app") >= at("db"));
    assert!(at("web") >= at("app") + Duration::seconds(3));
    assert_eq!(last.steps[0].text, "up (was already running)");
    assert!(seen.contains(&("db".into(), "ssh Some(\"127.0.0.1:22\")".into())));
}

#[test]
fn autostart_holds_back_a_cycle_and_a_missing_dependency_and_starts_the_rest() {
    let f = fixture(vec![
        vm("a", false, |m| m.autostart = Some(auto(0, &["b"], false))),
        vm("b", false, |m| m.autostart = Some(auto(0, &["a"], false))),
        vm("c", false, |m| {
            m.autostart = Some(auto(0, &["ghost"], false))
        }),
        vm("d", false, |m| m.autostart = Some(auto(0, &[], false))),
    ]);
    let views = f.ctx.inventory(None, t0()).unwrap();
    let prepared = prepare(&f.ctx, &views, None, &Default::default());
    assert_eq!(
        prepared.held_back_lines(),
        [
            "a: held back: in a dependency cycle: a → b → a",
            "b: held back: in a dependency cycle: a → b → a",
            "c: held back: depends on ghost, which does not exist",
        ]
    );
    let last = run_sequence(
        &f.ctx,
        prepared.plan.clone(),
        "test",
        &RunControl::new(),
        &mut |_| {},
    );
    assert_eq!(starts(&f.hv), ["d"]);
    assert_eq!(last.tally(), (1, 0, 3));
}

#[test]
fn host_shutdown_records_then_host_boot_restores() {
    let f = fixture(vec![
        vm("saved", true, |m| {
            m.policy.on_host_shutdown = Some(HostShutdownAction::SaveState)
        }),
        vm("deaf", true, |_| {}),
        vm("off", false, |m| {
            m.policy.on_host_shutdown = Some(HostShutdownAction::SaveState)
        }),
        vm("gone-on-boot", true, |m| {
            m.policy.on_host_shutdown = Some(HostShutdownAction::SaveState);
            m.policy.on_host_reboot = Some(HostRebootAction::Destroy);
        }),
        vm("kept", true, |m| {
            m.policy.on_host_shutdown = Some(HostShutdownAction::SaveState);
            m.policy.on_host_reboot = Some(HostRebootAction::KeepStopped);
        }),
        vm("db", true, |m| {
            m.policy.on_host_shutdown = Some(HostShutdownAction::Destroy);
            m.autostart = Some(auto(0, &[], false));
        }),
        vm("app", true, |m| m.autostart = Some(auto(1, &["db"], false))),
    ]);
    f.hv.on_shutdown("u-deaf", OnShutdown::Ignore);
    let views = f.ctx.inventory(None, t0()).unwrap();
    let plan = plan_shutdown(&f.ctx, &views, None);
    let order: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
    // Outside the autostart set by name, then the autostart set reversed.
    assert_eq!(
        order,
        ["deaf", "gone-on-boot", "kept", "off", "saved", "app", "db"]
    );
    assert_eq!(plan.steps[6].after, vec![5], "db waits for app");
    let lines = plan.describe(&f.ctx.settings.host);
    assert_eq!(
        lines[0],
        "1. deaf (running): graceful shutdown (ACPI), up to 120 s, then destroy"
    );
    assert_eq!(
        lines[3],
        "4. off (stopped): nothing to do (recorded as stopped)"
    );
    assert_eq!(
        lines[6],
        "7. db (running): after app: destroy (hard power-off)"
    );

    let report = run_shutdown(&f.ctx, &plan, &RunControl::new(), &mut |_| {});
    let text: Vec<(&str, &str)> = report
        .progress
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.text.as_str()))
        .collect();
    assert_eq!(
        text,
        [
            ("deaf", "destroyed: still running after 120 s"),
            ("gone-on-boot", "saved (managed save)"),
            ("kept", "saved (managed save)"),
            ("off", "was not running"),
            ("saved", "saved (managed save)"),
            ("app", "shut down after 0 s"),
            ("db", "destroyed"),
        ]
    );
    assert_eq!(report.record_error, None);
    let file = RecoveryFile::load(&f.ctx.state_dir).unwrap().unwrap();
    assert_eq!(file, report.records);
    let rec = |n: &str| &file.records[file.find("", n).unwrap()];
    assert_eq!(
        rec("off").state.state_before_shutdown,
        RecoveryVmState::Stopped
    );
    assert_eq!(
        rec("saved").state.state_before_shutdown,
        RecoveryVmState::Running
    );
    assert!(rec("saved")
        .domain_xml()
        .unwrap()
        .contains("<name>saved</name>"));
    // app was shut down before db was destroyed.
    let calls = f.hv.calls();
    let pos = |c: &str| calls.iter().position(|x| x == c).unwrap();
    assert!(pos("shutdown u-app") < pos("destroy u-db"));
    assert!(f.hv.has_saved_image("u-saved"));

    // Boot.
    let dir = f.ctx.state_dir.clone();
    let source = dir.join("fake-boot-id");
    std::fs::write(&source, "boot-2\n").unwrap();
    let gate = boot::boot_gate(&dir, &source, false);
    assert_eq!(
        gate,
        BootGate::Run {
            boot_id: Some("boot-2".into())
        }
    );
    let views = f.ctx.inventory(None, t0()).unwrap();
    let records = RecoveryFile::load(&dir).unwrap();
    let plan = boot::plan_boot(&f.ctx, &views, None, records, Some("boot-2".into()));
    let action = |n: &str| {
        plan.steps
            .iter()
            .find(|s| s.name == n)
            .unwrap()
            .action
            .clone()
    };
    assert_eq!(action("saved"), BootAction::Restore { from_save: true });
    assert_eq!(action("deaf"), BootAction::Restore { from_save: false });
    assert!(matches!(action("off"), BootAction::Nothing { .. }));
    assert_eq!(
        action("gone-on-boot"),
        BootAction::Destroy {
            running: false,
            has_save: true
        }
    );
    assert!(matches!(action("kept"), BootAction::KeepStopped { .. }));
    assert_eq!(action("db"), BootAction::Autostart);
    assert_eq!(action("app"), BootAction::Autostart);
    let describe = plan.describe(&NoProbe);
    assert!(
        describe.contains(&"then the ordered start:".to_string()),
        "{describe:?}"
    );

    f.hv.clear_calls();
    let report = boot::run_boot(&f.ctx, plan, &RunControl::new(), &mut |_| {});
    assert_eq!(report.failed(), 0, "{report:?}");
    assert_eq!(report.store_error, None);
    let state = |n: &str| {
        f.hv.poll(crate::hypervisor::StatsGroups::STATE)
            .unwrap()
            .into_iter()
            .find(|d| d.name == n)
            .unwrap()
            .state
    };
    for n in ["saved", "deaf", "db", "app"] {
        assert_eq!(state(n), Some(RunState::Running), "{n}");
    }
    for n in ["off", "gone-on-boot", "kept"] {
        assert_eq!(state(n), Some(RunState::Shutoff), "{n}");
    }
    assert!(!f.hv.has_saved_image("u-gone-on-boot"), "discarded");
    assert!(f.hv.has_saved_image("u-kept"), "kept for a later start");
    let s = starts(&f.hv);
    assert!(
        s.iter().position(|n| n == "db") < s.iter().position(|n| n == "app"),
        "{s:?}"
    );
    // Records are marked; the marker stops a second run.
    let file = RecoveryFile::load(&dir).unwrap().unwrap();
    assert!(file.records.iter().all(|r| r.restored_at.is_some()));
    assert_eq!(
        file.records[file.find("", "saved").unwrap()]
            .restore_result
            .as_deref(),
        Some("started (resumed from its managed save)")
    );
    assert_eq!(
        boot::boot_gate(&dir, &source, false),
        BootGate::AlreadyRan {
            boot_id: "boot-2".into()
        }
    );
    assert!(matches!(
        boot::boot_gate(&dir, &source, true),
        BootGate::Run { .. }
    ));
}

#[test]
fn shutdown_leaves_a_deaf_guest_running_when_told() {
    let mut f = fixture(vec![vm("deaf", true, |_| {})]);
    f.hv.on_shutdown("u-deaf", OnShutdown::Fail);
    f.ctx.settings.host.after_timeout = AfterTimeout::Leave;
    let views = f.ctx.inventory(None, t0()).unwrap();
    let plan = plan_shutdown(&f.ctx, &views, None);
    let report = run_shutdown(&f.ctx, &plan, &RunControl::new(), &mut |_| {});
    let StopState::Left { result } = &report.progress.steps[0].state else {
        panic!("{:?}", report.progress.steps[0]);
    };
    assert!(
        result.starts_with("left running: could not ask it to shut down (")
            && result.ends_with("(after_timeout = leave)"),
        "{result}"
    );
    // No time was spent waiting for a guest that cannot be asked.
    assert_eq!(f.clock.slept(), std::time::Duration::ZERO);
}

#[test]
fn recover_plans_from_the_records() {
    let f = fixture(vec![
        vm("back", false, |_| {}),
        vm("fine", true, |_| {}),
        vm("was-off", true, |_| {}),
    ]);
    let views = f.ctx.inventory(None, t0()).unwrap();
    let plan = plan_shutdown(&f.ctx, &views, None);
    let mut report = run_shutdown(&f.ctx, &plan, &RunControl::new(), &mut |_| {});
    // Pretend: "back" was running, "was-off" stopped, and a VM that is gone now.
    let mut gone = report.records.records[0].clone();
    gone.state.vm_id = "u-gone".into();
    gone.state.vm_name = "gone".into();
    report.records.records.push(gone);
    for r in &mut report.records.records {
        r.state.state_before_shutdown = match r.state.vm_name.as_str() {
            "was-off" => RecoveryVmState::Stopped,
            _ => RecoveryVmState::Running,
        };
    }
    // Since then: "fine" and "was-off" run again (started by hand), "back" is still off.
    for u in ["u-fine", "u-was-off"] {
        f.hv.update(u, |d| d.raw.state = Some(RunState::Running));
    }
    let views = f.ctx.inventory(None, t0()).unwrap();
    let steps = plan_recover(&report.records, &views, &[]).unwrap();
    let got: Vec<String> = steps.iter().map(|s| s.describe()).collect();
    assert_eq!(
        got,
        [
            "gone (recorded running): re-define from its config snapshot, then start it",
            "was-off (recorded stopped): nothing: running, recorded as stopped: left running \
             (recover never stops a VM)",
            "fine (recorded running): nothing: already running",
            "back (recorded running): start (restores its managed save when it has one)",
        ]
    );
    assert!(matches!(steps[0].action, RecoverAction::Define { .. }));
    let e = plan_recover(&report.records, &views, &["nope".into()]).unwrap_err();
    assert_eq!(e, "no recovery record for nope in the recovery file");
    let only: BTreeSet<String> = ["u-back".to_string()].into();
    assert_eq!(f.ctx.inventory(Some(&only), t0()).unwrap().len(), 1);
}

#[test]
fn libvirt_guests_note_reads_its_settings() {
    assert_eq!(libvirt_guests_note(Some("ON_BOOT=start"), false), None);
    let n = libvirt_guests_note(
        Some("# comment\nON_BOOT=ignore\nON_SHUTDOWN=\"shutdown\" # x\n"),
        true,
    )
    .unwrap();
    assert!(
        n.starts_with("libvirt-guests.service is enabled (ON_BOOT=ignore, ON_SHUTDOWN=shutdown)"),
        "{n}"
    );
    let n = libvirt_guests_note(None, true).unwrap();
    assert!(n.contains("(ON_BOOT=start, ON_SHUTDOWN=suspend)"), "{n}");
}

#[test]
fn a_second_host_shutdown_in_the_same_boot_keeps_the_first_records() {
    let f = fixture(vec![
        vm("saved", true, |m| {
            m.policy.on_host_shutdown = Some(HostShutdownAction::SaveState)
        }),
        vm("other", true, |_| {}),
    ]);
    let only: BTreeSet<String> = ["saved".to_string()].into();
    let views = f.ctx.inventory(Some(&only), t0()).unwrap();
    run_shutdown(
        &f.ctx,
        &plan_shutdown(&f.ctx, &views, None),
        &RunControl::new(),
        &mut |_| {},
    );
    // Again, for every VM: "saved" is stopped by now.
    let views = f.ctx.inventory(None, t0()).unwrap();
    let report = run_shutdown(
        &f.ctx,
        &plan_shutdown(&f.ctx, &views, None),
        &RunControl::new(),
        &mut |_| {},
    );
    let file = report.records;
    let saved = &file.records[file.find("u-saved", "saved").unwrap()];
    if boot::read_boot_id(std::path::Path::new(boot::BOOT_ID_SOURCE)).is_some() {
        assert_eq!(saved.state.state_before_shutdown, RecoveryVmState::Running);
        assert_eq!(
            saved.shutdown_result.as_deref(),
            Some("saved (managed save)")
        );
    }
    let other = &file.records[file.find("u-other", "other").unwrap()];
    assert_eq!(other.state.state_before_shutdown, RecoveryVmState::Running);
    assert_eq!(file.records.len(), 2);
}
