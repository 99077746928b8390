//! Limits against the fake hypervisor: which VMs get read, refusals as reasons.

use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::*;
use crate::hypervisor::fake::{running, FakeHypervisor, FakeTunables};
use crate::hypervisor::{DiskInfo, DiskTunable};
use crate::lifecycle::limits::LimitStatus;
use crate::metadata::{self, LifecycleMeta};
use crate::poll::{Poller, PollerOptions};

const GIB: u64 = 1 << 30;

fn put(fake: &FakeHypervisor, uuid: &str, managed: bool) {
    let mut d = running(uuid, &format!("vm-{uuid}"));
    d.details.memory_max_kib = Some(1024 * 1024);
    d.details.vcpus = Some(2);
    d.details.disks = vec![
        DiskInfo {
            target: "vda".into(),
            source: Some("/img/a".into()),
            device: "disk".into(),
        },
        DiskInfo {
            target: "sda".into(),
            source: None,
            device: "cdrom".into(),
        },
    ];
    if managed {
        let mut m = LifecycleMeta::default();
        m.policy.enforce_disk_limit = Some(true);
        d.metadata = Some(metadata::to_xml(&m));
    }
    fake.put(d);
}

fn vms(fake: &Arc<FakeHypervisor>) -> Vec<Vm> {
    let mut p = Poller::new(fake.clone(), PollerOptions::default());
    let mut v = p.poll(Utc.timestamp_opt(1_000_000, 0).unwrap()).unwrap();
    v.sort_by(|a, b| a.uuid.cmp(&b.uuid));
    v
}

#[test]
fn managed_running_vms_are_read_and_reconciled() {
    let fake = Arc::new(FakeHypervisor::new());
    put(&fake, "m", true);
    put(&fake, "u", false);
    fake.set_tunables(
        "m",
        FakeTunables {
            disks: vec![
                DiskTunable {
                    target: "vda".into(),
                    capacity_bytes: Some(10 * GIB),
                    threshold_bytes: None,
                },
                DiskTunable {
                    target: "sda".into(),
                    capacity_bytes: Some(GIB),
                    threshold_bytes: None,
                },
            ],
            ..FakeTunables::default()
        },
    );
    let views = vms(&fake);
    fake.clear_calls();
    let out = reports(
        &*fake,
        &views,
        &Config::default(),
        &RefusalMemo::new(),
        &|_| BTreeSet::new(),
    );
    let calls = fake.calls();
    assert!(
        calls.iter().all(|c| c.ends_with(" m")),
        "the unmanaged VM is not read: {calls:?}"
    );
    let (f, r) = &out[0];
    assert_eq!(f.declared.disks, ["vda"], "the cdrom is no disk to limit");
    assert_eq!(r.rows.len(), 3);
    assert!(
        r.rows.iter().all(|r| r.status == LimitStatus::Drift),
        "{:?}",
        r.rows
    );
    assert_eq!(r.steps.len(), 3);
    let (_, u) = &out[1];
    assert!(u.rows.iter().all(|r| r.status == LimitStatus::Skipped));
    // manage_all_vms reaches it.
    let mut c = Config::default();
    c.engine.manage_all_vms = true;
    let out = reports(&*fake, &views, &c, &RefusalMemo::new(), &|_| {
        BTreeSet::new()
    });
    assert_eq!(out[1].1.rows[0].status, LimitStatus::Drift);
}

#[test]
fn a_refused_read_is_the_reason_and_goes_to_the_memo() {
    let fake = Arc::new(FakeHypervisor::new());
    put(&fake, "m", true);
    let mut t = FakeTunables::default();
    t.refuse.insert("cpu");
    fake.set_tunables("m", t);
    let views = vms(&fake);
    let out = reports(
        &*fake,
        &views,
        &Config::default(),
        &RefusalMemo::new(),
        &|_| BTreeSet::new(),
    );
    let (f, r) = &out[0];
    let cpu = &r.rows[1];
    assert_eq!(cpu.status, LimitStatus::Refused);
    assert!(
        cpu.reason.starts_with("not supported by this driver: "),
        "{}",
        cpu.reason
    );
    // No disks reported while the XML has one: refused with the reason too.
    assert_eq!(r.rows[2].status, LimitStatus::Refused);
    let kinds: Vec<LimitKind> = read_refusals(f).into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, [LimitKind::Cpu, LimitKind::Disk]);
    assert_eq!(r.steps.len(), 1, "only memory is set");
}
