//! The executor's engine ops (cleanup, restart by policy) against a real, private,
//! unprivileged libvirtd (see `tests/common/libvirtd.rs`) with tiny diskless TCG VMs,
//! which boot no OS and so ignore ACPI shutdown requests. Never touches
//! `qemu:///system`.
//!
//! One `#[test]` starts one daemon and runs independent cases on separate VMs in
//! parallel threads. `VMLIFE_SKIP_LIBVIRTD=1` skips it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::libvirtd::{PrivateLibvirtd, VMLIFE_NS};
use common::{run_cases, wait_for, Lap};
use tokio::sync::mpsc::unbounded_channel;
use vmlife::executor::{ExecResult, Executor, Outcome};
use vmlife::hypervisor::libvirt::LibvirtHypervisor;
use vmlife::hypervisor::{Hypervisor, RawDomain, RunState, StatsGroups};
use vmlife::lifecycle::{Actor, Command, Op};
use vmlife::metadata::{self, LifecycleMeta};
use vmlife::model::{PersistenceMode, RestartPolicy};
use vmlife::store::Journal;

const STATE_TIMEOUT: Duration = Duration::from_secs(20);

#[test]
fn executor_engine_ops_against_a_private_daemon() {
    let Some(lv) = PrivateLibvirtd::start_or_skip() else {
        return;
    };
    let hv: Arc<LibvirtHypervisor> =
        Arc::new(LibvirtHypervisor::open(lv.uri(), false).expect("open a read-write connection"));
    let (tx, _rx) = unbounded_channel();
    let ex = Executor::new(hv.clone(), Arc::new(Journal::in_memory()), tx);
    let t = Ctx {
        lv: &lv,
        hv: &hv,
        ex: &ex,
    };
    run_cases(&[
        ("cleanup_force", &|| cleanup_force(&t)),
        ("extended_survives", &|| extended_survives(&t)),
        ("restart_after_crash", &|| restart_after_crash(&t)),
        ("remove_storage", &|| remove_storage(&t)),
    ]);
}

struct Ctx<'a> {
    lv: &'a PrivateLibvirtd,
    hv: &'a LibvirtHypervisor,
    ex: &'a Executor,
}

impl Ctx<'_> {
    fn run(&self, uuid: &str, name: &str, op: Op) -> ExecResult {
        self.ex
            .run_now(Command::new(uuid, name, op, "test"), Actor::Engine)
    }

    fn set_meta(&self, uuid: &str, f: impl FnOnce(&mut LifecycleMeta)) {
        let mut m = LifecycleMeta::default();
        f(&mut m);
        self.hv
            .set_metadata(uuid, Some(&metadata::to_xml(&m)))
            .expect("set metadata");
    }

    /// A tiny VM, defined, temporary and expired an hour ago; started when `start`.
    fn expired_vm(&self, name: &str, start: bool) -> String {
        let uuid = self.lv.define_tiny(name);
        self.set_meta(&uuid, expired);
        if start {
            self.hv.start(&uuid).expect("start");
            expect_state(self.hv, &uuid, RunState::Running);
        }
        uuid
    }

    fn defined(&self, name: &str) -> bool {
        self.lv
            .virsh(&["list", "--all", "--name"])
            .lines()
            .any(|l| l.trim() == name)
    }
}

fn expired(m: &mut LifecycleMeta) {
    m.persistence.mode = PersistenceMode::Temporary;
    m.persistence.ttl_hours = 1.0;
    m.persistence.created_at_unix = Some(Utc::now().timestamp() - 7200);
    m.persistence.auto_cleanup = true;
}

fn cleanup(force: bool, grace_seconds: u64, remove_storage: bool) -> Op {
    Op::Cleanup {
        force,
        grace_seconds,
        remove_storage,
    }
}

/// An OS-less guest ignores the shutdown request: without force the cleanup fails after
/// the grace period and leaves the VM running and defined; with force it is destroyed
/// and undefined.
fn cleanup_force(t: &Ctx) {
    let name = "vmlife-x-force";
    let mut lap = Lap::new("cleanup_force");
    let uuid = t.expired_vm(name, true);
    lap.mark("define, metadata, start");

    let r = t.run(&uuid, name, cleanup(false, 2, false));
    lap.mark("cleanup without force");
    assert_eq!(
        r.outcome,
        Outcome::Failed("still running after the 2s grace period (force_cleanup = false)".into())
    );
    assert!(
        t.lv.domstate(name).starts_with("running"),
        "{}",
        t.lv.domstate(name)
    );
    assert!(t.defined(name));

    let r = t.run(&uuid, name, cleanup(true, 2, false));
    lap.mark("cleanup with force");
    assert_eq!(
        r.outcome,
        Outcome::Ok(format!(
            "cleaned up {name}: still running after the 2s grace period, destroyed, undefined"
        ))
    );
    assert!(!t.defined(name), "{name} still in virsh list --all");
    assert!(t.lv.qemu_pid(name).is_none(), "QEMU of {name} still runs");
}

/// Planned while expired, extended before it runs: refused, nothing stopped.
fn extended_survives(t: &Ctx) {
    let name = "vmlife-x-extended";
    let uuid = t.expired_vm(name, true);
    // Another vmlife (or a person with virsh) extends it after the plan was made.
    t.set_meta(&uuid, |m| {
        expired(m);
        m.persistence.scheduled_cleanup = Some(Utc::now().timestamp() + 3600);
    });
    let r = t.run(&uuid, name, cleanup(true, 2, false));
    let Outcome::Refused(why) = &r.outcome else {
        panic!("not refused: {r}");
    };
    assert!(why.starts_with("no longer due: extended to "), "{why}");
    assert!(
        t.lv.domstate(name).starts_with("running"),
        "{}",
        t.lv.domstate(name)
    );
    assert!(t.defined(name));
    // Replaced by a same-named VM with another UUID: the plan's UUID is gone.
    t.hv.destroy(&uuid).expect("destroy");
    expect_state(t.hv, &uuid, RunState::Shutoff);
    t.hv.undefine(&uuid).expect("undefine");
    let new = t.expired_vm(name, false);
    assert_ne!(new, uuid);
    let r = t.run(&uuid, name, cleanup(true, 2, false));
    assert_eq!(
        r.outcome,
        Outcome::Refused(format!("domain {name} ({uuid}) no longer exists"))
    );
    assert!(t.defined(name), "the replacement was removed");
    t.hv.undefine(&new).expect("undefine the replacement");
}

/// A crashed VM (QEMU killed) is started again and the restart counted in metadata.
fn restart_after_crash(t: &Ctx) {
    let name = "vmlife-x-restart";
    let mut lap = Lap::new("restart_after_crash");
    let uuid = t.lv.define_tiny(name);
    t.set_meta(&uuid, |m| {
        m.persistence.restart_policy = RestartPolicy::OnFailure;
    });
    t.hv.start(&uuid).expect("start");
    expect_state(t.hv, &uuid, RunState::Running);
    lap.mark("define, metadata, start");
    t.lv.kill_qemu(name);
    expect_state(t.hv, &uuid, RunState::Shutoff);
    lap.mark("kill QEMU");

    let r = t.run(&uuid, name, Op::RestartByPolicy);
    lap.mark("restart");
    assert_eq!(
        r.outcome,
        Outcome::Ok(format!("restarted {name} (restart 1 of 5)"))
    );
    expect_state(t.hv, &uuid, RunState::Running);
    for scope in ["--live", "--config"] {
        let out = t.lv.virsh(&["metadata", name, "--uri", VMLIFE_NS, scope]);
        assert!(out.contains(r#"restart_count="1""#), "{scope}: {out}");
        assert!(out.contains("last_state_change="), "{scope}: {out}");
    }
    // Running now: a second restart is refused.
    let r = t.run(&uuid, name, Op::RestartByPolicy);
    assert_eq!(r.outcome, Outcome::Refused("already running".into()));

    t.hv.destroy(&uuid).expect("destroy");
    expect_state(t.hv, &uuid, RunState::Shutoff);
    t.hv.undefine(&uuid).expect("undefine");
}

/// `remove_storage`: a volume of a storage pool is deleted through libvirt; a disk
/// file in no pool is left in place and named in the outcome.
fn remove_storage(t: &Ctx) {
    let name = "vmlife-x-storage";
    let pool = "vmlife-x-pool";
    let pool_dir = t.lv.dir().join("pool");
    let pool_dir = pool_dir.to_str().expect("UTF-8 path");
    t.lv.virsh(&["pool-define-as", pool, "dir", "--target", pool_dir]);
    t.lv.virsh(&["pool-build", pool]);
    t.lv.virsh(&["pool-start", pool]);
    t.lv.virsh(&["vol-create-as", pool, "disk0.img", "1M", "--format", "raw"]);
    let vol = t.lv.virsh(&["vol-path", "--pool", pool, "disk0.img"]);
    let vol = vol.trim();
    let loose = t.lv.dir().join("loose.img");
    std::fs::write(&loose, b"not a volume").expect("write a loose disk file");
    let loose = loose.to_str().expect("UTF-8 path");
    let xml = format!(
        "<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>\
         <disk type='file' device='disk'><driver name='qemu' type='raw'/>\
         <source file='{vol}'/><target dev='vda' bus='virtio'/></disk>\
         <disk type='file' device='disk'><driver name='qemu' type='raw'/>\
         <source file='{loose}'/><target dev='vdb' bus='virtio'/></disk>\
         </devices></domain>"
    );
    let uuid = t.lv.define_xml(name, &xml);
    t.set_meta(&uuid, expired);

    let r = t.run(&uuid, name, cleanup(false, 2, true));
    assert_eq!(
        r.outcome,
        Outcome::Ok(format!(
            "cleaned up {name}: already shut off, deleted volume {vol}, left {loose} in place \
             (not in any storage pool), undefined"
        ))
    );
    assert!(!t.defined(name));
    let vols = t.lv.virsh(&["vol-list", pool]);
    assert!(!vols.contains("disk0.img"), "{vols}");
    assert!(!std::path::Path::new(vol).exists(), "{vol} still exists");
    assert!(std::path::Path::new(loose).exists(), "{loose} was removed");
}

fn find(hv: &dyn Hypervisor, uuid: &str) -> Option<RawDomain> {
    hv.poll(StatsGroups::STATE)
        .expect("poll")
        .into_iter()
        .find(|d| d.uuid == uuid)
}

fn expect_state(hv: &dyn Hypervisor, uuid: &str, state: RunState) {
    wait_for(STATE_TIMEOUT, Duration::from_millis(50), || {
        find(hv, uuid).filter(|d| d.state == Some(state))
    })
    .unwrap_or_else(|| {
        panic!(
            "{uuid}: not {state:?} within {STATE_TIMEOUT:?}; last poll: {:?}",
            find(hv, uuid)
        )
    });
}
