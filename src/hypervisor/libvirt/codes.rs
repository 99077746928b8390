//! libvirt's numbers, decoded: run states and their reasons (`virDomainState`,
//! `virDomain*Reason`), lifecycle events and their details (`virDomainEventType`,
//! `virDomainEvent*DetailType`). The only place vmlife knows these numbers; the layers
//! above see [`RunState`], [`StateReason`], [`LifecycleEvent`] and [`EventDetail`].

use crate::hypervisor::{
    EventDetail, LifecycleEvent, PausedReason, RunState, RunningReason, ShutoffReason, StateReason,
};

/// A run state from its `virDomainState` number.
pub(crate) fn run_state(code: i32) -> RunState {
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

/// The reason for `state` from its number (a reason number means something only
/// together with its state).
pub(crate) fn state_reason(state: Option<RunState>, code: i32) -> StateReason {
    match state {
        Some(RunState::Running) => StateReason::Running(running_reason(code)),
        Some(RunState::Paused) => StateReason::Paused(paused_reason(code)),
        Some(RunState::Shutoff) => StateReason::Shutoff(shutoff_reason(code)),
        _ => StateReason::Other,
    }
}

/// `virDomainRunningReason`.
fn running_reason(code: i32) -> RunningReason {
    use RunningReason as R;
    match code {
        1 => R::Booted,
        2 => R::Migrated,
        3 => R::Restored,
        4 => R::FromSnapshot,
        5 => R::Unpaused,
        6 => R::MigrationCanceled,
        7 => R::SaveCanceled,
        8 => R::Wakeup,
        9 => R::Crashed,
        10 => R::PostCopy,
        11 => R::PostCopyFailed,
        _ => R::Unknown,
    }
}

/// `virDomainPausedReason`.
fn paused_reason(code: i32) -> PausedReason {
    use PausedReason as P;
    match code {
        1 => P::User,
        2 => P::Migration,
        3 => P::Save,
        4 => P::Dump,
        5 => P::IoError,
        6 => P::Watchdog,
        7 => P::FromSnapshot,
        8 => P::ShuttingDown,
        9 => P::Snapshot,
        10 => P::Crashed,
        11 => P::StartingUp,
        12 => P::PostCopy,
        13 => P::PostCopyFailed,
        _ => P::Unknown,
    }
}

/// `virDomainShutoffReason`.
fn shutoff_reason(code: i32) -> ShutoffReason {
    use ShutoffReason as S;
    match code {
        1 => S::Shutdown,
        2 => S::Destroyed,
        3 => S::Crashed,
        4 => S::Migrated,
        5 => S::Saved,
        6 => S::Failed,
        7 => S::FromSnapshot,
        8 => S::Daemon,
        _ => S::Unknown,
    }
}

/// A lifecycle event from its `virDomainEventType` number.
pub(crate) fn lifecycle_event(code: i32) -> LifecycleEvent {
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

/// The detail of `event` from its number (`virDomainEvent<Event>DetailType`); the
/// details vmlife does not look at stay [`EventDetail::Other`].
pub(crate) fn event_detail(event: LifecycleEvent, code: i32) -> EventDetail {
    use EventDetail as D;
    use LifecycleEvent as E;
    match (event, code) {
        (E::Defined, 0) => D::Added,
        (E::Defined, 1) => D::Updated,
        (E::Undefined, 0) => D::Removed,
        (E::Started, 0) => D::Booted,
        (E::Started, 2) => D::Restored,
        (E::Suspended, 0) => D::Paused,
        (E::Suspended, 2) => D::IoError,
        (E::Resumed, 0) => D::Unpaused,
        (E::Stopped, 0) => D::Shutdown,
        (E::Stopped, 1) => D::Destroyed,
        (E::Stopped, 2) => D::Crashed,
        (E::Stopped, 3) => D::Migrated,
        (E::Stopped, 4) => D::Saved,
        (E::Stopped, 5) => D::Failed,
        (E::Stopped, 6) => D::FromSnapshot,
        (E::Shutdown, 0) => D::Finished,
        (E::Shutdown, 1) => D::Guest,
        (E::Shutdown, 2) => D::Host,
        (E::Crashed, 0) => D::Panicked,
        (_, n) => D::Other(n),
    }
}

#[cfg(test)]
#[path = "codes_tests.rs"]
mod tests;
