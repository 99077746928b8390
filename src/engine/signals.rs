//! The pressure reactions' readings, taken each poll beside it (the IO half; the
//! decisions are [`crate::lifecycle::pressure`]'s):
//!
//! - host memory: `/proc/meminfo` and `/proc/pressure/memory` for a local URI, the
//!   hypervisor's node memory (`virNodeGetMemoryStats`) for a remote one;
//! - the disk errors of each VM paused for an I/O error (`virDomainGetDiskErrors`): a
//!   full disk whose event was missed;
//! - the free space of each disk of the VMs with a full disk on record, or found full
//!   now (`statvfs` of the image's directory, local URIs).
//!
//! Every call is cheap (a file read, one RPC per paused or full VM): no QEMU monitor is
//! woken.

use std::collections::{BTreeMap, BTreeSet};

use crate::hypervisor::{
    is_local_uri, DiskError, DiskErrorKind, DiskSpace, Hypervisor, PausedReason, RunState,
    StateReason,
};
use crate::lifecycle::pressure::{signal, MemInfo, Psi};
use crate::model::Uuid;
use crate::poll::Vm;

/// One poll's readings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Readings {
    /// Host memory, or why it is not known.
    pub memory: Option<Result<MemInfo, String>>,
    /// Memory PSI (local hosts whose kernel has it).
    pub psi: Option<Psi>,
    /// Disk errors of the VMs paused for an I/O error.
    pub disk_errors: BTreeMap<Uuid, Vec<DiskError>>,
    /// Free space per VM and disk target, where it could be read.
    pub space: BTreeMap<Uuid, BTreeMap<String, DiskSpace>>,
}

impl Readings {
    /// The memory reading, if there is one.
    pub fn mem(&self) -> Option<&MemInfo> {
        self.memory.as_ref().and_then(|m| m.as_ref().ok())
    }

    /// True when `uuid`'s disk errors say some disk has no space; its target.
    pub fn no_space(&self, uuid: &str) -> Option<&str> {
        self.disk_errors
            .get(uuid)?
            .iter()
            .find(|e| e.kind == DiskErrorKind::NoSpace)
            .map(|e| e.target.as_str())
    }
}

/// Host memory for a connection to `hv`.
pub fn read_memory(hv: &dyn Hypervisor) -> (Result<MemInfo, String>, Option<Psi>) {
    if is_local_uri(hv.uri()) {
        let mem = super::pressure::read_local_meminfo();
        let psi = std::fs::read_to_string("/proc/pressure/memory")
            .ok()
            .and_then(|t| signal::parse_psi(&t));
        return (mem, psi);
    }
    let mem = match hv.node_memory() {
        Ok(n) if n.total_kib > 0 => Ok(MemInfo {
            total_kib: n.total_kib,
            available_kib: n.available_kib(),
        }),
        Ok(_) => Err(format!("{} reports no memory total", hv.uri())),
        Err(e) => Err(e.message),
    };
    (mem, None)
}

/// The readings for one poll of `vms`; `watch`: VMs with a full disk on record.
pub fn read(hv: &dyn Hypervisor, vms: &[Vm], watch: &BTreeSet<Uuid>) -> Readings {
    let (mem, psi) = read_memory(hv);
    let mut r = Readings {
        memory: Some(mem),
        psi,
        ..Readings::default()
    };
    for v in vms {
        let io_paused = v.state == Some(RunState::Paused)
            && v.reason == StateReason::Paused(PausedReason::IoError);
        if io_paused {
            match hv.disk_errors(&v.uuid) {
                Ok(errs) => {
                    r.disk_errors.insert(v.uuid.clone(), errs);
                }
                Err(e) => tracing::debug!("disk errors of {}: {e}", v.snapshot.vm_name),
            }
        }
        if !watch.contains(&v.uuid) && r.no_space(&v.uuid).is_none() {
            continue;
        }
        let Some(details) = &v.details else { continue };
        let mut per_disk = BTreeMap::new();
        for d in &details.disks {
            let Some(src) = d.source.as_deref() else {
                continue;
            };
            match hv.disk_space(src) {
                Ok(sp) => {
                    per_disk.insert(d.target.clone(), sp);
                }
                Err(e) => tracing::debug!("{e}"),
            }
        }
        r.space.insert(v.uuid.clone(), per_disk);
    }
    r
}

#[cfg(test)]
#[path = "signals_tests.rs"]
mod tests;
