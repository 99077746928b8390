//! A domain's tunables read as typed parameters, decoded without panics: memory
//! parameters, scheduler parameters, and one domain's block stats (virt 0.5's getters
//! panic on a parameter of an unexpected type and have no single-domain stats call).

use std::ffi::{c_int, c_uint};
use std::mem;
use std::ptr;

use virt::domain::Domain;
use virt::error::Error;
use virt::sys;

use super::stats::{decode_param, param_string, ParamValue, StatsList};

/// One typed parameter copied out: its field, its value, and its text for a string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Param {
    pub field: String,
    pub value: ParamValue,
    pub text: Option<String>,
}

fn copy_params(params: &[sys::virTypedParameter]) -> Vec<Param> {
    params
        .iter()
        .filter_map(|p| {
            let (name, value) = decode_param(p);
            let field = name?.to_string();
            // SAFETY: `p` is an initialised parameter of a live array.
            let text = unsafe { param_string(p) };
            Some(Param { field, value, text })
        })
        .collect()
}

/// A getter in libvirt's two-call shape: `call(null, &n)` for the count, then
/// `call(buf, &n)` to fill `n` parameters.
fn typed_params(
    mut call: impl FnMut(*mut sys::virTypedParameter, *mut c_int) -> c_int,
) -> Result<Vec<Param>, Error> {
    let mut n: c_int = 0;
    if call(ptr::null_mut(), &mut n) < 0 {
        return Err(Error::last_error());
    }
    let len = usize::try_from(n).unwrap_or(0);
    if len == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: virTypedParameter is plain data (a name array, an int, a union of numbers
    // and a pointer); all zeroes is a valid value of it.
    let mut buf: Vec<sys::virTypedParameter> = (0..len).map(|_| unsafe { mem::zeroed() }).collect();
    if call(buf.as_mut_ptr(), &mut n) < 0 {
        return Err(Error::last_error());
    }
    let filled = usize::try_from(n).unwrap_or(0).min(len);
    let out = copy_params(&buf[..filled]);
    // SAFETY: the first `filled` parameters were set by libvirt; clearing frees the
    // strings it allocated for them (and nothing else).
    unsafe { sys::virTypedParamsClear(buf.as_mut_ptr(), c_int::try_from(filled).unwrap_or(0)) };
    Ok(out)
}

/// `virDomainGetMemoryParameters` (current: live for a running domain).
pub(crate) fn memory_parameters(dom: &Domain) -> Result<Vec<Param>, Error> {
    typed_params(|buf, n| {
        // SAFETY: `dom` holds a live reference; `buf` is null (count query) or has room
        // for `*n` parameters; `n` is a valid pointer.
        unsafe { sys::virDomainGetMemoryParameters(dom.as_ptr(), buf, n, 0) }
    })
}

/// `virDomainGetSchedulerParametersFlags` (current), sized by
/// `virDomainGetSchedulerType`.
pub(crate) fn scheduler_parameters(dom: &Domain) -> Result<Vec<Param>, Error> {
    let mut first = true;
    typed_params(|buf, n| {
        if first {
            first = false;
            // SAFETY: `dom` holds a live reference and `n` is a valid pointer; the
            // returned type string is ours and freed at once.
            let t = unsafe { sys::virDomainGetSchedulerType(dom.as_ptr(), n) };
            if t.is_null() {
                return -1;
            }
            // SAFETY: `t` was allocated by libvirt for the caller to free.
            unsafe { libc::free(t.cast()) };
            return 0;
        }
        // SAFETY: `buf` has room for `*n` parameters (the count the type call gave).
        unsafe { sys::virDomainGetSchedulerParametersFlags(dom.as_ptr(), buf, n, 0) }
    })
}

/// The block group of one domain's stats (`virDomainListGetStats`), its parameters.
pub(crate) fn block_stats(dom: &Domain) -> Result<Vec<Param>, Error> {
    // SAFETY: `dom` holds a live domain reference for this whole function.
    let mut doms = [unsafe { dom.as_ptr() }, ptr::null_mut()];
    let mut list: *mut sys::virDomainStatsRecordPtr = ptr::null_mut();
    // SAFETY: `doms` is a NULL-terminated array of one live domain reference; `list` is
    // a valid out-pointer whose array the StatsList below owns and frees.
    let n = unsafe {
        sys::virDomainListGetStats(
            doms.as_mut_ptr(),
            sys::VIR_DOMAIN_STATS_BLOCK as c_uint,
            &mut list,
            0,
        )
    };
    if n < 0 {
        return Err(Error::last_error());
    }
    let stats = StatsList::from_raw(list, n);
    Ok(stats
        .records()
        .flat_map(|r| copy_params(r.raw_params()))
        .collect())
}
