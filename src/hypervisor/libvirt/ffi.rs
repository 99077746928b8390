//! The adapter's only `unsafe` code: calls into libvirt that the `virt` crate (0.5) has
//! no sound wrapper for.
//!
//! - [`StatsList`]: `virConnectGetAllDomainStats` with the whole record list owned and
//!   freed with `virDomainStatsRecordListFree` (virt's `all_domain_stats` leaks every
//!   record and has no decoder), and the typed parameters decoded into [`ParamValue`].
//! - [`list_uuids`]: `virConnectListAllDomains` reduced to a set of UUID strings, every
//!   domain reference freed without virt's `Drop` (which panics when the free fails).
//! - [`interface_addresses`]: `virDomainInterfaceAddresses` freeing each interface with
//!   `virDomainInterfaceFree` (virt's wrapper leaks the structs and address arrays).
//! - [`DomainHandle`] and [`ConnHandle`]: own a virt `Domain`/`Connect` and release it
//!   ignoring a failed free, instead of virt's panicking `Drop`.
//! - Domain events ([`register_domain_events`], [`deregister_domain_events`]) and the
//!   connection close callback ([`register_close_callback`]): virt 0.5 wraps neither.
//!   The `extern "C"` callbacks run on libvirt's event-loop thread; each catches any
//!   panic (one unwinding out of an `extern "C"` function aborts the process) and only
//!   copies the event into a [`DomainEvent`] for the [`Fanout`].
#![allow(unsafe_code)]

use std::collections::HashSet;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::Error;
use virt::sys;

use super::events::{self, Fanout};
use crate::hypervisor::{DomainEvent, LifecycleEvent};

/// The value of one typed parameter. Strings are not copied (the poll needs none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ParamValue {
    Int(i32),
    UInt(u32),
    LLong(i64),
    ULLong(u64),
    Double(f64),
    Boolean(bool),
    /// A string or a type this build does not know.
    Other,
}

impl ParamValue {
    /// The value as an unsigned integer, when it is a non-negative integer.
    pub(crate) fn as_u64(self) -> Option<u64> {
        match self {
            ParamValue::Int(v) => u64::try_from(v).ok(),
            ParamValue::UInt(v) => Some(u64::from(v)),
            ParamValue::LLong(v) => u64::try_from(v).ok(),
            ParamValue::ULLong(v) => Some(v),
            _ => None,
        }
    }

    /// The value as an `i32`, when it is an integer that fits.
    pub(crate) fn as_i32(self) -> Option<i32> {
        match self {
            ParamValue::Int(v) => Some(v),
            ParamValue::UInt(v) => i32::try_from(v).ok(),
            ParamValue::LLong(v) => i32::try_from(v).ok(),
            ParamValue::ULLong(v) => i32::try_from(v).ok(),
            _ => None,
        }
    }
}

/// Decode one `virTypedParameter`: its field name (`None` when not UTF-8) and value.
fn decode_param(p: &sys::virTypedParameter) -> (Option<&str>, ParamValue) {
    // SAFETY: `c_char` and `u8` have the same size and alignment; the slice covers
    // exactly the fixed-size `field` array borrowed from `p`.
    let bytes: &[u8] =
        unsafe { std::slice::from_raw_parts(p.field.as_ptr().cast::<u8>(), p.field.len()) };
    // libvirt NUL-terminates the field; if it ever filled all 80 bytes, take them all.
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let name = std::str::from_utf8(&bytes[..end]).ok();
    let t = c_uint::try_from(p.type_).unwrap_or(0);
    // SAFETY: libvirt sets `type_` to say which union member is initialised; only that
    // member is read, and every member is plain data (the string pointer is not read).
    let value = unsafe {
        match t {
            sys::VIR_TYPED_PARAM_INT => ParamValue::Int(p.value.i),
            sys::VIR_TYPED_PARAM_UINT => ParamValue::UInt(p.value.ui),
            sys::VIR_TYPED_PARAM_LLONG => ParamValue::LLong(p.value.l),
            sys::VIR_TYPED_PARAM_ULLONG => ParamValue::ULLong(p.value.ul),
            sys::VIR_TYPED_PARAM_DOUBLE => ParamValue::Double(p.value.d),
            sys::VIR_TYPED_PARAM_BOOLEAN => ParamValue::Boolean(p.value.b != 0),
            _ => ParamValue::Other,
        }
    };
    (name, value)
}

/// A typed-parameter array as a slice (empty when null or not positive).
///
/// # Safety
/// `params` must be null or point to `n` initialised parameters that outlive `'a`.
unsafe fn param_slice<'a>(
    params: *const sys::virTypedParameter,
    n: c_int,
) -> &'a [sys::virTypedParameter] {
    match usize::try_from(n) {
        Ok(len) if len > 0 && !params.is_null() => {
            // SAFETY: guaranteed by the caller.
            unsafe { std::slice::from_raw_parts(params, len) }
        }
        _ => &[],
    }
}

/// The result of one `virConnectGetAllDomainStats` call, owned; freed on drop.
pub(crate) struct StatsList {
    ptr: *mut sys::virDomainStatsRecordPtr,
    len: usize,
}

impl StatsList {
    /// One bulk stats call: `stats` is a mask of `VIR_DOMAIN_STATS_*`, `flags` of
    /// `VIR_CONNECT_GET_ALL_DOMAINS_STATS_*`.
    pub(crate) fn fetch(conn: &Connect, stats: c_uint, flags: c_uint) -> Result<StatsList, Error> {
        let mut ptr: *mut sys::virDomainStatsRecordPtr = ptr::null_mut();
        // SAFETY: `conn` holds a live connection reference for the whole call, and
        // `ptr` is a valid out-pointer; on success libvirt stores a NULL-terminated array
        // that we own (freed in Drop), on failure it stores nothing we must free.
        let n = unsafe { sys::virConnectGetAllDomainStats(conn.as_ptr(), stats, &mut ptr, flags) };
        if n < 0 {
            return Err(Error::last_error());
        }
        let len = if ptr.is_null() {
            0
        } else {
            usize::try_from(n).unwrap_or(0)
        };
        Ok(StatsList { ptr, len })
    }

    /// The number of records.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The records, borrowed from the list.
    pub(crate) fn records(&self) -> impl Iterator<Item = StatsRecord<'_>> + '_ {
        (0..self.len).filter_map(move |i| {
            // SAFETY: `i < len`, the count libvirt returned for this array.
            let rec = unsafe { *self.ptr.add(i) };
            if rec.is_null() {
                return None;
            }
            // SAFETY: a non-null record of the list, alive until the list is dropped,
            // which the returned borrow of `self` outlives.
            Some(StatsRecord {
                rec: unsafe { &*rec },
            })
        })
    }
}

impl Drop for StatsList {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: the array came from virConnectGetAllDomainStats and is freed once;
            // this also releases every record's domain reference and parameters.
            unsafe { sys::virDomainStatsRecordListFree(self.ptr) };
        }
    }
}

/// One domain's record in a [`StatsList`].
pub(crate) struct StatsRecord<'a> {
    rec: &'a sys::virDomainStatsRecord,
}

impl<'a> StatsRecord<'a> {
    /// The domain's raw UUID (read from the domain object; no round trip).
    /// `virDomainGetUUID` is used rather than `virDomainGetUUIDString`, whose
    /// printf-based formatting cost ~0.65 µs per domain, half of a 1000-domain poll.
    pub(crate) fn uuid(&self) -> Option<[u8; 16]> {
        if self.rec.dom.is_null() {
            return None;
        }
        let mut buf = [0u8; sys::VIR_UUID_BUFLEN as usize];
        // SAFETY: the record's domain reference is alive while the list is; `buf` has
        // the VIR_UUID_BUFLEN bytes libvirt writes.
        if unsafe { sys::virDomainGetUUID(self.rec.dom, buf.as_mut_ptr()) } < 0 {
            return None;
        }
        Some(buf)
    }

    /// The domain's name (read from the domain object; no round trip), as the bytes
    /// libvirt holds, borrowed for as long as the list lives. `virDomainGetName` is
    /// cheap: unlike `virDomainGetUUID` it does not format the UUID for a debug line.
    pub(crate) fn name_bytes(&self) -> Option<&'a [u8]> {
        if self.rec.dom.is_null() {
            return None;
        }
        // SAFETY: the record's domain reference is alive while the list is, and the
        // name belongs to that domain object, so it outlives the borrow `'a` of the
        // list; libvirt returns a NUL-terminated string or NULL.
        let p = unsafe { sys::virDomainGetName(self.rec.dom) };
        if p.is_null() {
            return None;
        }
        // SAFETY: non-null and NUL-terminated (above), alive for `'a`.
        Some(unsafe { CStr::from_ptr(p) }.to_bytes())
    }

    /// The record's parameters, decoded: `(field, value)`; fields that are not UTF-8
    /// are skipped.
    pub(crate) fn params(&self) -> impl Iterator<Item = (&'a str, ParamValue)> + 'a {
        // SAFETY: libvirt sets `params`/`nparams` together; they live as long as the list.
        let params = unsafe { param_slice(self.rec.params, self.rec.nparams) };
        params.iter().filter_map(|p| match decode_param(p) {
            (Some(name), value) => Some((name, value)),
            (None, _) => None,
        })
    }
}

/// The UUID string of a raw domain pointer.
///
/// # Safety
/// `dom` must be null or a live domain reference.
unsafe fn domain_uuid(dom: sys::virDomainPtr) -> Option<String> {
    if dom.is_null() {
        return None;
    }
    let mut buf = [0 as c_char; sys::VIR_UUID_STRING_BUFLEN as usize];
    // SAFETY: `dom` is live (caller); `buf` has VIR_UUID_STRING_BUFLEN bytes as required.
    if unsafe { sys::virDomainGetUUIDString(dom, buf.as_mut_ptr()) } < 0 {
        return None;
    }
    // SAFETY: on success libvirt wrote a NUL-terminated string into `buf`.
    Some(
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// The UUIDs of the domains `virConnectListAllDomains(flags)` returns.
pub(crate) fn list_uuids(conn: &Connect, flags: c_uint) -> Result<HashSet<String>, Error> {
    let mut doms: *mut sys::virDomainPtr = ptr::null_mut();
    // SAFETY: `conn` is live for the call; `doms` is a valid out-pointer.
    let n = unsafe { sys::virConnectListAllDomains(conn.as_ptr(), &mut doms, flags) };
    if n < 0 {
        return Err(Error::last_error());
    }
    let mut out = HashSet::new();
    if doms.is_null() {
        return Ok(out);
    }
    for i in 0..usize::try_from(n).unwrap_or(0) {
        // SAFETY: `i < n`, the length libvirt returned for the array.
        let dom = unsafe { *doms.add(i) };
        if dom.is_null() {
            continue;
        }
        // SAFETY: a live domain reference the array gave us.
        if let Some(uuid) = unsafe { domain_uuid(dom) } {
            out.insert(uuid);
        }
        // SAFETY: we own this reference and free it once; a failure is only possible for
        // an invalid object and leaves nothing to clean up, so it is ignored.
        let _ = unsafe { sys::virDomainFree(dom) };
    }
    // SAFETY: the array itself was allocated by libvirt for us and is released with free().
    unsafe { libc::free(doms.cast::<c_void>()) };
    Ok(out)
}

/// The IP addresses (`addr` strings, IPv4 and IPv6) `virDomainInterfaceAddresses`
/// reports for `source` (`VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_*`).
pub(crate) fn interface_addresses(dom: &Domain, source: c_uint) -> Result<Vec<String>, Error> {
    let mut ifaces: *mut sys::virDomainInterfacePtr = ptr::null_mut();
    // SAFETY: `dom` is a live domain for the call; `ifaces` is a valid out-pointer.
    let n = unsafe { sys::virDomainInterfaceAddresses(dom.as_ptr(), &mut ifaces, source, 0) };
    if n < 0 {
        return Err(Error::last_error());
    }
    let mut out = Vec::new();
    if ifaces.is_null() {
        return Ok(out);
    }
    for i in 0..usize::try_from(n).unwrap_or(0) {
        // SAFETY: `i < n`, the length libvirt returned.
        let iface = unsafe { *ifaces.add(i) };
        if iface.is_null() {
            continue;
        }
        // SAFETY: a live interface struct owned by us until freed below.
        let (addrs, naddrs) = unsafe { ((*iface).addrs, (*iface).naddrs) };
        if !addrs.is_null() {
            for j in 0..usize::try_from(naddrs).unwrap_or(0) {
                // SAFETY: `j < naddrs`, the length of this interface's address array.
                let a = unsafe { &*addrs.add(j) };
                if !a.addr.is_null() {
                    // SAFETY: libvirt stores NUL-terminated address strings.
                    out.push(
                        unsafe { CStr::from_ptr(a.addr) }
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
            }
        }
        // SAFETY: frees the struct, its strings and address array, once.
        unsafe { sys::virDomainInterfaceFree(iface) };
    }
    // SAFETY: the array was allocated by libvirt for us and is released with free().
    unsafe { libc::free(ifaces.cast::<c_void>()) };
    Ok(out)
}

/// `virDomainGetState`: the raw state and reason codes (virt's `Domain::state` maps them
/// into enums and ignores errors).
pub(crate) fn domain_state(dom: &Domain) -> Result<(i32, i32), Error> {
    let mut state: c_int = -1;
    let mut reason: c_int = -1;
    // SAFETY: `dom` holds a live domain reference; both out-pointers are valid locals.
    let rc = unsafe { sys::virDomainGetState(dom.as_ptr(), &mut state, &mut reason, 0) };
    if rc < 0 {
        return Err(Error::last_error());
    }
    Ok((state, reason))
}

/// A virt `Domain` released with `virDomainFree`, ignoring a failure, instead of virt's
/// `Drop` (which panics when the free fails).
pub(crate) struct DomainHandle(ManuallyDrop<Domain>);

impl DomainHandle {
    /// Take ownership of `dom`'s reference.
    pub(crate) fn new(dom: Domain) -> Self {
        Self(ManuallyDrop::new(dom))
    }
}

impl Deref for DomainHandle {
    type Target = Domain;
    fn deref(&self) -> &Domain {
        &self.0
    }
}

impl Drop for DomainHandle {
    fn drop(&mut self) {
        // SAFETY: the wrapped Domain owns one reference, never dropped by virt (it is in
        // ManuallyDrop) and released here exactly once.
        let _ = unsafe { sys::virDomainFree(self.0.as_ptr()) };
    }
}

/// A virt `Connect` closed with `virConnectClose`, ignoring a failure, instead of virt's
/// panicking `Drop`.
pub(crate) struct ConnHandle(ManuallyDrop<Connect>);

impl ConnHandle {
    /// Take ownership of `conn`'s reference.
    pub(crate) fn new(conn: Connect) -> Self {
        Self(ManuallyDrop::new(conn))
    }
}

impl Deref for ConnHandle {
    type Target = Connect;
    fn deref(&self) -> &Connect {
        &self.0
    }
}

impl Drop for ConnHandle {
    fn drop(&mut self) {
        // SAFETY: the wrapped Connect owns one reference, never dropped by virt (it is in
        // ManuallyDrop) and released here exactly once.
        let _ = unsafe { sys::virConnectClose(self.0.as_ptr()) };
    }
}

/// The name of a raw domain pointer.
///
/// # Safety
/// `dom` must be null or a live domain reference.
unsafe fn domain_name(dom: sys::virDomainPtr) -> Option<String> {
    if dom.is_null() {
        return None;
    }
    // SAFETY: `dom` is live (caller); the string belongs to the domain object (no round
    // trip) and is copied at once.
    let p = unsafe { sys::virDomainGetName(dom) };
    if p.is_null() {
        return None;
    }
    // SAFETY: libvirt returns a NUL-terminated string.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// A C string argument of a callback, copied (empty when null).
///
/// # Safety
/// `p` must be null or a NUL-terminated string alive for the call.
unsafe fn c_string(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: guaranteed by the caller.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

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
    make: impl FnOnce(String, String) -> DomainEvent,
) {
    if opaque.is_null() {
        return;
    }
    // SAFETY: see the function's contract; only a shared borrow is taken.
    let fanout: &Arc<Fanout> = unsafe { &*opaque.cast::<Arc<Fanout>>() };
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `dom` is live for the callback (contract).
        let uuid = unsafe { domain_uuid(dom) }.unwrap_or_default();
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
            event: LifecycleEvent::from_code(event),
            detail,
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
fn event_table() -> [(c_int, GenericCallback); 5] {
    // SAFETY (all transmutes): only the pointer's type changes. libvirt never calls a
    // callback through the generic type: it casts it back to the signature of its event
    // id (LIFECYCLE → virConnectDomainEventCallback, METADATA_CHANGE →
    // …MetadataChangeCallback, IO_ERROR_REASON → …IOErrorReasonCallback,
    // AGENT_LIFECYCLE → …AgentLifecycleCallback), which each function here has.
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
                sys::VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE as c_int,
                std::mem::transmute::<AgentCallback, GenericCallback>(on_agent_lifecycle),
            ),
        ]
    }
}

/// Register the lifecycle, reboot, metadata-change, IO-error (with reason) and agent
/// lifecycle callbacks for all domains of `conn`, each owning a reference to `fanout`.
/// Returns the callback ids; on failure nothing stays registered.
pub(crate) fn register_domain_events(
    conn: &Connect,
    fanout: &Arc<Fanout>,
) -> Result<Vec<c_int>, Error> {
    let mut ids = Vec::with_capacity(5);
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
    let _ = catch_unwind(|| events::connection_closed(id, reason));
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
mod tests {
    use super::*;

    fn param(name: &str, t: c_uint, value: sys::_virTypedParameterValue) -> sys::virTypedParameter {
        let mut field = [0 as c_char; 80];
        for (dst, src) in field.iter_mut().zip(name.bytes()) {
            *dst = src as c_char;
        }
        sys::virTypedParameter {
            field,
            type_: t as c_int,
            value,
        }
    }

    #[test]
    fn decodes_every_numeric_type() {
        let ps = [
            param(
                "state.state",
                sys::VIR_TYPED_PARAM_INT,
                sys::_virTypedParameterValue { i: 1 },
            ),
            param(
                "vcpu.current",
                sys::VIR_TYPED_PARAM_UINT,
                sys::_virTypedParameterValue { ui: 4 },
            ),
            param(
                "x.l",
                sys::VIR_TYPED_PARAM_LLONG,
                sys::_virTypedParameterValue { l: -3 },
            ),
            param(
                "cpu.time",
                sys::VIR_TYPED_PARAM_ULLONG,
                sys::_virTypedParameterValue { ul: u64::MAX },
            ),
            param(
                "x.d",
                sys::VIR_TYPED_PARAM_DOUBLE,
                sys::_virTypedParameterValue { d: 0.5 },
            ),
            param(
                "x.b",
                sys::VIR_TYPED_PARAM_BOOLEAN,
                sys::_virTypedParameterValue { b: 1 },
            ),
            param(
                "x.s",
                sys::VIR_TYPED_PARAM_STRING,
                sys::_virTypedParameterValue { s: ptr::null_mut() },
            ),
            param("x.bad", 99, sys::_virTypedParameterValue { ul: 7 }),
        ];
        // SAFETY: a local array of initialised parameters.
        let slice = unsafe { param_slice(ps.as_ptr(), ps.len() as c_int) };
        let got: Vec<(Option<&str>, ParamValue)> = slice.iter().map(decode_param).collect();
        assert_eq!(
            got,
            vec![
                (Some("state.state"), ParamValue::Int(1)),
                (Some("vcpu.current"), ParamValue::UInt(4)),
                (Some("x.l"), ParamValue::LLong(-3)),
                (Some("cpu.time"), ParamValue::ULLong(u64::MAX)),
                (Some("x.d"), ParamValue::Double(0.5)),
                (Some("x.b"), ParamValue::Boolean(true)),
                (Some("x.s"), ParamValue::Other),
                (Some("x.bad"), ParamValue::Other),
            ]
        );
    }

    #[test]
    fn field_without_nul_and_non_utf8_field() {
        let mut p = param(
            "",
            sys::VIR_TYPED_PARAM_INT,
            sys::_virTypedParameterValue { i: 2 },
        );
        p.field = [b'a' as c_char; 80];
        assert_eq!(decode_param(&p).0.map(str::len), Some(80));
        p.field[0] = 0xffu8 as c_char;
        assert_eq!(decode_param(&p).0, None);
    }

    #[test]
    fn empty_and_null_param_arrays() {
        // SAFETY: null pointers and non-positive counts are handled without dereferencing.
        unsafe {
            assert!(param_slice(ptr::null(), 5).is_empty());
            let p = param(
                "a",
                sys::VIR_TYPED_PARAM_INT,
                sys::_virTypedParameterValue { i: 2 },
            );
            assert!(param_slice(&p, 0).is_empty());
            assert!(param_slice(&p, -1).is_empty());
        }
    }

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
                    uuid: e(),
                    name: e(),
                    event: LifecycleEvent::Stopped,
                    detail: 2
                },
                DomainEvent::MetadataChange {
                    uuid: e(),
                    name: e(),
                    namespace: Some("urn:x".into())
                },
                DomainEvent::MetadataChange {
                    uuid: e(),
                    name: e(),
                    namespace: None
                },
                DomainEvent::IoError {
                    uuid: e(),
                    name: e(),
                    path: e(),
                    device: "urn:x".into(),
                    action: 1,
                    reason: "urn:x".into()
                },
                DomainEvent::AgentLifecycle {
                    uuid: e(),
                    name: e(),
                    connected: true
                },
                DomainEvent::AgentLifecycle {
                    uuid: e(),
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

    #[test]
    fn conversions() {
        assert_eq!(ParamValue::Int(-1).as_u64(), None);
        assert_eq!(ParamValue::LLong(5).as_u64(), Some(5));
        assert_eq!(ParamValue::Double(1.0).as_u64(), None);
        assert_eq!(ParamValue::ULLong(u64::MAX).as_i32(), None);
        assert_eq!(ParamValue::UInt(3).as_i32(), Some(3));
    }
}
