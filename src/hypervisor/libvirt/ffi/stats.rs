//! `virConnectGetAllDomainStats` with the whole record list owned and freed, and the
//! typed parameters decoded into [`ParamValue`].

use std::ffi::{c_int, c_uint, CStr};
use std::ptr;

use virt::connect::Connect;
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
pub(super) fn decode_param(p: &sys::virTypedParameter) -> (Option<&str>, ParamValue) {
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

/// The text of a string parameter, copied; `None` for any other type.
///
/// # Safety
/// `p` must be an initialised parameter whose string, if it is one, is alive.
pub(super) unsafe fn param_string(p: &sys::virTypedParameter) -> Option<String> {
    if c_uint::try_from(p.type_).ok()? != sys::VIR_TYPED_PARAM_STRING {
        return None;
    }
    // SAFETY: `type_` says the string member is the initialised one.
    let s = unsafe { p.value.s };
    if s.is_null() {
        return None;
    }
    // SAFETY: libvirt's parameter strings are NUL-terminated and alive (contract).
    Some(unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned())
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

    /// The stats of the given domains only (`virDomainListGetStats`); `doms` must all
    /// belong to one connection. An empty list asks nothing and returns no record.
    pub(crate) fn fetch_listed(
        doms: &[&virt::domain::Domain],
        stats: c_uint,
        flags: c_uint,
    ) -> Result<StatsList, Error> {
        if doms.is_empty() {
            return Ok(StatsList {
                ptr: ptr::null_mut(),
                len: 0,
            });
        }
        // SAFETY: every `Domain` in `doms` holds a live reference for this whole call
        // (they are borrowed); the array only lends the pointers, it takes no reference.
        let mut ptrs: Vec<sys::virDomainPtr> = doms.iter().map(|d| unsafe { d.as_ptr() }).collect();
        ptrs.push(ptr::null_mut());
        let mut list: *mut sys::virDomainStatsRecordPtr = ptr::null_mut();
        // SAFETY: `ptrs` is a NULL-terminated array of live domain references of one
        // connection; `list` is a valid out-pointer whose array the returned StatsList
        // owns and frees; on failure libvirt stores nothing we must free.
        let n = unsafe { sys::virDomainListGetStats(ptrs.as_mut_ptr(), stats, &mut list, flags) };
        if n < 0 {
            return Err(Error::last_error());
        }
        Ok(StatsList::from_raw(list, n))
    }

    /// Own a record list libvirt returned (`virDomainListGetStats`), `n` its result.
    pub(crate) fn from_raw(ptr: *mut sys::virDomainStatsRecordPtr, n: c_int) -> StatsList {
        let len = if ptr.is_null() {
            0
        } else {
            usize::try_from(n).unwrap_or(0)
        };
        StatsList { ptr, len }
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

    /// A new reference to the record's domain, owned by the returned handle, which
    /// outlives the list (kept by the adapter so later calls need no UUID lookup).
    pub(crate) fn domain(&self) -> Option<super::DomainHandle> {
        if self.rec.dom.is_null() {
            return None;
        }
        // SAFETY: the record's domain reference is alive while the list is;
        // virDomainRef adds one reference, owned from here on by the handle below.
        if unsafe { sys::virDomainRef(self.rec.dom) } < 0 {
            return None;
        }
        // SAFETY: a valid domain pointer whose extra reference (taken above) the
        // handle takes over and releases once on drop.
        let dom = unsafe { virt::domain::Domain::from_ptr(self.rec.dom) };
        Some(super::DomainHandle::new(dom))
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

    /// The record's parameters as libvirt holds them, borrowed for as long as the list.
    pub(super) fn raw_params(&self) -> &'a [sys::virTypedParameter] {
        // SAFETY: libvirt sets `params`/`nparams` together; they live as long as the list.
        unsafe { param_slice(self.rec.params, self.rec.nparams) }
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

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
