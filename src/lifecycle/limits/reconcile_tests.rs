//! Table tests of the reconcile: every field of [`VmLimitFacts`] and [`LimitSettings`].

use std::collections::BTreeSet;

use super::*;
use crate::lifecycle::limits::{Declared, DiskTunable, Tunables};
use crate::model::VmLifecyclePolicy;

const GIB: u64 = 1024 * 1024 * 1024;

fn settings() -> LimitSettings {
    LimitSettings {
        memory_overhead_kib: 256 * 1024,
        cpu_period_us: 100_000,
        disk_threshold_percent: 90,
    }
}

/// A running managed VM of 1 GiB, 2 vCPUs, one 10 GiB disk, everything enforced and
/// nothing set yet.
fn vm() -> VmLimitFacts {
    VmLimitFacts {
        uuid: "u1".into(),
        name: "web".into(),
        managed: true,
        running: true,
        policy_valid: true,
        policy: VmLifecyclePolicy {
            enforce_memory_limit: true,
            enforce_cpu_limit: true,
            enforce_disk_limit: true,
            ..VmLifecyclePolicy::default()
        },
        vfio: false,
        declared: Declared {
            memory_kib: Some(1024 * 1024),
            vcpus: Some(2),
            disks: vec!["vda".into()],
        },
        actual: Tunables {
            memory_hard_limit_kib: Reading::Read(None),
            cpu: Reading::Read(CpuQuota {
                period_us: Some(100_000),
                quota_us: Some(-1),
            }),
            disks: Reading::Read(vec![DiskTunable {
                target: "vda".into(),
                capacity_bytes: Some(10 * GIB),
                threshold_bytes: None,
            }]),
        },
        threshold_fired: BTreeSet::new(),
    }
}

fn statuses(r: &LimitReport) -> Vec<(LimitKind, LimitStatus)> {
    r.rows.iter().map(|r| (r.limit, r.status)).collect()
}

fn run(v: &VmLimitFacts) -> LimitReport {
    reconcile(v, &settings(), &RefusalMemo::new())
}

use LimitKind::{Cpu, Disk, Memory};
use LimitStatus::*;

#[test]
fn a_fresh_vm_drifts_on_every_limit_with_the_declared_values() {
    let r = run(&vm());
    assert_eq!(statuses(&r), [(Memory, Drift), (Cpu, Drift), (Disk, Drift)]);
    let values: Vec<LimitValue> = r.steps.iter().map(|s| s.value.clone()).collect();
    assert_eq!(
        values,
        [
            LimitValue::Memory {
                hard_limit_kib: 1024 * 1024 + 256 * 1024
            },
            LimitValue::Cpu {
                period_us: 100_000,
                quota_us: 200_000
            },
            LimitValue::Disk {
                target: "vda".into(),
                threshold_bytes: 9 * GIB
            },
        ]
    );
    assert!(r
        .steps
        .iter()
        .all(|s| s.old.is_none() && s.vm_id == "u1" && s.vm_name == "web"));
    assert!(
        r.rows[0].reason.contains("unlimited"),
        "{}",
        r.rows[0].reason
    );
    assert!(r.rows[0].reason.contains("1.2 GiB"), "{}", r.rows[0].reason);
    assert_eq!(r.rows[1].period_us, Some(100_000));
    assert_eq!(r.rows[2].target.as_deref(), Some("vda"));
}

/// Whole-VM skips: each leaves every limit alone with the reason.
#[test]
fn whole_vm_skips() {
    type Edit = fn(&mut VmLimitFacts);
    let cases: [(Edit, &str); 4] = [
        (|v| v.managed = false, "not managed"),
        (|v| v.policy_valid = false, "invalid policy"),
        (|v| v.vfio = true, "VFIO"),
        (|v| v.running = false, "not running"),
    ];
    for (edit, why) in cases {
        let mut v = vm();
        edit(&mut v);
        let r = run(&v);
        assert!(r.steps.is_empty(), "{why}");
        assert_eq!(r.rows.len(), 3, "{why}");
        for row in &r.rows {
            assert_eq!(row.status, Skipped, "{why}");
            assert!(row.reason.contains(why), "{why}: {}", row.reason);
        }
    }
}

/// The policy fields: a limit not enforced is reported `off` with its figures, no step.
#[test]
fn policy_fields_turn_each_limit_off() {
    type Edit = fn(&mut VmLifecyclePolicy);
    let cases: [(Edit, LimitKind, &str); 3] = [
        (
            |p| p.enforce_memory_limit = false,
            Memory,
            "enforce_memory_limit = false",
        ),
        (
            |p| p.enforce_cpu_limit = false,
            Cpu,
            "enforce_cpu_limit = false",
        ),
        (
            |p| p.enforce_disk_limit = false,
            Disk,
            "enforce_disk_limit = false",
        ),
    ];
    for (edit, kind, text) in cases {
        let mut v = vm();
        edit(&mut v.policy);
        let r = run(&v);
        let row = r.rows.iter().find(|r| r.limit == kind).unwrap();
        assert_eq!(row.status, Off);
        assert!(!row.enforced);
        assert!(row.desired.is_some(), "still shows the desired value");
        assert!(row.reason.contains(text), "{}", row.reason);
        assert_eq!(r.steps.len(), 2);
        assert!(r.steps.iter().all(|s| s.value.kind() != kind));
    }
}

/// Memory: every reading against the desired 1.25 GiB.
#[test]
fn memory_readings() {
    let want = 1024 * 1024 + 256 * 1024;
    let cases: [(Reading<Option<u64>>, LimitStatus, Option<u64>); 6] = [
        (Reading::Read(None), Drift, None),
        (Reading::Read(Some(want)), Ok, Some(want)),
        (Reading::Read(Some(want + 1)), Kept, Some(want + 1)),
        (Reading::Read(Some(512 * 1024)), Drift, Some(512 * 1024)),
        (Reading::Unknown, Unknown, None),
        (Reading::Refused("no cgroups".into()), Refused, None),
    ];
    for (reading, status, actual) in cases {
        let mut v = vm();
        v.actual.memory_hard_limit_kib = reading.clone();
        let r = run(&v);
        assert_eq!(r.rows[0].status, status, "{reading:?}");
        assert_eq!(r.rows[0].actual, actual, "{reading:?}");
        assert_eq!(r.rows[0].desired, Some(want));
        let step = r.steps.iter().find(|s| s.value.kind() == Memory);
        assert_eq!(step.is_some(), status == Drift, "{reading:?}");
        if let Some(s) = step {
            // Raised to the need, never below it.
            assert_eq!(
                s.value,
                LimitValue::Memory {
                    hard_limit_kib: want
                }
            );
            assert_eq!(s.old, actual);
        }
    }
    let mut v = vm();
    v.actual.memory_hard_limit_kib =
        Reading::Refused("cgroup memory controller is not mounted".into());
    let reason = &run(&v).rows[0].reason;
    assert!(
        reason.starts_with("not supported by this driver: cgroup"),
        "{reason}"
    );
}

/// The declared size: memory and vCPUs.
#[test]
fn declared_size() {
    let mut v = vm();
    v.declared.memory_kib = None;
    v.declared.vcpus = Some(0);
    let r = run(&v);
    assert_eq!(statuses(&r)[..2], [(Memory, Skipped), (Cpu, Skipped)]);
    v.declared.vcpus = None;
    assert_eq!(run(&v).rows[1].status, Skipped);
    let mut v = vm();
    v.declared.memory_kib = Some(u64::MAX);
    assert_eq!(run(&v).rows[0].desired, Some(u64::MAX), "saturates");
    v.declared.vcpus = Some(4);
    assert_eq!(run(&v).rows[1].desired, Some(400_000));
}

/// CPU: quotas read, with their own period, against 2 vCPUs × 100 ms.
#[test]
fn cpu_readings() {
    let q = |p: Option<u64>, q: Option<i64>| {
        Reading::Read(CpuQuota {
            period_us: p,
            quota_us: q,
        })
    };
    let cases = [
        (q(Some(100_000), None), Drift, None),
        (q(Some(100_000), Some(0)), Drift, None),
        (q(Some(100_000), Some(-1)), Drift, None),
        (q(Some(100_000), Some(QUOTA_MAX_US)), Drift, None),
        (q(Some(100_000), Some(200_000)), Ok, Some(200_000)),
        // Same share with another period: as declared.
        (q(Some(50_000), Some(100_000)), Ok, Some(200_000)),
        (q(None, Some(200_000)), Ok, Some(200_000)),
        (q(Some(100_000), Some(300_000)), Kept, Some(300_000)),
        (q(Some(100_000), Some(100_000)), Drift, Some(100_000)),
        (Reading::Unknown, Unknown, None),
        (
            Reading::Refused("cgroup CPU controller is not mounted".into()),
            Refused,
            None,
        ),
    ];
    for (reading, status, actual) in cases {
        let mut v = vm();
        v.actual.cpu = reading.clone();
        let r = run(&v);
        assert_eq!(r.rows[1].status, status, "{reading:?}");
        assert_eq!(r.rows[1].actual, actual, "{reading:?}");
        let step = r.steps.iter().find(|s| s.value.kind() == Cpu);
        assert_eq!(step.is_some(), status == Drift, "{reading:?}");
    }
}

/// The settings: overhead, period, threshold percent.
#[test]
fn settings_fields() {
    let s = LimitSettings {
        memory_overhead_kib: 0,
        cpu_period_us: 10_000,
        disk_threshold_percent: 50,
    };
    let r = reconcile(&vm(), &s, &RefusalMemo::new());
    let d: Vec<Option<u64>> = r.rows.iter().map(|r| r.desired).collect();
    assert_eq!(d, [Some(1024 * 1024), Some(20_000), Some(5 * GIB)]);
    assert_eq!(r.rows[1].period_us, Some(10_000));
    // A zero period or percent cannot divide by zero or plan a zero threshold.
    let s = LimitSettings {
        cpu_period_us: 0,
        disk_threshold_percent: 0,
        ..s
    };
    let r = reconcile(&vm(), &s, &RefusalMemo::new());
    assert_eq!(r.rows[1].desired, Some(2));
    assert_eq!(r.rows[2].desired, Some(10 * GIB / 100));
}

/// Disks: each disk its own row; capacity, threshold, fired.
#[test]
fn disk_readings() {
    let disk = |cap: Option<u64>, thr: Option<u64>| DiskTunable {
        target: "vdb".into(),
        capacity_bytes: cap,
        threshold_bytes: thr,
    };
    let cases = [
        (disk(Some(10 * GIB), None), Drift),
        (disk(Some(10 * GIB), Some(0)), Drift),
        (disk(Some(10 * GIB), Some(9 * GIB)), Ok),
        (disk(Some(10 * GIB), Some(5 * GIB)), Kept),
        (disk(None, None), Skipped),
        (disk(Some(0), None), Skipped),
    ];
    for (d, status) in cases {
        let mut v = vm();
        v.actual.disks = Reading::Read(vec![d.clone()]);
        let r = run(&v);
        assert_eq!(r.rows[2].status, status, "{d:?}");
        assert_eq!(r.rows[2].target.as_deref(), Some("vdb"));
        let step = r.steps.iter().find(|s| s.value.kind() == Disk);
        assert_eq!(step.is_some(), status == Drift, "{d:?}");
    }
    // Two disks, two rows; none, none.
    let mut v = vm();
    let mut two = vec![disk(Some(GIB), None)];
    two.push(DiskTunable {
        target: "vdc".into(),
        ..disk(Some(2 * GIB), None)
    });
    v.actual.disks = Reading::Read(two);
    let r = run(&v);
    assert_eq!(r.rows.len(), 4);
    assert_eq!(r.steps.len(), 4);
    v.actual.disks = Reading::Read(vec![]);
    assert_eq!(run(&v).rows.len(), 2);
    // Not read, refused: one row, no step.
    for (reading, status) in [
        (Reading::Unknown, Unknown),
        (Reading::Refused("no block stats".into()), Refused),
    ] {
        v.actual.disks = reading;
        let r = run(&v);
        assert_eq!(r.rows[2].status, status);
        assert_eq!(r.rows[2].target, None);
        assert!(r.steps.iter().all(|s| s.value.kind() != Disk));
    }
}

#[test]
fn a_fired_threshold_is_a_warning_and_not_re_armed() {
    let mut v = vm();
    v.threshold_fired.insert("vda".into());
    let r = run(&v);
    assert_eq!(r.rows[2].status, Reached);
    assert!(r.rows[2].reason.contains("disk-full warning"));
    assert!(r.steps.iter().all(|s| s.value.kind() != Disk));
    // Another disk's event does not hold this one back.
    let mut v = vm();
    v.threshold_fired.insert("vdz".into());
    assert_eq!(run(&v).rows[2].status, Drift);
}

#[test]
fn a_remembered_refusal_plans_nothing_until_the_definition_changes() {
    let v = vm();
    let mut memo = RefusalMemo::new();
    memo.remember(&v.uuid, Memory, &v.declared, "cgroups unavailable");
    memo.remember(&v.uuid, Disk, &v.declared, "no threshold support");
    let r = reconcile(&v, &settings(), &memo);
    assert_eq!(
        statuses(&r),
        [(Memory, Refused), (Cpu, Drift), (Disk, Refused)]
    );
    assert!(r.rows[0].reason.contains("cgroups unavailable"));
    assert!(r.rows[0].reason.contains("not retried"));
    assert_eq!(r.steps.len(), 1);
    // A new definition (more memory): tried again.
    let mut v2 = v.clone();
    v2.declared.memory_kib = Some(2 * 1024 * 1024);
    let r = reconcile(&v2, &settings(), &memo);
    assert_eq!(r.rows[0].status, Drift);
    assert_eq!(r.steps.len(), 3);
}

#[test]
fn refused_rows_count_as_drift_for_display() {
    let mut v = vm();
    v.actual.memory_hard_limit_kib = Reading::Refused("x".into());
    v.actual.cpu = Reading::Read(CpuQuota {
        period_us: Some(100_000),
        quota_us: Some(200_000),
    });
    let r = run(&v);
    assert!(r.rows[0].drifts());
    assert!(!r.rows[1].drifts());
}

#[test]
fn byte_display() {
    assert_eq!(show_bytes(100), "100 B");
    assert_eq!(show_bytes(9 * GIB), "9 GiB");
    assert_eq!(show_kib(1024 * 1024 + 256 * 1024), "1.2 GiB");
    assert_eq!(show_kib(512 * 1024), "512 MiB");
    assert_eq!(show_bytes(u64::MAX), "16384 PiB");
}
