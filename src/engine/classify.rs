//! Why a VM stopped: libvirt's shut-off reason, refined by domain events and by what
//! vmlife itself asked for.
//!
//! The engine works from polls alone; domain events only add what a poll cannot know:
//! whether a shutdown came from inside the guest. Feed them to
//! [`super::EngineCore::on_event`] as [`EngineEvent`]s
//! ([`EngineEvent::from_hypervisor`] turns a [`crate::hypervisor::DomainEvent`] into one).

use serde::{Deserialize, Serialize};

use crate::hypervisor::{
    DomainEvent as HvEvent, EventDetail, LifecycleEvent, RunState, ShutoffReason, StateReason,
};
use crate::lifecycle::restart::StopCause;
use crate::model::Uuid;

/// A domain event, as far as the engine cares: what it says about starts and stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineEvent {
    /// The domain's UUID.
    pub uuid: Uuid,
    /// What happened.
    pub kind: EventKind,
}

impl EngineEvent {
    /// The engine's view of a hypervisor event; `None` for events that say nothing
    /// about a start or stop.
    pub fn from_hypervisor(event: &HvEvent) -> Option<EngineEvent> {
        use EventDetail as D;
        let HvEvent::Lifecycle {
            uuid,
            event,
            detail,
            ..
        } = event
        else {
            return None;
        };
        let kind = match (event, *detail) {
            (LifecycleEvent::Started, _) => EventKind::Started,
            (LifecycleEvent::Shutdown, D::Guest) => EventKind::ShutdownByGuest,
            (LifecycleEvent::Shutdown, D::Host) => EventKind::ShutdownByHost,
            (LifecycleEvent::Stopped, detail) => EventKind::Stopped(match detail {
                D::Shutdown => StoppedDetail::Shutdown,
                D::Destroyed => StoppedDetail::Destroyed,
                D::Crashed => StoppedDetail::Crashed,
                D::Migrated => StoppedDetail::Migrated,
                D::Saved => StoppedDetail::Saved,
                D::Failed => StoppedDetail::Failed,
                _ => StoppedDetail::FromSnapshot,
            }),
            (LifecycleEvent::Crashed, _) => EventKind::Crashed,
            _ => return None,
        };
        Some(EngineEvent {
            uuid: uuid.clone(),
            kind,
        })
    }
}

/// What happened to the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// `VIR_DOMAIN_EVENT_STARTED`.
    Started,
    /// `VIR_DOMAIN_EVENT_SHUTDOWN` with detail `GUEST`: the guest OS shut itself down.
    ShutdownByGuest,
    /// `VIR_DOMAIN_EVENT_SHUTDOWN` with detail `HOST`: the host asked it to.
    ShutdownByHost,
    /// `VIR_DOMAIN_EVENT_STOPPED` with its detail.
    Stopped(StoppedDetail),
    /// `VIR_DOMAIN_EVENT_CRASHED` (guest panic).
    Crashed,
}

/// `virDomainEventStoppedDetailType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoppedDetail {
    /// After a shutdown (who asked is in the preceding shutdown event).
    Shutdown,
    /// Destroyed (hard power-off).
    Destroyed,
    /// The emulator or guest crashed.
    Crashed,
    /// Migrated to another host.
    Migrated,
    /// Saved (managed save or to a file).
    Saved,
    /// The host failed to keep it running.
    Failed,
    /// Restored from a snapshot.
    FromSnapshot,
}

/// What events said about a stop, remembered until the poll sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopHint {
    /// The guest shut itself down.
    GuestShutdown,
    /// The host asked it to shut down.
    HostShutdown,
    /// It crashed or failed.
    Crashed,
    /// It was destroyed.
    Destroyed,
    /// It was saved.
    Saved,
    /// Migrated away, restored from a snapshot.
    Other,
}

impl EventKind {
    /// The hint this event gives about a stop, if any.
    pub fn stop_hint(self) -> Option<StopHint> {
        Some(match self {
            EventKind::Started => return None,
            EventKind::ShutdownByGuest => StopHint::GuestShutdown,
            EventKind::ShutdownByHost => StopHint::HostShutdown,
            EventKind::Crashed
            | EventKind::Stopped(StoppedDetail::Crashed | StoppedDetail::Failed) => {
                StopHint::Crashed
            }
            EventKind::Stopped(StoppedDetail::Destroyed) => StopHint::Destroyed,
            EventKind::Stopped(StoppedDetail::Saved) => StopHint::Saved,
            // A plain "stopped after shutdown" says nothing about who asked: keep an
            // earlier ShutdownByGuest/Host hint (see `merge`).
            EventKind::Stopped(StoppedDetail::Shutdown) => return None,
            EventKind::Stopped(StoppedDetail::Migrated | StoppedDetail::FromSnapshot) => {
                StopHint::Other
            }
        })
    }
}

/// Classifies an observed stop (active → inactive).
///
/// - vmlife asked for it (a cleanup, a person's shutdown/destroy/save through vmlife):
///   `ByVmlife`, whatever the reason says.
/// - crashed or failed (reason, state `crashed`, or an event): `Crashed`.
/// - destroyed: `Destroyed`; saved: `Saved`.
/// - shutdown: `GuestShutdown` when an event said the guest did it, else
///   `RequestedShutdown` (a poll cannot tell, and restarting a VM someone shut down is
///   worse than not restarting one that shut itself down).
/// - anything else (migrated, from snapshot, unknown): `Other`.
pub fn classify_stop(
    state: Option<RunState>,
    reason: StateReason,
    hint: Option<StopHint>,
    by_vmlife: bool,
) -> StopCause {
    if by_vmlife {
        return StopCause::ByVmlife;
    }
    let shutoff = state == Some(RunState::Shutoff);
    let reason_is = |r: ShutoffReason| shutoff && reason == StateReason::Shutoff(r);
    if state == Some(RunState::Crashed)
        || reason_is(ShutoffReason::Crashed)
        || reason_is(ShutoffReason::Failed)
        || hint == Some(StopHint::Crashed)
    {
        return StopCause::Crashed;
    }
    if reason_is(ShutoffReason::Destroyed) || hint == Some(StopHint::Destroyed) {
        return StopCause::Destroyed;
    }
    if reason_is(ShutoffReason::Saved) || hint == Some(StopHint::Saved) {
        return StopCause::Saved;
    }
    if reason_is(ShutoffReason::Shutdown) {
        return match hint {
            Some(StopHint::GuestShutdown) => StopCause::GuestShutdown,
            _ => StopCause::RequestedShutdown,
        };
    }
    StopCause::Other
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
