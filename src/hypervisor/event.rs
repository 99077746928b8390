//! Domain events: what libvirt says happened, and why a domain stopped.

use super::Uuid;
use crate::lifecycle::restart::StopCause;

/// What happened to a domain, as a libvirt lifecycle event says
/// (`virDomainEventType`); its detail is an [`EventDetail`].
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

/// The detail of a lifecycle event (`virDomainEvent*DetailType`), for the details
/// vmlife looks at. A detail means something only together with its [`LifecycleEvent`]
/// (the event is named first in each variant's doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventDetail {
    /// `Defined`: a new domain.
    Added,
    /// `Defined`: an existing domain's config changed.
    Updated,
    /// `Undefined`: removed.
    Removed,
    /// `Started`: a normal boot.
    Booted,
    /// `Started`: restored from a (managed) save.
    Restored,
    /// `Suspended`: paused by a person or an API call.
    Paused,
    /// `Suspended`: paused because of a disk IO error.
    IoError,
    /// `Resumed`: unpaused.
    Unpaused,
    /// `Stopped`: the guest shut down (who asked is in a preceding `Shutdown` event).
    Shutdown,
    /// `Stopped`: destroyed (hard stop).
    Destroyed,
    /// `Stopped`: the guest crashed.
    Crashed,
    /// `Stopped`: migrated to another host.
    Migrated,
    /// `Stopped`: saved (managed save or save to file).
    Saved,
    /// `Stopped`: the hypervisor (QEMU) failed or was killed.
    Failed,
    /// `Stopped`: reverted to a snapshot.
    FromSnapshot,
    /// `Shutdown`: finished, initiator unknown.
    Finished,
    /// `Shutdown`: the guest initiated it (QEMU says so also when the guest OS powered
    /// off in answer to an ACPI request from the host, such as `virsh shutdown`).
    Guest,
    /// `Shutdown`: the host initiated it (QEMU was told to quit).
    Host,
    /// `Crashed`: guest panic.
    Panicked,
    /// A detail vmlife does not look at (libvirt's number, for the logs).
    Other(i32),
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
        /// What kind of `event`, e.g. [`EventDetail::Destroyed`] for a `Stopped`.
        detail: EventDetail,
    },
    /// `VIR_DOMAIN_EVENT_ID_REBOOT`: the guest rebooted (the domain kept running).
    Reboot { uuid: Uuid, name: String },
    /// `VIR_DOMAIN_EVENT_ID_METADATA_CHANGE`: the domain's metadata changed.
    MetadataChange {
        uuid: Uuid,
        name: String,
        /// The namespace of the changed element (vmlife's is
        /// [`domxml::LIFECYCLE_NS`](super::domxml::LIFECYCLE_NS)); `None` when the title
        /// or description changed.
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
    /// `VIR_DOMAIN_EVENT_ID_BLOCK_THRESHOLD`: a disk's allocation crossed the threshold
    /// armed with [`Hypervisor::set_block_threshold`](super::Hypervisor::set_block_threshold)
    /// (libvirt disarms it then): a disk-full warning.
    BlockThreshold {
        uuid: Uuid,
        name: String,
        /// The disk's target (`vda`), or the node name libvirt gave.
        dev: String,
        /// The disk's source path (may be empty).
        path: String,
        /// The threshold that was crossed, bytes.
        threshold: u64,
        /// How far the write went past it, bytes.
        excess: u64,
    },
    /// `VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE`: the guest agent connected or left.
    AgentLifecycle {
        uuid: Uuid,
        name: String,
        connected: bool,
    },
    /// The connection to libvirt dropped; calls fail with
    /// [`HvErrorKind::Connection`](super::HvErrorKind::Connection) until
    /// [`DomainEvent::Reconnected`]. Events that happen meanwhile are lost:
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
            | DomainEvent::BlockThreshold { uuid, .. }
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
/// | `Stopped` | `Crashed`, `Failed` | `Crashed` |
/// | `Stopped` | `Destroyed` | `Destroyed` |
/// | `Stopped` | `Saved` | `Saved` |
/// | `Stopped` | `Shutdown` | `GuestShutdown` when `guest_shutdown_seen`, else `RequestedShutdown` |
/// | `Stopped` | anything else (migrated, from snapshot, …) | `Other` |
/// | `Shutdown` | `Guest` | `GuestShutdown` |
/// | `Shutdown` | `Host`, `Finished` | `RequestedShutdown` |
/// | `Crashed` | any | `Crashed` |
/// | any other | | `None` |
///
/// A guest shutdown arrives as two events: `Shutdown/Guest`, then `Stopped/Shutdown`.
/// The second does not say who initiated it, so the caller remembers, per UUID, that a
/// `Shutdown` event with detail `Guest` came (see [`is_guest_shutdown`]) and passes
/// `guest_shutdown_seen = true` for that domain's next `Stopped/Shutdown`; forget it
/// when the domain starts again. Without that memory the answer is `RequestedShutdown`,
/// the safe side for the restart policy (restarting a VM somebody shut down is worse
/// than not restarting one that shut itself down).
///
/// Caveat: QEMU reports `GUEST` whenever the guest OS powered itself off, also when it
/// did so because a host-side client sent an ACPI request (`virsh shutdown`). A stop
/// that vmlife asked for itself is `ByVmlife`, which the caller decides, not this.
pub fn stop_cause(
    event: LifecycleEvent,
    detail: EventDetail,
    guest_shutdown_seen: bool,
) -> Option<StopCause> {
    use EventDetail as D;
    Some(match event {
        LifecycleEvent::Stopped => match detail {
            D::Crashed | D::Failed => StopCause::Crashed,
            D::Destroyed => StopCause::Destroyed,
            D::Saved => StopCause::Saved,
            D::Shutdown if guest_shutdown_seen => StopCause::GuestShutdown,
            D::Shutdown => StopCause::RequestedShutdown,
            _ => StopCause::Other,
        },
        LifecycleEvent::Shutdown if detail == D::Guest => StopCause::GuestShutdown,
        LifecycleEvent::Shutdown => StopCause::RequestedShutdown,
        LifecycleEvent::Crashed => StopCause::Crashed,
        _ => return None,
    })
}

/// True for the `Shutdown/Guest` event that the caller of [`stop_cause`] remembers.
pub fn is_guest_shutdown(event: LifecycleEvent, detail: EventDetail) -> bool {
    event == LifecycleEvent::Shutdown && detail == EventDetail::Guest
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

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
