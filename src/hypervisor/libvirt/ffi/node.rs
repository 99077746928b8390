//! `virNodeGetMemoryStats` and `virDomainGetDiskErrors`: virt 0.5 wraps neither.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::Error;
use virt::sys;

/// The node's memory statistics of all cells, as (field, KiB) pairs: `total`, `free`,
/// `buffers`, `cached` on Linux hosts.
pub(crate) fn node_memory_stats(conn: &Connect) -> Result<Vec<(String, u64)>, Error> {
    let cell = sys::VIR_NODE_MEMORY_STATS_ALL_CELLS;
    let mut n: c_int = 0;
    // SAFETY: `conn` is live for the call; a null array with `n = 0` asks for the count.
    let rc = unsafe { sys::virNodeGetMemoryStats(conn.as_ptr(), cell, ptr::null_mut(), &mut n, 0) };
    if rc < 0 {
        return Err(Error::last_error());
    }
    let len = usize::try_from(n).unwrap_or(0);
    if len == 0 {
        return Ok(Vec::new());
    }
    let empty = sys::virNodeMemoryStats {
        field: [0; 80],
        value: 0,
    };
    let mut params = vec![empty; len];
    // SAFETY: `params` holds `n` elements, as `n` tells libvirt; `conn` is live.
    let rc =
        unsafe { sys::virNodeGetMemoryStats(conn.as_ptr(), cell, params.as_mut_ptr(), &mut n, 0) };
    if rc < 0 {
        return Err(Error::last_error());
    }
    let filled = usize::try_from(n).unwrap_or(0).min(len);
    Ok(params[..filled]
        .iter()
        .map(|p| {
            // The field is a fixed array; stop at its NUL (or its end).
            let bytes: Vec<u8> = p
                .field
                .iter()
                .take_while(|&&c| c != 0)
                .map(|&c| c as u8)
                .collect();
            (String::from_utf8_lossy(&bytes).into_owned(), p.value)
        })
        .collect())
}

/// The domain's disk errors as (target, `virDomainDiskErrorCode`) pairs.
pub(crate) fn disk_errors(dom: &Domain) -> Result<Vec<(String, i32)>, Error> {
    // SAFETY: `dom` is live for the call; a null array with 0 asks for the count.
    let n = unsafe { sys::virDomainGetDiskErrors(dom.as_ptr(), ptr::null_mut(), 0, 0) };
    if n < 0 {
        return Err(Error::last_error());
    }
    let len = usize::try_from(n).unwrap_or(0);
    if len == 0 {
        return Ok(Vec::new());
    }
    let empty = sys::virDomainDiskError {
        disk: ptr::null_mut(),
        error: 0,
    };
    let mut errors = vec![empty; len];
    let max = u32::try_from(len).unwrap_or(u32::MAX);
    // SAFETY: `errors` holds `max` elements; `dom` is live.
    let got = unsafe { sys::virDomainGetDiskErrors(dom.as_ptr(), errors.as_mut_ptr(), max, 0) };
    if got < 0 {
        return Err(Error::last_error());
    }
    let got = usize::try_from(got).unwrap_or(0).min(len);
    let mut out = Vec::with_capacity(got);
    for e in &errors[..got] {
        let disk: *mut c_char = e.disk;
        if disk.is_null() {
            continue;
        }
        // SAFETY: libvirt stored a NUL-terminated string we now own.
        let target = unsafe { CStr::from_ptr(disk) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: the string was allocated by libvirt for us; freed once with free().
        unsafe { libc::free(disk.cast::<c_void>()) };
        out.push((target, e.error));
    }
    Ok(out)
}

/// `statvfs(2)` of `dir`: (bytes free to unprivileged users, bytes in all).
pub(crate) fn file_system_space(dir: &std::path::Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: an all-zero statvfs is a valid value of this plain C struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and alive for the call; `st` is a valid out-pointer.
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // `fsblkcnt_t` and `c_ulong` are u64 on the 64-bit Linux targets vmlife builds for.
    #[allow(clippy::useless_conversion)]
    let frsize = u64::from(st.f_frsize);
    #[allow(clippy::useless_conversion)]
    let (avail, blocks) = (u64::from(st.f_bavail), u64::from(st.f_blocks));
    Ok((avail.saturating_mul(frsize), blocks.saturating_mul(frsize)))
}
