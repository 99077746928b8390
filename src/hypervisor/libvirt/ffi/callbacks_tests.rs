use super::*;
use crate::hypervisor::{EventDetail, LifecycleEvent, Uuid};

#[test]
fn callbacks_without_opaque_or_domain_do_nothing() {
    // SAFETY: null pointers are checked before any use.
    unsafe {
        assert_eq!(
            on_lifecycle(ptr::null_mut(), ptr::null_mut(), 5, 1, ptr::null_mut()),
            0
        );
        on_reboot(ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        free_fanout(ptr::null_mut());
    }
}

#[test]
fn callbacks_deliver_to_the_fanout_and_free_releases_it() {
    let fanout = Arc::new(Fanout::default());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    fanout.add(tx);
    // The box a registration hands libvirt.
    let opaque = Box::into_raw(Box::new(Arc::clone(&fanout))).cast::<c_void>();
    let ns = std::ffi::CString::new("urn:x").expect("cstring");
    // SAFETY: a null domain gives empty uuid/name; `opaque` is live; strings valid.
    unsafe {
        on_lifecycle(ptr::null_mut(), ptr::null_mut(), 5, 2, opaque);
        on_metadata_change(
            ptr::null_mut(),
            ptr::null_mut(),
            sys::VIR_DOMAIN_METADATA_ELEMENT as c_int,
            ns.as_ptr(),
            opaque,
        );
        on_metadata_change(ptr::null_mut(), ptr::null_mut(), 1, ptr::null(), opaque);
        on_io_error_reason(
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null(),
            ns.as_ptr(),
            1,
            ns.as_ptr(),
            opaque,
        );
        on_agent_lifecycle(ptr::null_mut(), ptr::null_mut(), 1, 0, opaque);
        on_agent_lifecycle(ptr::null_mut(), ptr::null_mut(), 2, 0, opaque);
    }
    let got: Vec<DomainEvent> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    let e = String::new;
    assert_eq!(
        got,
        vec![
            DomainEvent::Lifecycle {
                uuid: Uuid::default(),
                name: e(),
                event: LifecycleEvent::Stopped,
                detail: EventDetail::Crashed
            },
            DomainEvent::MetadataChange {
                uuid: Uuid::default(),
                name: e(),
                namespace: Some("urn:x".into())
            },
            DomainEvent::MetadataChange {
                uuid: Uuid::default(),
                name: e(),
                namespace: None
            },
            DomainEvent::IoError {
                uuid: Uuid::default(),
                name: e(),
                path: e(),
                device: "urn:x".into(),
                action: 1,
                reason: "urn:x".into()
            },
            DomainEvent::AgentLifecycle {
                uuid: Uuid::default(),
                name: e(),
                connected: true
            },
            DomainEvent::AgentLifecycle {
                uuid: Uuid::default(),
                name: e(),
                connected: false
            },
        ]
    );
    assert_eq!(Arc::strong_count(&fanout), 2);
    // SAFETY: the box made above, freed once.
    unsafe { free_fanout(opaque) };
    assert_eq!(Arc::strong_count(&fanout), 1);
}
