//! A domain as vmlife sees it through the boundary: one poll's facts (its run state is
//! in [`super::RunState`]), the details of its XML.

use super::{RunState, StateReason};
pub use crate::model::{Uuid, VmRef};

/// Which stats groups a poll asks for. State is nearly free; the others wake every
/// running guest's QEMU monitor (see LIBVIRT-NOTES.md), so callers ask for them only
/// when the screen needs them, and only for running domains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsGroups {
    pub cpu: bool,
    pub balloon: bool,
    pub block: bool,
    pub vcpu: bool,
}

impl StatsGroups {
    /// State only.
    pub const STATE: StatsGroups = StatsGroups {
        cpu: false,
        balloon: false,
        block: false,
        vcpu: false,
    };
    /// Everything a snapshot shows.
    pub const ALL: StatsGroups = StatsGroups {
        cpu: true,
        balloon: true,
        block: true,
        vcpu: true,
    };

    /// What a one-shot command prints from one sample: memory and disk. A CPU
    /// percentage needs two samples of the counter (and the vCPU count to divide by),
    /// so a single poll does not ask for them.
    pub const ONE_SAMPLE: StatsGroups = StatsGroups {
        balloon: true,
        block: true,
        ..StatsGroups::STATE
    };

    /// The CPU counter alone (every refresh, for the VMs in view).
    pub const CPU: StatsGroups = StatsGroups {
        cpu: true,
        ..StatsGroups::STATE
    };

    /// Both sets of groups.
    pub fn union(self, o: StatsGroups) -> StatsGroups {
        StatsGroups {
            cpu: self.cpu || o.cpu,
            balloon: self.balloon || o.balloon,
            block: self.block || o.block,
            vcpu: self.vcpu || o.vcpu,
        }
    }

    /// True when any costly group is asked for.
    pub fn any(self) -> bool {
        self.cpu || self.balloon || self.block || self.vcpu
    }
}

/// One domain as one bulk poll saw it. Counters are `None` when the driver did not
/// report them (the test driver reports only state; shut-off domains have no counters).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawDomain {
    pub uuid: Uuid,
    pub name: String,
    /// `state.state` and `state.reason`.
    pub state: Option<RunState>,
    pub reason: StateReason,
    /// Defined (persistent) rather than transient.
    pub persistent: bool,
    /// libvirt's own autostart flag.
    pub libvirt_autostart: bool,
    /// `cpu.time`, nanoseconds of host CPU the guest used (ignored when shut off).
    pub cpu_time_ns: Option<u64>,
    /// `vcpu.current`.
    pub vcpus: Option<u32>,
    /// `balloon.current`, KiB the guest holds.
    pub balloon_current_kib: Option<u64>,
    /// `balloon.maximum`, KiB.
    pub balloon_max_kib: Option<u64>,
    /// Sum of `block.N.allocation` over the domain's disks, bytes.
    pub block_allocation_bytes: Option<u64>,
    /// Resident memory of the guest's QEMU process, KiB: `balloon.rss`, or for a local
    /// hypervisor `/proc/PID/stat` (see `poll::procfs`).
    pub rss_kib: Option<u64>,
}

/// What a domain's XML says that the snapshot needs; read only when a domain is new or
/// changed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DomainDetails {
    pub mac_addresses: std::sync::Arc<[String]>,
    /// Disk targets (`vda`, `sdb`) with their source path when there is one.
    pub disks: Vec<DiskInfo>,
    /// Configured memory in KiB (`<currentMemory>` or `<memory>`).
    pub memory_kib: Option<u64>,
    /// The declared maximum, `<memory>`, KiB: what the memory limit derives from.
    pub memory_max_kib: Option<u64>,
    /// Has a VFIO host device (`<hostdev type='pci'>` or `'mdev'`): libvirt sizes its
    /// memory lock itself, so vmlife leaves its limits alone.
    pub vfio: bool,
    pub vcpus: Option<u32>,
    /// The raw `<metadata>` lifecycle element, when present (see [`crate::metadata`])
    /// and declaring its own namespace.
    pub lifecycle_xml: Option<String>,
    /// The domain has a vmlife element, even when `lifecycle_xml` could not be cut out
    /// of the XML (its namespace declared on `<metadata>`): read it with `metadata()`.
    pub lifecycle_present: bool,
}

/// One disk of a domain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiskInfo {
    pub target: String,
    pub source: Option<String>,
    pub device: String,
}

/// Where an address came from; the order is the order they are asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressSource {
    Lease,
    Agent,
    Arp,
}

/// The host's memory as `virNodeGetMemoryStats` reports it, KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeMemory {
    pub total_kib: u64,
    pub free_kib: u64,
    /// `buffers`; 0 when the driver does not report it.
    pub buffers_kib: u64,
    /// `cached`; 0 when the driver does not report it.
    pub cached_kib: u64,
}

impl NodeMemory {
    /// What could be had without swapping: free + buffers + cached (at most the total).
    pub fn available_kib(&self) -> u64 {
        self.free_kib
            .saturating_add(self.buffers_kib)
            .saturating_add(self.cached_kib)
            .min(self.total_kib)
    }
}

/// What went wrong on one disk (`virDomainDiskErrorCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskErrorKind {
    /// No space left on the backing storage (`NO_SPACE`).
    NoSpace,
    /// Another I/O error (`UNSPEC`, or a code this build does not know).
    Other,
}

/// One disk's error, by its target (`vda`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskError {
    pub target: String,
    pub kind: DiskErrorKind,
}

/// Space on the file system (or pool) that holds a disk image, bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DiskSpace {
    /// Free to the hypervisor (not counting root's reserve).
    pub free_bytes: u64,
    pub total_bytes: u64,
}
