//! Limits for the engine and the front ends: a polled [`Vm`] plus its tunables, read
//! from the hypervisor, into the pure [`reconcile`]; and what to remember when a driver
//! refuses (docs/ARCHITECTURE.md §1, "Limits").
//!
//! Tunables are read only for VMs the reconcile would act on (managed, valid, running,
//! without VFIO): a skipped VM costs no call. A read that the driver refuses becomes
//! the row's reason; one that fails for a dead link or a vanished domain is `unknown`.

use std::collections::BTreeSet;

use crate::config::Config;
use crate::hypervisor::{HvErrorKind, HvResult, Hypervisor};
use crate::lifecycle::limits::{
    reconcile, Declared, LimitKind, LimitReport, Reading, RefusalMemo, Tunables, VmLimitFacts,
};
use crate::model::VmState;
use crate::poll::Vm;

use super::managed::vm_is_managed;

/// A VM's declared size, from its XML (`<memory>`, vCPUs, disks of device `disk`).
pub fn declared(v: &Vm) -> Declared {
    let Some(d) = v.details.as_deref() else {
        return Declared::default();
    };
    Declared {
        memory_kib: d.memory_max_kib.or(d.memory_kib),
        vcpus: d.vcpus,
        disks: d
            .disks
            .iter()
            .filter(|d| d.device == "disk" && !d.target.is_empty())
            .map(|d| d.target.clone())
            .collect(),
    }
}

/// A hypervisor answer as a reading: refused when the driver said no.
fn reading<T>(r: HvResult<T>) -> Reading<T> {
    match r {
        Ok(v) => Reading::Read(v),
        Err(e) if matches!(e.kind, HvErrorKind::Connection | HvErrorKind::NoDomain) => {
            Reading::Unknown
        }
        Err(e) => Reading::Refused(e.message),
    }
}

/// The reconcile's facts for `v`; reads its tunables only when it would act on it.
pub fn facts(
    hv: &dyn Hypervisor,
    v: &Vm,
    config: &Config,
    threshold_fired: BTreeSet<String>,
) -> VmLimitFacts {
    let meta = v.meta.as_ref().ok();
    let policy = meta.map_or_else(|| config.policy.clone(), |m| m.policy.apply(&config.policy));
    let mut f = VmLimitFacts {
        uuid: v.uuid.clone(),
        name: v.snapshot.vm_name.clone(),
        managed: vm_is_managed(v, config.engine.manage_all_vms),
        running: v.snapshot.vm_state == VmState::Running,
        policy_valid: meta.is_some(),
        policy,
        vfio: v.details.as_deref().is_some_and(|d| d.vfio),
        declared: declared(v),
        actual: Tunables::default(),
        threshold_fired,
    };
    if f.managed && f.policy_valid && f.running && !f.vfio {
        f.actual = read_tunables(hv, &f.uuid, &f.declared);
    }
    f
}

/// Reads the three tunables of a running VM.
pub fn read_tunables(hv: &dyn Hypervisor, uuid: &str, declared: &Declared) -> Tunables {
    let disks = match reading(hv.disk_tunables(uuid)) {
        Reading::Read(list) => {
            let mine: Vec<_> = list
                .into_iter()
                .filter(|d| declared.disks.contains(&d.target))
                .collect();
            if mine.is_empty() && !declared.disks.is_empty() {
                Reading::Refused("the driver reports no block capacity or threshold".into())
            } else {
                Reading::Read(mine)
            }
        }
        other => other,
    };
    Tunables {
        memory_hard_limit_kib: reading(hv.memory_hard_limit(uuid)),
        cpu: reading(hv.cpu_quota(uuid)),
        disks,
    }
}

/// Reconcile every VM of `vms`: one report each, in order.
pub fn reports(
    hv: &dyn Hypervisor,
    vms: &[Vm],
    config: &Config,
    memo: &RefusalMemo,
    fired: &dyn Fn(&str) -> BTreeSet<String>,
) -> Vec<(VmLimitFacts, LimitReport)> {
    let settings = config.limits.settings();
    vms.iter()
        .map(|v| {
            let f = facts(hv, v, config, fired(&v.uuid));
            let r = reconcile(&f, &settings, memo);
            (f, r)
        })
        .collect()
}

/// The limit a refused read left in `f`, for the memo: each (kind, message).
pub fn read_refusals(f: &VmLimitFacts) -> Vec<(LimitKind, String)> {
    let mut out = Vec::new();
    if let Reading::Refused(m) = &f.actual.memory_hard_limit_kib {
        out.push((LimitKind::Memory, m.clone()));
    }
    if let Reading::Refused(m) = &f.actual.cpu {
        out.push((LimitKind::Cpu, m.clone()));
    }
    if let Reading::Refused(m) = &f.actual.disks {
        out.push((LimitKind::Disk, m.clone()));
    }
    out
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
