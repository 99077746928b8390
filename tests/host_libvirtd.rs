//! Host hooks and the ordered autostart against a real, private, unprivileged libvirtd
//! (see `tests/common/libvirtd.rs`) with tiny diskless TCG VMs. Never touches
//! `qemu:///system`.
//!
//! SSH readiness is probed only on listeners this test opens on 127.0.0.1 (through
//! `[autostart] ssh_address_override`); nothing ever connects to an address a VM
//! reports. One `#[test]` starts one daemon and runs independent cases on separate VMs
//! in parallel threads. `VMLIFE_SKIP_LIBVIRTD=1` skips it.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::libvirtd::{tiny_xml, PrivateLibvirtd};
use common::{run_cases, wait_for, Lap};
use vmlife::host::autostart::{prepare, run_sequence};
use vmlife::host::boot::{self, BootGate};
use vmlife::host::recovery_file::RecoveryFile;
use vmlife::host::shutdown::{plan_shutdown, run_shutdown};
use vmlife::host::{HostCtx, HostSettings, RunControl};
use vmlife::hypervisor::libvirt::LibvirtHypervisor;
use vmlife::hypervisor::{Hypervisor, RunState, StatsGroups};
use vmlife::lifecycle::autostart::{Progress, StepState};
use vmlife::lifecycle::Actor;
use vmlife::metadata::{self, LifecycleMeta};
use vmlife::model::{
    HostRebootAction, HostShutdownAction, RecoveryVmState, StartFailureAction, VmAutoStartConfig,
};
use vmlife::store::Journal;

const STATE_TIMEOUT: Duration = Duration::from_secs(20);

#[test]
fn host_hooks_and_autostart_against_a_private_daemon() {
    let Some(lv) = PrivateLibvirtd::start_or_skip() else {
        return;
    };
    let hv: Arc<dyn Hypervisor> =
        Arc::new(LibvirtHypervisor::open(lv.uri(), false).expect("open a read-write connection"));
    let t = T { lv: &lv, hv: &hv };
    run_cases(&[
        ("chain_waits_for_ssh", &|| chain_waits_for_ssh(&t)),
        ("failed_start_retried_dependants_skipped", &|| {
            failed_start_retried_dependants_skipped(&t)
        }),
        ("save_state_then_host_boot", &|| {
            save_state_then_host_boot(&t)
        }),
        ("destroy_and_keep_stopped", &|| destroy_and_keep_stopped(&t)),
        ("cycle_holds_back_only_its_vms", &|| {
            cycle_holds_back_only_its_vms(&t)
        }),
    ]);
}

struct T<'a> {
    lv: &'a PrivateLibvirtd,
    hv: &'a Arc<dyn Hypervisor>,
}

/// One case's context: its own state dir and journal.
struct Case {
    ctx: HostCtx,
    journal: Arc<Journal>,
    dir: tempfile::TempDir,
}

impl T<'_> {
    fn case(&self, f: impl FnOnce(&mut HostSettings)) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let journal = Arc::new(Journal::in_memory());
        let mut settings = HostSettings::default();
        settings.autostart.ssh_probe_interval_seconds = 0.2;
        settings.autostart.retry_delay_seconds = 0.3;
        f(&mut settings);
        let ctx = HostCtx::new(
            self.hv.clone(),
            self.lv.uri(),
            journal.clone(),
            Actor::Engine,
            settings,
            dir.path(),
        );
        Case { ctx, journal, dir }
    }

    fn define(&self, name: &str, meta: impl FnOnce(&mut LifecycleMeta)) -> String {
        let uuid = self.lv.define_tiny(name);
        self.set_meta(&uuid, meta);
        uuid
    }

    fn set_meta(&self, uuid: &str, f: impl FnOnce(&mut LifecycleMeta)) {
        let mut m = LifecycleMeta::default();
        f(&mut m);
        self.hv
            .set_metadata(uuid, Some(&metadata::to_xml(&m)))
            .unwrap();
    }

    fn start(&self, uuid: &str) {
        self.hv.start(uuid).unwrap();
        self.expect(uuid, RunState::Running);
    }

    fn state(&self, uuid: &str) -> Option<RunState> {
        self.hv
            .poll(StatsGroups::STATE)
            .unwrap()
            .into_iter()
            .find(|d| d.uuid == uuid)
            .and_then(|d| d.state)
    }

    fn expect(&self, uuid: &str, state: RunState) {
        wait_for(STATE_TIMEOUT, Duration::from_millis(50), || {
            (self.state(uuid) == Some(state)).then_some(())
        })
        .unwrap_or_else(|| panic!("{uuid}: not {state:?}: {:?}", self.state(uuid)));
    }
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn auto(order: i64, deps: &[&str], ssh: bool) -> VmAutoStartConfig {
    VmAutoStartConfig {
        start_order: order,
        wait_for_ssh: ssh,
        ssh_timeout_seconds: 30,
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        ..VmAutoStartConfig::default()
    }
}

/// A free port on 127.0.0.1: bound, read, released (opened again later).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the ordered start of `only` and records when each VM first entered each kind
/// of state.
fn run_autostart(c: &Case, only: &[&str]) -> (Progress, BTreeMap<(String, &'static str), Instant>) {
    let views = c.ctx.inventory(None, chrono::Utc::now()).unwrap();
    let prepared = prepare(&c.ctx, &views, Some(&names(only)), &BTreeMap::new());
    let plan = prepared.plan;
    let mut seen: BTreeMap<(String, &'static str), Instant> = BTreeMap::new();
    let last = run_sequence(&c.ctx, plan, "test", &RunControl::new(), &mut |p| {
        for s in &p.steps {
            let kind = match s.state {
                StepState::Starting { .. } => "starting",
                StepState::WaitingForSsh { .. } => "ssh",
                StepState::Up { .. } => "up",
                _ => continue,
            };
            seen.entry((s.name.clone(), kind))
                .or_insert_with(Instant::now);
        }
    });
    (last, seen)
}

fn text<'a>(p: &'a Progress, name: &str) -> &'a str {
    &p.steps.iter().find(|s| s.name == name).unwrap().text
}

/// c-db → c-app → c-web: each dependant starts only after its dependency's SSH probe
/// (a listener the test opens on 127.0.0.1 a while after the VM started) answers.
fn chain_waits_for_ssh(t: &T) {
    let mut lap = Lap::new("chain_waits_for_ssh");
    let (p_db, p_app) = (free_port(), free_port());
    let db = t.define("c-db", |m| m.autostart = Some(auto(10, &[], true)));
    let app = t.define("c-app", |m| m.autostart = Some(auto(20, &["c-db"], true)));
    let web = t.define("c-web", |m| {
        m.autostart = Some(VmAutoStartConfig {
            start_delay_seconds: 1,
            ..auto(30, &["c-app"], false)
        })
    });
    let c = t.case(|s| {
        let o = &mut s.autostart.ssh_address_override;
        o.insert("c-db".into(), format!("127.0.0.1:{p_db}"));
        o.insert("c-app".into(), format!("127.0.0.1:{p_app}"));
    });
    lap.mark("define");
    // Open each VM's "SSH" listener 2 s after the VM is seen running.
    let opened: Arc<Mutex<BTreeMap<&str, Instant>>> = Arc::default();
    let listeners: Arc<Mutex<Vec<TcpListener>>> = Arc::default();
    let (result, seen) = std::thread::scope(|s| {
        for (name, uuid, port) in [("c-db", &db, p_db), ("c-app", &app, p_app)] {
            let (opened, listeners) = (opened.clone(), listeners.clone());
            s.spawn(move || {
                t.expect(uuid, RunState::Running);
                std::thread::sleep(Duration::from_secs(2));
                let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
                opened.lock().unwrap().insert(name, Instant::now());
                listeners.lock().unwrap().push(l);
            });
        }
        run_autostart(&c, &["c-db", "c-app", "c-web"])
    });
    lap.mark("ordered start");
    assert_eq!(result.tally(), (3, 0, 0), "{result:#?}");
    let opened = opened.lock().unwrap();
    let at = |n: &str, k: &'static str| seen[&(n.to_string(), k)];
    assert!(
        at("c-app", "starting") >= opened["c-db"],
        "c-app started before c-db's SSH answered"
    );
    assert!(
        at("c-web", "starting") >= opened["c-app"],
        "c-web started before c-app's SSH answered"
    );
    assert!(at("c-web", "starting") >= at("c-app", "up") + Duration::from_secs(1));
    for u in [&db, &app, &web] {
        assert_eq!(t.state(u), Some(RunState::Running));
    }
    let starts = c
        .journal
        .read_all()
        .unwrap()
        .entries
        .into_iter()
        .filter(|e| e.action == "start")
        .map(|e| (e.vm_name, e.result))
        .collect::<Vec<_>>();
    assert_eq!(
        starts,
        [("c-db", "ok"), ("c-app", "ok"), ("c-web", "ok")]
            .map(|(n, r)| (n.to_string(), r.to_string()))
    );
    let _ = c.dir;
}

/// A VM whose disk file is missing fails to start: retried, then its dependants are
/// skipped with the reason; an independent VM still starts.
fn failed_start_retried_dependants_skipped(t: &T) {
    let mut lap = Lap::new("failed_start");
    let bad_xml = tiny_xml("f-bad").replace(
        "<devices>",
        "<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>\
         <source file='/nonexistent/vmlife-missing.img'/><target dev='vda' bus='virtio'/></disk>",
    );
    let bad = t.lv.define_xml("f-bad", &bad_xml);
    t.set_meta(&bad, |m| {
        m.autostart = Some(VmAutoStartConfig {
            on_start_failure: StartFailureAction::Retry,
            max_start_retries: 2,
            ..auto(0, &[], false)
        })
    });
    let dep = t.define("f-dep", |m| m.autostart = Some(auto(0, &["f-bad"], false)));
    let dep2 = t.define("f-dep2", |m| m.autostart = Some(auto(0, &["f-dep"], false)));
    let free = t.define("f-free", |m| m.autostart = Some(auto(5, &[], false)));
    let c = t.case(|_| {});
    lap.mark("define");
    let (result, _) = run_autostart(&c, &["f-bad", "f-dep", "f-dep2", "f-free"]);
    lap.mark("ordered start");
    assert_eq!(result.tally(), (1, 1, 2), "{result:#?}");
    let bad_text = text(&result, "f-bad");
    assert!(
        bad_text.starts_with("failed: start failed 3 times; last error: ")
            && bad_text.contains("vmlife-missing.img"),
        "{bad_text}"
    );
    assert_eq!(
        text(&result, "f-dep"),
        "skipped: dependency f-bad did not come up"
    );
    assert_eq!(
        text(&result, "f-dep2"),
        "skipped: dependency f-dep did not come up"
    );
    assert_eq!(text(&result, "f-free"), "up");
    let attempts = c
        .journal
        .read_all()
        .unwrap()
        .entries
        .iter()
        .filter(|e| e.vm_name == "f-bad" && e.action == "start")
        .inspect(|e| assert!(e.result.starts_with("error: "), "{}", e.result))
        .count();
    assert_eq!(attempts, 3);
    assert_eq!(t.state(&dep), Some(RunState::Shutoff));
    assert_eq!(t.state(&dep2), Some(RunState::Shutoff));
    assert_eq!(t.state(&free), Some(RunState::Running));
}

fn boot_source(dir: &Path, id: &str) -> std::path::PathBuf {
    let p = dir.join("boot_id");
    std::fs::write(&p, format!("{id}\n")).unwrap();
    p
}

/// `save_state` saves a running VM, records a stopped one, destroys one that ignores
/// ACPI after the timeout; host boot resumes the saved one from its managed save,
/// cold-boots the destroyed one (it was running), leaves the stopped one stopped, and
/// runs once per boot.
fn save_state_then_host_boot(t: &T) {
    let mut lap = Lap::new("save_state_then_host_boot");
    let save =
        |m: &mut LifecycleMeta| m.policy.on_host_shutdown = Some(HostShutdownAction::SaveState);
    let run = t.define("s-run", save);
    let stop = t.define("s-stop", save);
    let deaf = t.define("s-deaf", |_| {});
    t.start(&run);
    t.start(&deaf);
    let save_dir = t.lv.dir().join("cfg/libvirt/qemu/save");
    let c = t.case(|s| {
        s.host.shutdown_timeout_seconds = 2;
        s.host.managed_save_dir = Some(save_dir.clone());
    });
    lap.mark("define, start");
    let only = names(&["s-run", "s-stop", "s-deaf"]);
    let views = c.ctx.inventory(None, chrono::Utc::now()).unwrap();
    let plan = plan_shutdown(&c.ctx, &views, Some(&only));
    let report = run_shutdown(&c.ctx, &plan, &RunControl::new(), &mut |_| {});
    lap.mark("host shutdown");
    let result = |n: &str| {
        report
            .progress
            .steps
            .iter()
            .find(|s| s.name == n)
            .unwrap()
            .text
            .clone()
    };
    assert_eq!(result("s-run"), "saved (managed save)");
    assert_eq!(result("s-stop"), "was not running");
    assert_eq!(result("s-deaf"), "destroyed: still running after 2 s");
    assert_eq!(report.record_error, None);
    assert_eq!(t.lv.domstate("s-run"), "shut off (saved)");
    assert!(t.hv.has_managed_save(&run).unwrap());

    let file = RecoveryFile::load(c.dir.path()).unwrap().unwrap();
    let rec = |n: &str| file.records[file.find("", n).unwrap()].clone();
    let r = rec("s-run");
    assert_eq!(r.state.state_before_shutdown, RecoveryVmState::Running);
    assert_eq!(r.on_host_shutdown, HostShutdownAction::SaveState);
    let snapshot = r.state.memory_snapshot.clone().expect("the image path");
    assert!(snapshot.ends_with("/s-run.save"), "{snapshot}");
    assert!(r.state.memory_size_mb.unwrap() > 0);
    assert!(r.domain_xml().unwrap().contains("<name>s-run</name>"));
    assert_eq!(
        rec("s-stop").state.state_before_shutdown,
        RecoveryVmState::Stopped
    );
    assert_eq!(
        rec("s-deaf").state.state_before_shutdown,
        RecoveryVmState::Running
    );

    let source = boot_source(c.dir.path(), "test-boot-1");
    let BootGate::Run { boot_id } = boot::boot_gate(c.dir.path(), &source, false) else {
        panic!("a fresh state dir has no marker");
    };
    let views = c.ctx.inventory(None, chrono::Utc::now()).unwrap();
    let records = RecoveryFile::load(c.dir.path()).unwrap();
    let plan = boot::plan_boot(&c.ctx, &views, Some(&only), records, boot_id);
    let report = boot::run_boot(&c.ctx, plan, &RunControl::new(), &mut |_| {});
    lap.mark("host boot");
    assert_eq!(report.failed(), 0, "{report:#?}");
    assert_eq!(report.store_error, None);
    t.expect(&run, RunState::Running);
    assert_eq!(t.lv.domstate("s-run"), "running (restored)");
    assert!(!t.hv.has_managed_save(&run).unwrap());
    assert_eq!(t.lv.domstate("s-deaf"), "running (booted)");
    assert_eq!(t.state(&stop), Some(RunState::Shutoff));
    let file = RecoveryFile::load(c.dir.path()).unwrap().unwrap();
    assert_eq!(
        file.records[file.find("", "s-run").unwrap()]
            .restore_result
            .as_deref(),
        Some("started (resumed from its managed save)")
    );
    // Once per boot.
    assert!(matches!(
        boot::boot_gate(c.dir.path(), &source, false),
        BootGate::AlreadyRan { .. }
    ));
}

/// `on_host_reboot = destroy` forgets a VM's state (managed save discarded; destroyed if
/// something started it); `keep_stopped` keeps it off with its managed save, and its
/// dependant in the ordered start is skipped.
fn destroy_and_keep_stopped(t: &T) {
    let mut lap = Lap::new("destroy_and_keep_stopped");
    let saved_then = |reboot: HostRebootAction| {
        move |m: &mut LifecycleMeta| {
            m.policy.on_host_shutdown = Some(HostShutdownAction::SaveState);
            m.policy.on_host_reboot = Some(reboot);
        }
    };
    let gone = t.define("d-gone", saved_then(HostRebootAction::Destroy));
    let rerun = t.define("d-rerun", saved_then(HostRebootAction::Destroy));
    let kill = t.define("d-kill", |m| {
        m.policy.on_host_shutdown = Some(HostShutdownAction::Destroy);
        m.policy.on_host_reboot = Some(HostRebootAction::KeepStopped);
    });
    let keep = t.define("k-keep", |m| {
        saved_then(HostRebootAction::KeepStopped)(m);
        m.autostart = Some(auto(0, &[], false));
    });
    let dep = t.define("k-dep", |m| {
        m.policy.on_host_shutdown = Some(HostShutdownAction::Destroy);
        m.autostart = Some(auto(1, &["k-keep"], false));
    });
    for u in [&gone, &rerun, &kill, &keep, &dep] {
        t.start(u);
    }
    let c = t.case(|_| {});
    lap.mark("define, start");
    let only = names(&["d-gone", "d-rerun", "d-kill", "k-keep", "k-dep"]);
    let views = c.ctx.inventory(None, chrono::Utc::now()).unwrap();
    let plan = plan_shutdown(&c.ctx, &views, Some(&only));
    let report = run_shutdown(&c.ctx, &plan, &RunControl::new(), &mut |_| {});
    lap.mark("host shutdown");
    assert!(report.failed() == 0, "{report:#?}");
    assert_eq!(t.lv.domstate("d-kill"), "shut off (destroyed)");
    for u in [&gone, &rerun, &keep] {
        assert!(t.hv.has_managed_save(u).unwrap());
    }
    // Something else (libvirt's own autostart, say) starts d-rerun before host boot.
    t.start(&rerun);

    let source = boot_source(c.dir.path(), "test-boot-2");
    let BootGate::Run { boot_id } = boot::boot_gate(c.dir.path(), &source, false) else {
        panic!("no marker yet");
    };
    let views = c.ctx.inventory(None, chrono::Utc::now()).unwrap();
    let records = RecoveryFile::load(c.dir.path()).unwrap();
    let plan = boot::plan_boot(&c.ctx, &views, Some(&only), records, boot_id);
    let report = boot::run_boot(&c.ctx, plan, &RunControl::new(), &mut |_| {});
    lap.mark("host boot");
    assert_eq!(report.failed(), 0, "{report:#?}");
    for u in [&gone, &rerun, &kill, &keep, &dep] {
        assert_eq!(t.state(u), Some(RunState::Shutoff), "{u}");
    }
    assert!(!t.hv.has_managed_save(&gone).unwrap(), "discarded");
    assert_eq!(t.lv.domstate("d-rerun"), "shut off (destroyed)");
    assert!(
        t.hv.has_managed_save(&keep).unwrap(),
        "kept for a later start"
    );
    let auto = report.progress.autostart.expect("the ordered start ran");
    assert_eq!(
        text(&auto, "k-keep"),
        "skipped: on_host_reboot = keep_stopped"
    );
    assert_eq!(
        text(&auto, "k-dep"),
        "skipped: dependency k-keep did not come up"
    );
}

/// A cycle holds back the VMs in it, named with the reason; the others start, and
/// `vmlife autostart` exits non-zero.
fn cycle_holds_back_only_its_vms(t: &T) {
    let a = t.define("y-a", |m| m.autostart = Some(auto(0, &["y-b"], false)));
    let b = t.define("y-b", |m| m.autostart = Some(auto(0, &["y-a"], false)));
    let free = t.define("y-free", |m| m.autostart = Some(auto(0, &[], false)));
    let c = t.case(|_| {});
    let views = c.ctx.inventory(None, chrono::Utc::now()).unwrap();
    let only = names(&["y-a", "y-b", "y-free"]);
    let held: Vec<String> = prepare(&c.ctx, &views, Some(&only), &BTreeMap::new())
        .plan
        .held_back()
        .into_iter()
        .map(|(n, _)| n.to_string())
        .collect();
    assert_eq!(held, ["y-a", "y-b"]);
    let home = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("vmlife")
        .unwrap()
        .env_remove("LIBVIRT_DEFAULT_URI")
        .env_remove("VMLIFE_CONFIG")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .args(["-c", t.lv.uri(), "--state-dir"])
        .arg(c.dir.path())
        .args(["autostart", "y-a", "y-b", "y-free"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "vmlife: error: autostart: 2 VMs held back: y-a (in a dependency cycle: y-a → y-b → \
             y-a); y-b (in a dependency cycle: y-a → y-b → y-a)"
        ),
        "{stderr}"
    );
    for u in [&a, &b] {
        assert_eq!(t.state(u), Some(RunState::Shutoff));
    }
    assert_eq!(t.state(&free), Some(RunState::Running));
}
