use super::*;

const fn off(r: ShutoffReason) -> StateReason {
    StateReason::Shutoff(r)
}
const UNKNOWN: StateReason = off(ShutoffReason::Unknown);
const SHUTDOWN: StateReason = off(ShutoffReason::Shutdown);
const DESTROYED: StateReason = off(ShutoffReason::Destroyed);
const CRASHED: StateReason = off(ShutoffReason::Crashed);
const MIGRATED: StateReason = off(ShutoffReason::Migrated);
const SAVED: StateReason = off(ShutoffReason::Saved);
const FAILED: StateReason = off(ShutoffReason::Failed);
const FROM_SNAPSHOT: StateReason = off(ShutoffReason::FromSnapshot);
const DAEMON: StateReason = off(ShutoffReason::Daemon);

#[test]
fn classification_table() {
    let off = Some(RunState::Shutoff);
    let cases = [
        (off, CRASHED, None, false, StopCause::Crashed),
        (off, FAILED, None, false, StopCause::Crashed),
        (
            Some(RunState::Crashed),
            StateReason::Other,
            None,
            false,
            StopCause::Crashed,
        ),
        (off, DESTROYED, None, false, StopCause::Destroyed),
        (off, SAVED, None, false, StopCause::Saved),
        (off, SHUTDOWN, None, false, StopCause::RequestedShutdown),
        (
            off,
            SHUTDOWN,
            Some(StopHint::HostShutdown),
            false,
            StopCause::RequestedShutdown,
        ),
        (
            off,
            SHUTDOWN,
            Some(StopHint::GuestShutdown),
            false,
            StopCause::GuestShutdown,
        ),
        (off, MIGRATED, None, false, StopCause::Other),
        (off, FROM_SNAPSHOT, None, false, StopCause::Other),
        (off, UNKNOWN, None, false, StopCause::Other),
        (off, DAEMON, None, false, StopCause::Other),
        (
            off,
            UNKNOWN,
            Some(StopHint::Crashed),
            false,
            StopCause::Crashed,
        ),
        (off, CRASHED, None, true, StopCause::ByVmlife),
        (off, DESTROYED, None, true, StopCause::ByVmlife),
    ];
    for (state, reason, hint, ours, want) in cases {
        assert_eq!(
            classify_stop(state, reason, hint, ours),
            want,
            "{state:?}/{reason:?}/{hint:?}/{ours}"
        );
    }
}

#[test]
fn from_hypervisor_events() {
    use crate::hypervisor::EventDetail as d;
    let ev = |event, detail| HvEvent::Lifecycle {
        uuid: "u".into(),
        name: "n".into(),
        event,
        detail,
    };
    let kind = |e| EngineEvent::from_hypervisor(&e).map(|e| e.kind);
    assert_eq!(
        kind(ev(LifecycleEvent::Shutdown, d::Guest)),
        Some(EventKind::ShutdownByGuest)
    );
    assert_eq!(kind(ev(LifecycleEvent::Shutdown, d::Finished)), None);
    assert_eq!(
        kind(ev(LifecycleEvent::Stopped, d::Failed)),
        Some(EventKind::Stopped(StoppedDetail::Failed))
    );
    assert_eq!(
        kind(ev(LifecycleEvent::Started, d::Booted)),
        Some(EventKind::Started)
    );
    assert_eq!(kind(ev(LifecycleEvent::Resumed, d::Unpaused)), None);
    assert_eq!(kind(HvEvent::Reconnected), None);
}

#[test]
fn event_hints() {
    assert_eq!(EventKind::Started.stop_hint(), None);
    assert_eq!(
        EventKind::ShutdownByGuest.stop_hint(),
        Some(StopHint::GuestShutdown)
    );
    assert_eq!(
        EventKind::Stopped(StoppedDetail::Failed).stop_hint(),
        Some(StopHint::Crashed)
    );
    assert_eq!(
        EventKind::Stopped(StoppedDetail::Shutdown).stop_hint(),
        None
    );
}
