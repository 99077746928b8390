//! The hypervisor boundary: what vmlife needs from libvirt, as a trait.
//!
//! [`libvirt::LibvirtHypervisor`] is the only implementation that talks to a real
//! hypervisor and the only module that imports `virt`. Everything above it (poller,
//! executor, CLI, dashboard) sees plain data: [`RawDomain`] facts from one bulk poll and
//! [`DomainDetails`] parsed from a domain's XML.
//!
//! Every action takes a domain's UUID, never a name: a name can be reused by another VM
//! between the moment a person looked and the moment vmlife acts.

pub mod domxml;
pub mod fake;
pub mod libvirt;

use std::fmt;

/// A domain's UUID in its canonical text form (lower-case, with dashes).
pub type Uuid = String;

/// libvirt's run state of a domain (`virDomainState`) with its reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunState {
    NoState,
    Running,
    Blocked,
    Paused,
    ShuttingDown,
    Shutoff,
    Crashed,
    PmSuspended,
    /// A state number this build does not know.
    Unknown(i32),
}

impl RunState {
    /// From libvirt's `virDomainState` number.
    pub fn from_code(code: i32) -> Self {
        match code {
            0 => RunState::NoState,
            1 => RunState::Running,
            2 => RunState::Blocked,
            3 => RunState::Paused,
            4 => RunState::ShuttingDown,
            5 => RunState::Shutoff,
            6 => RunState::Crashed,
            7 => RunState::PmSuspended,
            n => RunState::Unknown(n),
        }
    }

    /// True when the domain has a running process (its counters mean something).
    pub fn is_active(self) -> bool {
        !matches!(
            self,
            RunState::Shutoff | RunState::Crashed | RunState::NoState | RunState::Unknown(_)
        )
    }
}

/// Shut-off reasons (`virDomainShutoffReason`) that the restart policy distinguishes.
pub mod shutoff_reason {
    pub const UNKNOWN: i32 = 0;
    pub const SHUTDOWN: i32 = 1;
    pub const DESTROYED: i32 = 2;
    pub const CRASHED: i32 = 3;
    pub const MIGRATED: i32 = 4;
    pub const SAVED: i32 = 5;
    pub const FAILED: i32 = 6;
    pub const FROM_SNAPSHOT: i32 = 7;
    pub const DAEMON: i32 = 8;
}

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
    pub reason: i32,
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
}

/// What a domain's XML says that the snapshot needs; read only when a domain is new or
/// changed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DomainDetails {
    pub mac_addresses: Vec<String>,
    /// Disk targets (`vda`, `sdb`) with their source path when there is one.
    pub disks: Vec<DiskInfo>,
    /// Configured memory in KiB (`<currentMemory>` or `<memory>`).
    pub memory_kib: Option<u64>,
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

/// An error from the hypervisor, with what vmlife was doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HvError {
    pub kind: HvErrorKind,
    pub message: String,
}

/// What kind of failure, so callers can react (a missing domain is not a dead link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HvErrorKind {
    NoDomain,
    Connection,
    ReadOnly,
    InvalidOperation,
    Other,
}

impl HvError {
    pub fn new(kind: HvErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for HvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HvError {}

/// Result of a hypervisor call.
pub type HvResult<T> = Result<T, HvError>;

/// A domain named by a person: its UUID and current name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRef {
    pub uuid: Uuid,
    pub name: String,
}

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

    /// Find a domain by name or UUID.
    fn lookup(&self, name_or_uuid: &str) -> HvResult<DomainRef>;

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
}
