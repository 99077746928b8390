//! The hypervisor boundary: what vmlife needs from libvirt, as a trait.
//!
//! [`libvirt::LibvirtHypervisor`] is the only implementation that talks to a real
//! hypervisor and the only module that imports `virt`. Everything above it (poller,
//! executor, CLI, dashboard) sees plain data: [`RawDomain`] facts from one bulk poll and
//! [`DomainDetails`] parsed from a domain's XML.
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

use std::fmt;

use crate::lifecycle::restart::StopCause;

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
    pub mac_addresses: std::sync::Arc<[String]>,
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

/// What happened to a domain, as a libvirt lifecycle event says
/// (`virDomainEventType`). The event's detail stays a raw number (see [`event_detail`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifecycleEvent {
    /// Defined or updated (`DEFINED`).
    Defined,
    /// Undefined (`UNDEFINED`).
    Undefined,
    /// Started: booted, restored, migrated in, woken up (`STARTED`).
    Started,
    /// Paused (`SUSPENDED`).
    Suspended,
    /// Unpaused (`RESUMED`).
    Resumed,
    /// Stopped: shut down, destroyed, crashed, saved, … (`STOPPED`).
    Stopped,
    /// The guest is shutting down or has shut down; a `Stopped` follows (`SHUTDOWN`).
    Shutdown,
    /// Suspended to memory or disk by the guest (`PMSUSPENDED`).
    PmSuspended,
    /// The guest crashed (panic device; `CRASHED`).
    Crashed,
    /// An event number this build does not know.
    Unknown(i32),
}

impl LifecycleEvent {
    /// From libvirt's `virDomainEventType` number.
    pub fn from_code(code: i32) -> Self {
        match code {
            0 => LifecycleEvent::Defined,
            1 => LifecycleEvent::Undefined,
            2 => LifecycleEvent::Started,
            3 => LifecycleEvent::Suspended,
            4 => LifecycleEvent::Resumed,
            5 => LifecycleEvent::Stopped,
            6 => LifecycleEvent::Shutdown,
            7 => LifecycleEvent::PmSuspended,
            8 => LifecycleEvent::Crashed,
            n => LifecycleEvent::Unknown(n),
        }
    }

    /// libvirt's `virDomainEventType` number.
    pub fn code(self) -> i32 {
        match self {
            LifecycleEvent::Defined => 0,
            LifecycleEvent::Undefined => 1,
            LifecycleEvent::Started => 2,
            LifecycleEvent::Suspended => 3,
            LifecycleEvent::Resumed => 4,
            LifecycleEvent::Stopped => 5,
            LifecycleEvent::Shutdown => 6,
            LifecycleEvent::PmSuspended => 7,
            LifecycleEvent::Crashed => 8,
            LifecycleEvent::Unknown(n) => n,
        }
    }
}

/// The detail numbers of lifecycle events (`virDomainEvent*DetailType`) that vmlife
/// looks at. A detail means something only together with its [`LifecycleEvent`].
pub mod event_detail {
    /// `Defined`: a new domain.
    pub const DEFINED_ADDED: i32 = 0;
    /// `Defined`: an existing domain's config changed.
    pub const DEFINED_UPDATED: i32 = 1;
    /// `Undefined`: removed.
    pub const UNDEFINED_REMOVED: i32 = 0;
    /// `Started`: a normal boot.
    pub const STARTED_BOOTED: i32 = 0;
    /// `Started`: restored from a (managed) save.
    pub const STARTED_RESTORED: i32 = 2;
    /// `Suspended`: paused by a person or an API call.
    pub const SUSPENDED_PAUSED: i32 = 0;
    /// `Suspended`: paused because of a disk IO error.
    pub const SUSPENDED_IOERROR: i32 = 2;
    /// `Resumed`: unpaused.
    pub const RESUMED_UNPAUSED: i32 = 0;
    /// `Stopped`: the guest shut down (who asked is in a preceding `Shutdown` event).
    pub const STOPPED_SHUTDOWN: i32 = 0;
    /// `Stopped`: destroyed (hard stop).
    pub const STOPPED_DESTROYED: i32 = 1;
    /// `Stopped`: the guest crashed.
    pub const STOPPED_CRASHED: i32 = 2;
    /// `Stopped`: migrated to another host.
    pub const STOPPED_MIGRATED: i32 = 3;
    /// `Stopped`: saved (managed save or save to file).
    pub const STOPPED_SAVED: i32 = 4;
    /// `Stopped`: the hypervisor (QEMU) failed or was killed.
    pub const STOPPED_FAILED: i32 = 5;
    /// `Stopped`: reverted to a snapshot.
    pub const STOPPED_FROM_SNAPSHOT: i32 = 6;
    /// `Shutdown`: finished, initiator unknown.
    pub const SHUTDOWN_FINISHED: i32 = 0;
    /// `Shutdown`: the guest initiated it (QEMU says so also when the guest OS powered
    /// off in answer to an ACPI request from the host, such as `virsh shutdown`).
    pub const SHUTDOWN_GUEST: i32 = 1;
    /// `Shutdown`: the host initiated it (QEMU was told to quit).
    pub const SHUTDOWN_HOST: i32 = 2;
    /// `Crashed`: guest panic.
    pub const CRASHED_PANICKED: i32 = 0;
}

/// A domain event, or news about the connection that carries them.
///
/// The UUID and name are the domain's at the time of the event (a rename shows up as
/// `Undefined` of the old name and `Defined` of the new one, same UUID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    /// `VIR_DOMAIN_EVENT_ID_LIFECYCLE`: the domain's run state or definition changed.
    Lifecycle {
        uuid: Uuid,
        name: String,
        event: LifecycleEvent,
        /// The raw detail (see [`event_detail`]), e.g. `STOPPED_DESTROYED`.
        detail: i32,
    },
    /// `VIR_DOMAIN_EVENT_ID_REBOOT`: the guest rebooted (the domain kept running).
    Reboot { uuid: Uuid, name: String },
    /// `VIR_DOMAIN_EVENT_ID_METADATA_CHANGE`: the domain's metadata changed.
    MetadataChange {
        uuid: Uuid,
        name: String,
        /// The namespace of the changed element (vmlife's is
        /// [`domxml::LIFECYCLE_NS`]); `None` when the title or description changed.
        namespace: Option<String>,
    },
    /// `VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON`: a disk IO error.
    IoError {
        uuid: Uuid,
        name: String,
        /// The disk's source path (may be empty).
        path: String,
        /// The device alias (`virtio-disk0`).
        device: String,
        /// `virDomainEventIOErrorAction`: 0 none, 1 the guest was paused, 2 reported
        /// to the guest.
        action: i32,
        /// libvirt's reason, e.g. `enospc` (no space left on the host).
        reason: String,
    },
    /// `VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE`: the guest agent connected or left.
    AgentLifecycle {
        uuid: Uuid,
        name: String,
        connected: bool,
    },
    /// The connection to libvirt dropped; calls fail with [`HvErrorKind::Connection`]
    /// until [`DomainEvent::Reconnected`]. Events that happen meanwhile are lost:
    /// re-poll after reconnecting.
    ConnectionLost { reason: String },
    /// A new connection is up and events flow again.
    Reconnected,
}

impl DomainEvent {
    /// The domain's UUID, for events about a domain.
    pub fn uuid(&self) -> Option<&str> {
        match self {
            DomainEvent::Lifecycle { uuid, .. }
            | DomainEvent::Reboot { uuid, .. }
            | DomainEvent::MetadataChange { uuid, .. }
            | DomainEvent::IoError { uuid, .. }
            | DomainEvent::AgentLifecycle { uuid, .. } => Some(uuid),
            DomainEvent::ConnectionLost { .. } | DomainEvent::Reconnected => None,
        }
    }

    /// The stop cause this event implies (see [`stop_cause`]); `None` for events that
    /// are not about a stop.
    pub fn stop_cause(&self, guest_shutdown_seen: bool) -> Option<StopCause> {
        match self {
            DomainEvent::Lifecycle { event, detail, .. } => {
                stop_cause(*event, *detail, guest_shutdown_seen)
            }
            _ => None,
        }
    }
}

/// Why a domain stops, from one lifecycle event.
///
/// | event | detail | cause |
/// |---|---|---|
/// | `Stopped` | `CRASHED`, `FAILED` | `Crashed` |
/// | `Stopped` | `DESTROYED` | `Destroyed` |
/// | `Stopped` | `SAVED` | `Saved` |
/// | `Stopped` | `SHUTDOWN` | `GuestShutdown` when `guest_shutdown_seen`, else `RequestedShutdown` |
/// | `Stopped` | anything else (migrated, from snapshot, …) | `Other` |
/// | `Shutdown` | `GUEST` | `GuestShutdown` |
/// | `Shutdown` | `HOST`, `FINISHED` | `RequestedShutdown` |
/// | `Crashed` | any | `Crashed` |
/// | any other | | `None` |
///
/// A guest shutdown arrives as two events: `Shutdown/GUEST`, then `Stopped/SHUTDOWN`.
/// The second does not say who initiated it, so the caller remembers, per UUID, that a
/// `Shutdown` event with detail `GUEST` came (see [`is_guest_shutdown`]) and passes
/// `guest_shutdown_seen = true` for that domain's next `Stopped/SHUTDOWN`; forget it
/// when the domain starts again. Without that memory the answer is `RequestedShutdown`,
/// the safe side for the restart policy (restarting a VM somebody shut down is worse
/// than not restarting one that shut itself down).
///
/// Caveat: QEMU reports `GUEST` whenever the guest OS powered itself off, also when it
/// did so because a host-side client sent an ACPI request (`virsh shutdown`). A stop
/// that vmlife asked for itself is `ByVmlife`, which the caller decides, not this.
pub fn stop_cause(
    event: LifecycleEvent,
    detail: i32,
    guest_shutdown_seen: bool,
) -> Option<StopCause> {
    use event_detail as d;
    Some(match event {
        LifecycleEvent::Stopped => match detail {
            d::STOPPED_CRASHED | d::STOPPED_FAILED => StopCause::Crashed,
            d::STOPPED_DESTROYED => StopCause::Destroyed,
            d::STOPPED_SAVED => StopCause::Saved,
            d::STOPPED_SHUTDOWN if guest_shutdown_seen => StopCause::GuestShutdown,
            d::STOPPED_SHUTDOWN => StopCause::RequestedShutdown,
            _ => StopCause::Other,
        },
        LifecycleEvent::Shutdown if detail == d::SHUTDOWN_GUEST => StopCause::GuestShutdown,
        LifecycleEvent::Shutdown => StopCause::RequestedShutdown,
        LifecycleEvent::Crashed => StopCause::Crashed,
        _ => return None,
    })
}

/// True for the `Shutdown/GUEST` event that the caller of [`stop_cause`] remembers.
pub fn is_guest_shutdown(event: LifecycleEvent, detail: i32) -> bool {
    event == LifecycleEvent::Shutdown && detail == event_detail::SHUTDOWN_GUEST
}

/// Where a hypervisor delivers [`DomainEvent`]s: the sending half of a tokio unbounded
/// channel. `send` never blocks and works from any thread (libvirt's event thread
/// calls it); a sink whose receiver was dropped is forgotten at the next event.
///
/// ```no_run
/// # use vmlife::hypervisor::{Hypervisor, DomainEvent};
/// # async fn demo(hv: &dyn Hypervisor) -> vmlife::hypervisor::HvResult<()> {
/// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<DomainEvent>();
/// hv.subscribe(tx)?; // blocks briefly (registers callbacks): spawn_blocking in async code
/// while let Some(event) = rx.recv().await {
///     // react at once: re-read that domain, redraw, apply the restart policy …
///     # let _ = event;
/// }
/// # Ok(()) }
/// ```
pub type EventSink = tokio::sync::mpsc::UnboundedSender<DomainEvent>;

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
}

#[cfg(test)]
mod event_tests {
    use super::event_detail as d;
    use super::*;

    #[test]
    fn lifecycle_codes_round_trip() {
        for code in -1..12 {
            assert_eq!(LifecycleEvent::from_code(code).code(), code);
        }
        assert_eq!(LifecycleEvent::from_code(5), LifecycleEvent::Stopped);
        assert_eq!(LifecycleEvent::from_code(9), LifecycleEvent::Unknown(9));
    }

    #[test]
    fn stop_cause_table() {
        use LifecycleEvent as E;
        use StopCause as C;
        let cases: &[(E, i32, bool, Option<C>)] = &[
            (E::Stopped, d::STOPPED_CRASHED, false, Some(C::Crashed)),
            (E::Stopped, d::STOPPED_FAILED, false, Some(C::Crashed)),
            (E::Stopped, d::STOPPED_FAILED, true, Some(C::Crashed)),
            (E::Stopped, d::STOPPED_DESTROYED, false, Some(C::Destroyed)),
            (E::Stopped, d::STOPPED_DESTROYED, true, Some(C::Destroyed)),
            (E::Stopped, d::STOPPED_SAVED, false, Some(C::Saved)),
            (
                E::Stopped,
                d::STOPPED_SHUTDOWN,
                false,
                Some(C::RequestedShutdown),
            ),
            (
                E::Stopped,
                d::STOPPED_SHUTDOWN,
                true,
                Some(C::GuestShutdown),
            ),
            (E::Stopped, d::STOPPED_MIGRATED, false, Some(C::Other)),
            (E::Stopped, d::STOPPED_FROM_SNAPSHOT, false, Some(C::Other)),
            (E::Stopped, 7, false, Some(C::Other)),
            (E::Stopped, 99, true, Some(C::Other)),
            (
                E::Shutdown,
                d::SHUTDOWN_GUEST,
                false,
                Some(C::GuestShutdown),
            ),
            (
                E::Shutdown,
                d::SHUTDOWN_HOST,
                false,
                Some(C::RequestedShutdown),
            ),
            (
                E::Shutdown,
                d::SHUTDOWN_HOST,
                true,
                Some(C::RequestedShutdown),
            ),
            (
                E::Shutdown,
                d::SHUTDOWN_FINISHED,
                false,
                Some(C::RequestedShutdown),
            ),
            (E::Crashed, d::CRASHED_PANICKED, false, Some(C::Crashed)),
            (E::Crashed, 1, false, Some(C::Crashed)),
            (E::Started, d::STARTED_BOOTED, false, None),
            (E::Started, d::STARTED_RESTORED, true, None),
            (E::Suspended, d::SUSPENDED_PAUSED, false, None),
            (E::Resumed, d::RESUMED_UNPAUSED, false, None),
            (E::Defined, d::DEFINED_ADDED, false, None),
            (E::Undefined, d::UNDEFINED_REMOVED, false, None),
            (E::PmSuspended, 0, false, None),
            (E::Unknown(42), 0, false, None),
        ];
        for &(event, detail, seen, want) in cases {
            assert_eq!(
                stop_cause(event, detail, seen),
                want,
                "{event:?}/{detail} guest_shutdown_seen={seen}"
            );
        }
    }

    #[test]
    fn guest_shutdown_memory_sequence() {
        // The caller's bookkeeping across Shutdown/GUEST → Stopped/SHUTDOWN.
        let seq = [
            (LifecycleEvent::Shutdown, d::SHUTDOWN_GUEST),
            (LifecycleEvent::Stopped, d::STOPPED_SHUTDOWN),
        ];
        let mut seen = false;
        let mut last = None;
        for (e, detail) in seq {
            seen |= is_guest_shutdown(e, detail);
            last = stop_cause(e, detail, seen);
        }
        assert_eq!(last, Some(StopCause::GuestShutdown));
        assert!(!is_guest_shutdown(
            LifecycleEvent::Shutdown,
            d::SHUTDOWN_HOST
        ));
        assert!(!is_guest_shutdown(LifecycleEvent::Stopped, 1));
    }

    #[test]
    fn event_helpers() {
        let ev = DomainEvent::Lifecycle {
            uuid: "u".into(),
            name: "n".into(),
            event: LifecycleEvent::Stopped,
            detail: d::STOPPED_DESTROYED,
        };
        assert_eq!(ev.uuid(), Some("u"));
        assert_eq!(ev.stop_cause(false), Some(StopCause::Destroyed));
        let md = DomainEvent::MetadataChange {
            uuid: "u".into(),
            name: "n".into(),
            namespace: None,
        };
        assert_eq!(md.stop_cause(true), None);
        assert_eq!(DomainEvent::Reconnected.uuid(), None);
        assert_eq!(
            DomainEvent::ConnectionLost { reason: "x".into() }.uuid(),
            None
        );
    }

    #[test]
    fn default_subscribe_is_unsupported() {
        struct Nothing;
        impl Hypervisor for Nothing {
            fn uri(&self) -> &str {
                "none:///"
            }
            fn is_readonly(&self) -> bool {
                true
            }
            fn poll(&self, _: StatsGroups) -> HvResult<Vec<RawDomain>> {
                Ok(Vec::new())
            }
            fn lookup(&self, n: &str) -> HvResult<DomainRef> {
                Err(HvError::new(HvErrorKind::NoDomain, n))
            }
            fn details(&self, _: &str) -> HvResult<DomainDetails> {
                Ok(DomainDetails::default())
            }
            fn addresses(&self, _: &str) -> HvResult<Vec<String>> {
                Ok(Vec::new())
            }
            fn metadata(&self, _: &str) -> HvResult<Option<String>> {
                Ok(None)
            }
            fn set_metadata(&self, _: &str, _: Option<&str>) -> HvResult<()> {
                Ok(())
            }
            fn start(&self, _: &str) -> HvResult<()> {
                Ok(())
            }
            fn shutdown(&self, _: &str) -> HvResult<()> {
                Ok(())
            }
            fn reboot(&self, _: &str) -> HvResult<()> {
                Ok(())
            }
            fn destroy(&self, _: &str) -> HvResult<()> {
                Ok(())
            }
            fn suspend(&self, _: &str) -> HvResult<()> {
                Ok(())
            }
            fn resume(&self, _: &str) -> HvResult<()> {
                Ok(())
            }
            fn managed_save(&self, _: &str) -> HvResult<()> {
                Ok(())
            }
            fn undefine(&self, _: &str) -> HvResult<()> {
                Ok(())
            }
            fn define(&self, _: &str) -> HvResult<Uuid> {
                Ok(String::new())
            }
        }
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let err = Nothing.subscribe(tx).expect_err("unsupported");
        assert_eq!(err.kind, HvErrorKind::Other);
        assert!(err.message.contains("not supported on none:///"), "{err}");
        assert!(rx.is_closed(), "the refused sink is dropped");
    }
}
