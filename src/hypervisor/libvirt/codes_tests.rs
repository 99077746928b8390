use super::*;

#[test]
fn run_state_table() {
    use RunState as S;
    let table = [
        (0, S::NoState),
        (1, S::Running),
        (2, S::Blocked),
        (3, S::Paused),
        (4, S::ShuttingDown),
        (5, S::Shutoff),
        (6, S::Crashed),
        (7, S::PmSuspended),
        (8, S::Unknown(8)),
        (-1, S::Unknown(-1)),
    ];
    for (code, want) in table {
        assert_eq!(run_state(code), want, "{code}");
    }
}

#[test]
fn state_reason_table() {
    use PausedReason as P;
    use RunState as S;
    use RunningReason as R;
    use ShutoffReason as O;
    use StateReason::{Other, Paused, Running, Shutoff};
    let table = [
        (S::Running, 0, Running(R::Unknown)),
        (S::Running, 1, Running(R::Booted)),
        (S::Running, 2, Running(R::Migrated)),
        (S::Running, 3, Running(R::Restored)),
        (S::Running, 4, Running(R::FromSnapshot)),
        (S::Running, 5, Running(R::Unpaused)),
        (S::Running, 6, Running(R::MigrationCanceled)),
        (S::Running, 7, Running(R::SaveCanceled)),
        (S::Running, 8, Running(R::Wakeup)),
        (S::Running, 9, Running(R::Crashed)),
        (S::Running, 10, Running(R::PostCopy)),
        (S::Running, 11, Running(R::PostCopyFailed)),
        (S::Running, 12, Running(R::Unknown)),
        (S::Paused, 0, Paused(P::Unknown)),
        (S::Paused, 1, Paused(P::User)),
        (S::Paused, 2, Paused(P::Migration)),
        (S::Paused, 3, Paused(P::Save)),
        (S::Paused, 4, Paused(P::Dump)),
        (S::Paused, 5, Paused(P::IoError)),
        (S::Paused, 6, Paused(P::Watchdog)),
        (S::Paused, 7, Paused(P::FromSnapshot)),
        (S::Paused, 8, Paused(P::ShuttingDown)),
        (S::Paused, 9, Paused(P::Snapshot)),
        (S::Paused, 10, Paused(P::Crashed)),
        (S::Paused, 11, Paused(P::StartingUp)),
        (S::Paused, 12, Paused(P::PostCopy)),
        (S::Paused, 13, Paused(P::PostCopyFailed)),
        (S::Paused, 14, Paused(P::Unknown)),
        (S::Shutoff, 0, Shutoff(O::Unknown)),
        (S::Shutoff, 1, Shutoff(O::Shutdown)),
        (S::Shutoff, 2, Shutoff(O::Destroyed)),
        (S::Shutoff, 3, Shutoff(O::Crashed)),
        (S::Shutoff, 4, Shutoff(O::Migrated)),
        (S::Shutoff, 5, Shutoff(O::Saved)),
        (S::Shutoff, 6, Shutoff(O::Failed)),
        (S::Shutoff, 7, Shutoff(O::FromSnapshot)),
        (S::Shutoff, 8, Shutoff(O::Daemon)),
        (S::Shutoff, 9, Shutoff(O::Unknown)),
        (S::Crashed, 1, Other),
        (S::Blocked, 1, Other),
        (S::ShuttingDown, 1, Other),
        (S::PmSuspended, 1, Other),
        (S::NoState, 0, Other),
    ];
    for (state, code, want) in table {
        assert_eq!(state_reason(Some(state), code), want, "{state:?}/{code}");
    }
    assert_eq!(state_reason(None, 3), Other);
}

#[test]
fn lifecycle_event_table() {
    use LifecycleEvent as E;
    let table = [
        (0, E::Defined),
        (1, E::Undefined),
        (2, E::Started),
        (3, E::Suspended),
        (4, E::Resumed),
        (5, E::Stopped),
        (6, E::Shutdown),
        (7, E::PmSuspended),
        (8, E::Crashed),
        (9, E::Unknown(9)),
        (11, E::Unknown(11)),
        (-1, E::Unknown(-1)),
    ];
    for (code, want) in table {
        assert_eq!(lifecycle_event(code), want, "{code}");
    }
    // Every number decodes to a distinct event.
    let decoded: std::collections::HashSet<_> = (-1..12).map(lifecycle_event).collect();
    assert_eq!(decoded.len(), 13);
}

#[test]
fn event_detail_table() {
    use EventDetail as D;
    use LifecycleEvent as E;
    let table = [
        (E::Defined, 0, D::Added),
        (E::Defined, 1, D::Updated),
        (E::Defined, 2, D::Other(2)),
        (E::Undefined, 0, D::Removed),
        (E::Started, 0, D::Booted),
        (E::Started, 1, D::Other(1)),
        (E::Started, 2, D::Restored),
        (E::Suspended, 0, D::Paused),
        (E::Suspended, 2, D::IoError),
        (E::Resumed, 0, D::Unpaused),
        (E::Resumed, 1, D::Other(1)),
        (E::Stopped, 0, D::Shutdown),
        (E::Stopped, 1, D::Destroyed),
        (E::Stopped, 2, D::Crashed),
        (E::Stopped, 3, D::Migrated),
        (E::Stopped, 4, D::Saved),
        (E::Stopped, 5, D::Failed),
        (E::Stopped, 6, D::FromSnapshot),
        (E::Stopped, 7, D::Other(7)),
        (E::Shutdown, 0, D::Finished),
        (E::Shutdown, 1, D::Guest),
        (E::Shutdown, 2, D::Host),
        (E::Shutdown, 3, D::Other(3)),
        (E::Crashed, 0, D::Panicked),
        (E::Crashed, 1, D::Other(1)),
        (E::PmSuspended, 0, D::Other(0)),
        (E::Unknown(9), 0, D::Other(0)),
    ];
    for (event, code, want) in table {
        assert_eq!(event_detail(event, code), want, "{event:?}/{code}");
    }
}
