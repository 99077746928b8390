use crate::hypervisor::event_detail as d;
use crate::hypervisor::*;
use crate::lifecycle::restart::StopCause;

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
