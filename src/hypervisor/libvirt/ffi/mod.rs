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
//!
//! - [`node_memory_stats`] and [`disk_errors`]: `virNodeGetMemoryStats` and
//!   `virDomainGetDiskErrors` (no wrapper in virt 0.5), each string freed once;
//!   [`file_system_space`]: `statvfs(2)` of a disk's directory.
//! - [`memory_parameters`], [`scheduler_parameters`], [`block_stats`]: a domain's
//!   tunables as typed parameters decoded without panics (virt's getters panic on an
//!   unexpected parameter type; it has no single-domain stats call).
//!
//! Files: this one (lists, addresses, state, handles and the pointer helpers),
//! `stats` (the bulk-stats list and its typed parameters), `callbacks` (domain-event
//! and close callbacks and their registration), `tunables` (the limits' getters).
#![allow(unsafe_code)]

mod callbacks;
mod node;
mod stats;
mod tunables;

pub(crate) use callbacks::{
    deregister_domain_events, register_close_callback, register_domain_events,
    unregister_close_callback,
};
pub(crate) use node::{disk_errors, file_system_space, node_memory_stats};
pub(crate) use stats::{ParamValue, StatsList};
pub(crate) use tunables::{block_stats, memory_parameters, scheduler_parameters, Param};

use std::collections::HashSet;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::Error;
use virt::sys;

use crate::hypervisor::Uuid;

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
pub(crate) fn list_uuids(conn: &Connect, flags: c_uint) -> Result<HashSet<Uuid>, Error> {
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
            out.insert(Uuid::from(uuid));
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
