use super::*;
use EventDetail as d;

const U: &str = "00000000-0000-4000-8000-000000000001";

fn lifecycle(event: LifecycleEvent, detail: EventDetail) -> DomainEvent {
    DomainEvent::Lifecycle {
        uuid: U.into(),
        name: "web".into(),
        event,
        detail,
    }
}

#[test]
fn actions_emit_the_lifecycle_events_libvirt_would() {
    let hv = FakeHypervisor::new();
    hv.put(running(U, "web"));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    hv.subscribe(tx).expect("subscribe");
    assert_eq!(hv.subscribers(), 1);

    hv.suspend(U).expect("suspend");
    hv.resume(U).expect("resume");
    hv.reboot(U).expect("reboot");
    hv.destroy(U).expect("destroy");
    hv.start(U).expect("start");
    hv.shutdown(U).expect("shutdown");
    hv.start(U).expect("start");
    hv.managed_save(U).expect("save");
    hv.start(U).expect("start");
    hv.crash(U);
    hv.set_metadata(U, Some("<x/>")).expect("metadata");
    hv.undefine(U).expect("undefine");
    // A failed call emits nothing.
    hv.start(U).expect_err("gone");

    let got: Vec<DomainEvent> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    use LifecycleEvent as E;
    assert_eq!(
        got,
        vec![
            lifecycle(E::Suspended, d::Paused),
            lifecycle(E::Resumed, d::Unpaused),
            DomainEvent::Reboot {
                uuid: U.into(),
                name: "web".into()
            },
            lifecycle(E::Stopped, d::Destroyed),
            lifecycle(E::Started, d::Booted),
            lifecycle(E::Shutdown, d::Host),
            lifecycle(E::Stopped, d::Shutdown),
            lifecycle(E::Started, d::Booted),
            lifecycle(E::Stopped, d::Saved),
            lifecycle(E::Started, d::Booted),
            lifecycle(E::Stopped, d::Failed),
            DomainEvent::MetadataChange {
                uuid: U.into(),
                name: "web".into(),
                namespace: Some(super::super::domxml::LIFECYCLE_NS.into()),
            },
            lifecycle(E::Undefined, d::Removed),
        ]
    );
    assert_eq!(
        got[10].stop_cause(false),
        Some(crate::lifecycle::restart::StopCause::Crashed)
    );
}

#[test]
fn ignored_shutdown_emits_nothing_and_emit_reaches_every_sink() {
    let hv = FakeHypervisor::new();
    hv.put(running(U, "web"));
    hv.on_shutdown(U, OnShutdown::Ignore);
    let (tx1, mut rx1) = tokio::sync::mpsc::unbounded_channel();
    let (tx2, mut rx2) = tokio::sync::mpsc::unbounded_channel();
    hv.subscribe(tx1).expect("subscribe");
    hv.subscribe(tx2).expect("subscribe");
    hv.shutdown(U).expect("shutdown");
    assert!(rx1.try_recv().is_err());

    let lost = DomainEvent::ConnectionLost {
        reason: "test".into(),
    };
    hv.emit(lost.clone());
    assert_eq!(rx1.try_recv().ok(), Some(lost.clone()));
    assert_eq!(rx2.try_recv().ok(), Some(lost));
    drop(rx2);
    hv.emit(DomainEvent::Reconnected);
    assert_eq!(hv.subscribers(), 1);
    assert_eq!(rx1.try_recv().ok(), Some(DomainEvent::Reconnected));
}
