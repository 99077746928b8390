//! Domain-event and connection-close callbacks (virt 0.5 wraps neither) and their
//! registration. Each `extern "C"` callback catches any panic and only copies the event
//! for the [`Fanout`].

use std::ffi::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;

use virt::connect::Connect;
use virt::error::Error;
use virt::sys;

use super::super::codes;
use super::super::fanout::{self, Fanout};
use super::{c_string, domain_name, domain_uuid};
use crate::hypervisor::{DomainEvent, Uuid};

/// The shape libvirt stores every domain-event callback as; each event id calls it back
/// with its own signature (`VIR_DOMAIN_EVENT_CALLBACK` in C).
type GenericCallback = unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, *mut c_void);
type LifecycleCallback =
    unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, c_int, c_int, *mut c_void) -> c_int;
type MetadataCallback =
    unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, c_int, *const c_char, *mut c_void);
type IoErrorReasonCallback = unsafe extern "C" fn(
    sys::virConnectPtr,
    sys::virDomainPtr,
    *const c_char,
    *const c_char,
    c_int,
    *const c_char,
    *mut c_void,
);
type BlockThresholdCallback = unsafe extern "C" fn(
    sys::virConnectPtr,
    sys::virDomainPtr,
    *const c_char,
    *const c_char,
    std::ffi::c_ulonglong,
    std::ffi::c_ulonglong,
    *mut c_void,
);
type AgentCallback =
    unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, c_int, c_int, *mut c_void);

/// Build the event for `dom` with `make(uuid, name)` and hand it to the fan-out that
/// `opaque` points at. Never unwinds.
///
/// # Safety
/// `opaque` must be null or the `Box<Arc<Fanout>>` pointer given at registration (alive
/// until libvirt calls [`free_fanout`], which it does not do during a callback); `dom`
/// null or live for the call.
unsafe fn deliver(
    dom: sys::virDomainPtr,
    opaque: *mut c_void,
    make: impl FnOnce(Uuid, String) -> DomainEvent,
) {
    if opaque.is_null() {
        return;
    }
    // SAFETY: see the function's contract; only a shared borrow is taken.
    let fanout: &Arc<Fanout> = unsafe { &*opaque.cast::<Arc<Fanout>>() };
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `dom` is live for the callback (contract).
        let uuid = unsafe { domain_uuid(dom) }
            .map(Uuid::from)
            .unwrap_or_default();
        // SAFETY: as above.
        let name = unsafe { domain_name(dom) }.unwrap_or_default();
        fanout.emit(make(uuid, name));
    }));
}

unsafe extern "C" fn on_lifecycle(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    event: c_int,
    detail: c_int,
    opaque: *mut c_void,
) -> c_int {
    // SAFETY: libvirt passes the registration's opaque pointer and a live domain.
    unsafe {
        deliver(dom, opaque, |uuid, name| DomainEvent::Lifecycle {
            uuid,
            name,
            event: codes::lifecycle_event(event),
            detail: codes::event_detail(codes::lifecycle_event(event), detail),
        })
    };
    0
}

unsafe extern "C" fn on_reboot(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    opaque: *mut c_void,
) {
    // SAFETY: libvirt passes the registration's opaque pointer and a live domain.
    unsafe { deliver(dom, opaque, |uuid, name| DomainEvent::Reboot { uuid, name }) };
}

unsafe extern "C" fn on_metadata_change(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    kind: c_int,
    nsuri: *const c_char,
    opaque: *mut c_void,
) {
    let namespace = if kind == sys::VIR_DOMAIN_METADATA_ELEMENT as c_int && !nsuri.is_null() {
        // SAFETY: a non-null namespace is a NUL-terminated string alive for the call.
        Some(unsafe { c_string(nsuri) })
    } else {
        None
    };
    // SAFETY: libvirt passes the registration's opaque pointer and a live domain.
    unsafe {
        deliver(dom, opaque, |uuid, name| DomainEvent::MetadataChange {
            uuid,
            name,
            namespace,
        })
    };
}

unsafe extern "C" fn on_io_error_reason(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    src_path: *const c_char,
    dev_alias: *const c_char,
    action: c_int,
    reason: *const c_char,
    opaque: *mut c_void,
) {
    // SAFETY: each string is null or NUL-terminated and alive for the call.
    let (path, device, reason) =
        unsafe { (c_string(src_path), c_string(dev_alias), c_string(reason)) };
    // SAFETY: libvirt passes the registration's opaque pointer and a live domain.
    unsafe {
        deliver(dom, opaque, |uuid, name| DomainEvent::IoError {
            uuid,
            name,
            path,
            device,
            action,
            reason,
        })
    };
}

unsafe extern "C" fn on_block_threshold(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    dev: *const c_char,
    path: *const c_char,
    threshold: std::ffi::c_ulonglong,
    excess: std::ffi::c_ulonglong,
    opaque: *mut c_void,
) {
    // SAFETY: each string is null or NUL-terminated and alive for the call.
    let (dev, path) = unsafe { (c_string(dev), c_string(path)) };
    // SAFETY: libvirt passes the registration's opaque pointer and a live domain.
    unsafe {
        deliver(dom, opaque, |uuid, name| DomainEvent::BlockThreshold {
            uuid,
            name,
            dev,
            path,
            threshold,
            excess,
        })
    };
}

unsafe extern "C" fn on_agent_lifecycle(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    state: c_int,
    _reason: c_int,
    opaque: *mut c_void,
) {
    let connected = state == sys::VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED as c_int;
    // SAFETY: libvirt passes the registration's opaque pointer and a live domain.
    unsafe {
        deliver(dom, opaque, |uuid, name| DomainEvent::AgentLifecycle {
            uuid,
            name,
            connected,
        })
    };
}

/// The `freecb` of every domain-event registration: drops the boxed fan-out reference.
unsafe extern "C" fn free_fanout(opaque: *mut c_void) {
    if opaque.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `opaque` is the `Box<Arc<Fanout>>` made in `register_domain_events`;
        // libvirt calls the free callback exactly once per registration, after the
        // last use.
        drop(unsafe { Box::from_raw(opaque.cast::<Arc<Fanout>>()) });
    }));
}

/// The event ids vmlife listens to, with their callbacks in libvirt's generic shape.
fn event_table() -> [(c_int, GenericCallback); 6] {
    // SAFETY (all transmutes): only the pointer's type changes. libvirt never calls a
    // callback through the generic type: it casts it back to the signature of its event
    // id (LIFECYCLE → virConnectDomainEventCallback, METADATA_CHANGE →
    // …MetadataChangeCallback, IO_ERROR_REASON → …IOErrorReasonCallback,
    // BLOCK_THRESHOLD → …BlockThresholdCallback, AGENT_LIFECYCLE → …AgentLifecycleCallback), which each function here has.
    unsafe {
        [
            (
                sys::VIR_DOMAIN_EVENT_ID_LIFECYCLE as c_int,
                std::mem::transmute::<LifecycleCallback, GenericCallback>(on_lifecycle),
            ),
            (sys::VIR_DOMAIN_EVENT_ID_REBOOT as c_int, on_reboot),
            (
                sys::VIR_DOMAIN_EVENT_ID_METADATA_CHANGE as c_int,
                std::mem::transmute::<MetadataCallback, GenericCallback>(on_metadata_change),
            ),
            (
                sys::VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON as c_int,
                std::mem::transmute::<IoErrorReasonCallback, GenericCallback>(on_io_error_reason),
            ),
            (
                sys::VIR_DOMAIN_EVENT_ID_BLOCK_THRESHOLD as c_int,
                std::mem::transmute::<BlockThresholdCallback, GenericCallback>(on_block_threshold),
            ),
            (
                sys::VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE as c_int,
                std::mem::transmute::<AgentCallback, GenericCallback>(on_agent_lifecycle),
            ),
        ]
    }
}

/// Register the lifecycle, reboot, metadata-change, IO-error (with reason), block-threshold
/// and agent lifecycle callbacks for all domains of `conn`, each owning a reference to `fanout`.
/// Returns the callback ids; on failure nothing stays registered.
pub(crate) fn register_domain_events(
    conn: &Connect,
    fanout: &Arc<Fanout>,
) -> Result<Vec<c_int>, Error> {
    let mut ids = Vec::with_capacity(6);
    for (event_id, cb) in event_table() {
        let opaque = Box::into_raw(Box::new(Arc::clone(fanout))).cast::<c_void>();
        // SAFETY: `conn` is live; a null domain means all domains; `cb` matches
        // `event_id` (see `event_table`); `opaque` is a valid box that libvirt owns from
        // here on and releases with `free_fanout`.
        let id = unsafe {
            sys::virConnectDomainEventRegisterAny(
                conn.as_ptr(),
                ptr::null_mut(),
                event_id,
                Some(cb),
                opaque,
                Some(free_fanout),
            )
        };
        if id < 0 {
            let err = Error::last_error();
            // SAFETY: a failed registration keeps nothing and never calls `freecb`
            // (libvirt 9: the test driver fails before storing; the remote driver
            // removes it again with doFreeCb=false): the box is still ours.
            drop(unsafe { Box::from_raw(opaque.cast::<Arc<Fanout>>()) });
            deregister_domain_events(conn, &ids);
            return Err(err);
        }
        ids.push(id);
    }
    Ok(ids)
}

/// Remove domain-event callbacks; libvirt then frees their boxes (at once, or after a
/// callback running on the event thread returns). Errors are ignored: on a dead remote
/// connection the local removal is done before the RPC that fails.
pub(crate) fn deregister_domain_events(conn: &Connect, ids: &[c_int]) {
    for &id in ids {
        // SAFETY: `conn` is live and `id` came from a registration on it.
        let _ = unsafe { sys::virConnectDomainEventDeregisterAny(conn.as_ptr(), id) };
    }
}

unsafe extern "C" fn on_close(_conn: sys::virConnectPtr, reason: c_int, opaque: *mut c_void) {
    let id = opaque as usize;
    let _ = catch_unwind(|| fanout::connection_closed(id, reason));
}

/// Register the close callback of `conn` with the number `id` as its opaque value (no
/// allocation and no `freecb`: drivers that cannot close accept the registration
/// without storing it and would never free a box).
pub(crate) fn register_close_callback(conn: &Connect, id: usize) -> Result<(), Error> {
    // SAFETY: `conn` is live; the opaque value is a number that is never dereferenced.
    let rc = unsafe {
        sys::virConnectRegisterCloseCallback(conn.as_ptr(), Some(on_close), id as *mut c_void, None)
    };
    if rc < 0 {
        return Err(Error::last_error());
    }
    Ok(())
}

/// Unregister the close callback (it holds a reference on the connection). Fails
/// harmlessly when it already fired or was never stored.
pub(crate) fn unregister_close_callback(conn: &Connect) {
    // SAFETY: `conn` is live; `on_close` is the callback registered on it.
    let _ = unsafe { sys::virConnectUnregisterCloseCallback(conn.as_ptr(), Some(on_close)) };
}

#[cfg(test)]
#[path = "callbacks_tests.rs"]
mod tests;
