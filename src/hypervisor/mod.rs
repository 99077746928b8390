//! The hypervisor boundary: what vmlife needs from libvirt, as a trait.
//!
//! [`libvirt::LibvirtHypervisor`] is the only implementation that talks to a real
//! hypervisor and the only module that imports `virt`. Everything above it (poller,
//! executor, CLI, dashboard) sees plain data: [`RawDomain`] facts from one bulk poll
//! (its [`RunState`] and [`StateReason`] as enums), [`DomainDetails`] parsed from a
//! domain's XML, and [`DomainEvent`]s whose details are enums too ([`EventDetail`]).
//! libvirt's numbers and their decoding stay in [`libvirt`].
//!
//! Every action takes a domain's UUID, never a name: a name can be reused by another VM
//! between the moment a person looked and the moment vmlife acts.
//!
//! **Events.** [`Hypervisor::subscribe`] hands the hypervisor an [`EventSink`] (a tokio
//! unbounded sender) that receives every [`DomainEvent`]: lifecycle, reboot, metadata
//! change, IO error and guest-agent events, and [`DomainEvent::ConnectionLost`] /
//! [`DomainEvent::Reconnected`] when the link to libvirt drops and comes back. Events
//! say *that* something happened at once; polling still supplies the counters.

pub mod domxml;
/// An in-memory hypervisor for the unit tests; not compiled into the product.
#[cfg(test)]
pub mod fake;
pub mod libvirt;

mod domain;
mod error;
mod event;
mod state;
mod uri;

pub use domain::*;
pub use error::*;
pub use event::*;
pub use state::*;
pub use uri::is_local_uri;

pub use crate::lifecycle::limits::{CpuQuota, DiskTunable};

/// Everything vmlife asks of a hypervisor. Every call blocks; callers in async code run
/// them on blocking threads.
pub trait Hypervisor: Send + Sync {
    /// The URI this connection was opened with.
    fn uri(&self) -> &str;

    /// True when the connection was opened read-only.
    fn is_readonly(&self) -> bool;

    /// One bulk poll of every domain (`virConnectGetAllDomainStats`): state always,
    /// `groups` for active domains only.
    fn poll(&self, groups: StatsGroups) -> HvResult<Vec<RawDomain>>;

    /// The state and `groups` of the given domains only (`virDomainListGetStats`): the
    /// costly groups are asked of these and of no other domain. Domains that are gone
    /// are left out; counters of inactive ones are `None`.
    ///
    /// The default polls every domain and keeps the given ones (for implementations
    /// where a poll costs nothing).
    fn stats_of(&self, uuids: &[Uuid], groups: StatsGroups) -> HvResult<Vec<RawDomain>> {
        let wanted: std::collections::HashSet<&str> = uuids.iter().map(|u| u.as_str()).collect();
        Ok(self
            .poll(groups)?
            .into_iter()
            .filter(|r| wanted.contains(r.uuid.as_str()))
            .collect())
    }

    /// How many domains run (`virConnectNumOfDomains`): one cheap round trip, which
    /// tells the dashboard that a host answers and whether its running set may have
    /// moved, between full polls.
    ///
    /// The default counts a state poll's active domains.
    fn running_count(&self) -> HvResult<usize> {
        Ok(self
            .poll(StatsGroups::STATE)?
            .iter()
            .filter(|r| r.state.is_some_and(RunState::is_active))
            .count())
    }

    /// Find a domain by name or UUID.
    fn lookup(&self, name_or_uuid: &str) -> HvResult<VmRef>;

    /// The domain's inactive-or-live XML, parsed.
    fn details(&self, uuid: &str) -> HvResult<DomainDetails>;

    /// The domain's addresses from the first source that answers, in
    /// [`AddressSource`] order.
    fn addresses(&self, uuid: &str) -> HvResult<Vec<String>>;

    /// The vmlife metadata element, or `None` when the domain has none.
    fn metadata(&self, uuid: &str) -> HvResult<Option<String>>;

    /// Replace (or with `None` remove) the vmlife metadata element; LIVE|CONFIG where
    /// libvirt allows it.
    fn set_metadata(&self, uuid: &str, xml: Option<&str>) -> HvResult<()>;

    fn start(&self, uuid: &str) -> HvResult<()>;
    /// Ask the guest to shut down (ACPI or agent); returns before it has.
    fn shutdown(&self, uuid: &str) -> HvResult<()>;
    fn reboot(&self, uuid: &str) -> HvResult<()>;
    /// Hard stop.
    fn destroy(&self, uuid: &str) -> HvResult<()>;
    fn suspend(&self, uuid: &str) -> HvResult<()>;
    fn resume(&self, uuid: &str) -> HvResult<()>;
    fn managed_save(&self, uuid: &str) -> HvResult<()>;
    /// Undefine with managed save, snapshot metadata and NVRAM.
    fn undefine(&self, uuid: &str) -> HvResult<()>;
    /// Define (or redefine) a domain from XML; returns its UUID.
    fn define(&self, xml: &str) -> HvResult<Uuid>;

    /// Delete the storage volume at `path` through the storage API (look it up by path
    /// in the storage pools, then delete it). `Ok(false)` when no pool has a volume at
    /// `path`: nothing is deleted (vmlife never removes files by hand).
    ///
    /// The default refuses, so an implementation that does not know storage deletes
    /// nothing.
    fn delete_volume(&self, path: &str) -> HvResult<bool> {
        Err(HvError::new(
            HvErrorKind::Other,
            format!("delete volume {path}: not supported on {}", self.uri()),
        ))
    }

    /// Deliver every [`DomainEvent`] from now on to `sink`, until the hypervisor is
    /// dropped or the sink's receiver is. Several sinks may subscribe; each gets every
    /// event. Blocks briefly (the first subscription registers libvirt callbacks).
    ///
    /// While the connection is down the sink is still accepted: events start with the
    /// next [`DomainEvent::Reconnected`].
    ///
    /// The default says events are not supported (callers keep polling).
    fn subscribe(&self, sink: EventSink) -> HvResult<()> {
        drop(sink);
        Err(HvError::new(
            HvErrorKind::Other,
            format!("domain events: not supported on {}", self.uri()),
        ))
    }

    /// The domain's persistent (inactive) XML, as `define` takes it back: the config
    /// snapshot of a recovery record. Without secure parts (passwords).
    ///
    /// The default says it is not supported.
    fn domain_xml(&self, uuid: &str) -> HvResult<String> {
        Err(HvError::new(
            HvErrorKind::Other,
            format!("domain XML {uuid}: not supported on {}", self.uri()),
        ))
    }

    /// True when the domain has a managed save image (its next start restores it).
    ///
    /// The default says it is not supported.
    fn has_managed_save(&self, uuid: &str) -> HvResult<bool> {
        Err(HvError::new(
            HvErrorKind::Other,
            format!("managed save check {uuid}: not supported on {}", self.uri()),
        ))
    }

    /// Discard the domain's managed save image (its next start boots afresh).
    ///
    /// The default refuses, so an implementation that does not know it discards
    /// nothing.
    fn managed_save_remove(&self, uuid: &str) -> HvResult<()> {
        Err(HvError::new(
            HvErrorKind::Other,
            format!(
                "discard managed save {uuid}: not supported on {}",
                self.uri()
            ),
        ))
    }

    // Resource pressure (issue 11): the node's memory and a domain's disk errors.

    /// The host's memory (`virNodeGetMemoryStats`, all cells): what a remote URI's
    /// memory pressure is judged by (a local one reads `/proc/meminfo`).
    ///
    /// The default says it is not supported.
    fn node_memory(&self) -> HvResult<NodeMemory> {
        Err(HvError::new(
            HvErrorKind::Other,
            format!("node memory: not supported on {}", self.uri()),
        ))
    }

    /// The domain's disk errors (`virDomainGetDiskErrors`): which disk of a VM paused
    /// for an I/O error found no space. Disks without an error are left out.
    ///
    /// The default says it is not supported.
    fn disk_errors(&self, uuid: &str) -> HvResult<Vec<DiskError>> {
        Err(HvError::new(
            HvErrorKind::Other,
            format!("disk errors {uuid}: not supported on {}", self.uri()),
        ))
    }

    /// Free and total space of the file system holding the disk image at `path` (its
    /// directory's `statvfs`), for a hypervisor on this host: when a VM paused for a
    /// full disk may run again.
    ///
    /// The default says it is not known (a remote host's file systems are not this
    /// machine's).
    fn disk_space(&self, path: &str) -> HvResult<DiskSpace> {
        Err(HvError::new(
            HvErrorKind::Other,
            format!("free space of {path}: not known on {}", self.uri()),
        ))
    }
    // ---- Limits (docs/ARCHITECTURE.md §1, "Limits"): a running domain's tunables, read
    // and set live (never in its persistent config). Every default refuses, which the
    // limits report shows once as the reason.

    /// The memtune hard limit in KiB (`virDomainGetMemoryParameters`); `None`: unlimited.
    fn memory_hard_limit(&self, uuid: &str) -> HvResult<Option<u64>> {
        Err(unsupported(self.uri(), "memory parameters", uuid))
    }

    /// Set the memtune hard limit, KiB, live (`virDomainSetMemoryParameters`).
    fn set_memory_hard_limit(&self, uuid: &str, kib: u64) -> HvResult<()> {
        let _ = kib;
        Err(unsupported(self.uri(), "set memory parameters", uuid))
    }

    /// The whole-VM CFS bandwidth `global_period` / `global_quota`
    /// (`virDomainGetSchedulerParametersFlags`).
    fn cpu_quota(&self, uuid: &str) -> HvResult<CpuQuota> {
        Err(unsupported(self.uri(), "scheduler parameters", uuid))
    }

    /// Set `global_period` / `global_quota`, µs, live
    /// (`virDomainSetSchedulerParametersFlags`).
    fn set_cpu_quota(&self, uuid: &str, period_us: u64, quota_us: u64) -> HvResult<()> {
        let _ = (period_us, quota_us);
        Err(unsupported(self.uri(), "set scheduler parameters", uuid))
    }

    /// Each disk's capacity and armed block threshold (the block stats of this domain).
    fn disk_tunables(&self, uuid: &str) -> HvResult<Vec<DiskTunable>> {
        Err(unsupported(self.uri(), "block stats", uuid))
    }

    /// Arm a block threshold on disk `target`, bytes (`virDomainSetBlockThreshold`);
    /// crossing it sends [`DomainEvent::BlockThreshold`] once.
    fn set_block_threshold(&self, uuid: &str, target: &str, bytes: u64) -> HvResult<()> {
        let _ = (target, bytes);
        Err(unsupported(self.uri(), "set block threshold", uuid))
    }
}

/// The error of a call this implementation does not have.
fn unsupported(uri: &str, what: &str, uuid: &str) -> HvError {
    HvError::new(
        HvErrorKind::Other,
        format!("{what} {uuid}: not supported on {uri}"),
    )
}
