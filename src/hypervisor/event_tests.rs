use crate::hypervisor::EventDetail as d;
use crate::hypervisor::*;
use crate::lifecycle::restart::StopCause;

// The numbers of events and details are decoded in `libvirt::codes` (tested there).

#[test]
fn stop_cause_table() {
    use LifecycleEvent as E;
    use StopCause as C;
    let cases: &[(E, d, bool, Option<C>)] = &[
        (E::Stopped, d::Crashed, false, Some(C::Crashed)),
        (E::Stopped, d::Failed, false, Some(C::Crashed)),
        (E::Stopped, d::Failed, true, Some(C::Crashed)),
        (E::Stopped, d::Destroyed, false, Some(C::Destroyed)),
        (E::Stopped, d::Destroyed, true, Some(C::Destroyed)),
        (E::Stopped, d::Saved, false, Some(C::Saved)),
        (E::Stopped, d::Shutdown, false, Some(C::RequestedShutdown)),
        (E::Stopped, d::Shutdown, true, Some(C::GuestShutdown)),
        (E::Stopped, d::Migrated, false, Some(C::Other)),
        (E::Stopped, d::FromSnapshot, false, Some(C::Other)),
        (E::Stopped, d::Other(7), false, Some(C::Other)),
        (E::Stopped, d::Other(99), true, Some(C::Other)),
        (E::Shutdown, d::Guest, false, Some(C::GuestShutdown)),
        (E::Shutdown, d::Host, false, Some(C::RequestedShutdown)),
        (E::Shutdown, d::Host, true, Some(C::RequestedShutdown)),
        (E::Shutdown, d::Finished, false, Some(C::RequestedShutdown)),
        (E::Crashed, d::Panicked, false, Some(C::Crashed)),
        (E::Crashed, d::Other(1), false, Some(C::Crashed)),
        (E::Started, d::Booted, false, None),
        (E::Started, d::Restored, true, None),
        (E::Suspended, d::Paused, false, None),
        (E::Resumed, d::Unpaused, false, None),
        (E::Defined, d::Added, false, None),
        (E::Undefined, d::Removed, false, None),
        (E::PmSuspended, d::Other(0), false, None),
        (E::Unknown(42), d::Other(0), false, None),
    ];
    for &(event, detail, seen, want) in cases {
        assert_eq!(
            stop_cause(event, detail, seen),
            want,
            "{event:?}/{detail:?} guest_shutdown_seen={seen}"
        );
    }
}

#[test]
fn guest_shutdown_memory_sequence() {
    // The caller's bookkeeping across Shutdown/GUEST → Stopped/SHUTDOWN.
    let seq = [
        (LifecycleEvent::Shutdown, d::Guest),
        (LifecycleEvent::Stopped, d::Shutdown),
    ];
    let mut seen = false;
    let mut last = None;
    for (e, detail) in seq {
        seen |= is_guest_shutdown(e, detail);
        last = stop_cause(e, detail, seen);
    }
    assert_eq!(last, Some(StopCause::GuestShutdown));
    assert!(!is_guest_shutdown(LifecycleEvent::Shutdown, d::Host));
    assert!(!is_guest_shutdown(LifecycleEvent::Stopped, d::Destroyed));
}

#[test]
fn event_helpers() {
    let ev = DomainEvent::Lifecycle {
        uuid: "u".into(),
        name: "n".into(),
        event: LifecycleEvent::Stopped,
        detail: d::Destroyed,
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
        fn lookup(&self, n: &str) -> HvResult<VmRef> {
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
            Ok(Uuid::default())
        }
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let err = Nothing.subscribe(tx).expect_err("unsupported");
    assert_eq!(err.kind, HvErrorKind::Other);
    assert!(err.message.contains("not supported on none:///"), "{err}");
    assert!(rx.is_closed(), "the refused sink is dropped");
}
