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
#![allow(unsafe_code)]

use std::collections::HashSet;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::Error;
use virt::sys;

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

    /// The domain's name (read from the domain object; no round trip).
    pub(crate) fn name(&self) -> Option<String> {
        if self.rec.dom.is_null() {
            return None;
        }
        // SAFETY: the record's domain reference is alive while the list is; the
        // returned string belongs to the domain object and is copied at once.
        let p = unsafe { sys::virDomainGetName(self.rec.dom) };
        if p.is_null() {
            return None;
        }
        // SAFETY: libvirt returns a NUL-terminated string.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
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
    fn conversions() {
        assert_eq!(ParamValue::Int(-1).as_u64(), None);
        assert_eq!(ParamValue::LLong(5).as_u64(), Some(5));
        assert_eq!(ParamValue::Double(1.0).as_u64(), None);
        assert_eq!(ParamValue::ULLong(u64::MAX).as_i32(), None);
        assert_eq!(ParamValue::UInt(3).as_i32(), Some(3));
    }
}
