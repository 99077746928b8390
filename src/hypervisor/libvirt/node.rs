//! The node's memory and a domain's disk errors, for the pressure signals (issue 11).

use super::errors::action_error;
use super::{
    ffi, DiskError, DiskErrorKind, DiskSpace, HvError, HvErrorKind, HvResult, LibvirtHypervisor,
    NodeMemory,
};
use virt::sys;

impl LibvirtHypervisor {
    pub(super) fn read_node_memory(&self) -> HvResult<NodeMemory> {
        let conn = self.conn()?;
        let stats =
            ffi::node_memory_stats(&conn).map_err(|e| self.conn_error("node memory", &e))?;
        Ok(node_memory_from(&stats))
    }

    pub(super) fn count_running(&self) -> HvResult<usize> {
        let conn = self.conn()?;
        let n = conn
            .num_of_domains()
            .map_err(|e| self.conn_error("count of running domains", &e))?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    pub(super) fn read_disk_errors(&self, uuid: &str) -> HvResult<Vec<DiskError>> {
        let dom = self.domain("disk errors", uuid)?;
        let raw =
            ffi::disk_errors(&dom).map_err(|e| action_error("disk errors", uuid, &dom, &e))?;
        Ok(disk_errors_from(raw))
    }

    /// Room left for a disk image: `statvfs` of its directory for a local URI; else (a
    /// remote host, or a local directory this process cannot see) the storage pool that
    /// holds the volume, as libvirt reports it (`virStoragePoolGetInfo`: its
    /// `available` and `capacity` as of the pool's last refresh; nothing is refreshed,
    /// so the call changes nothing).
    pub(super) fn read_disk_space(&self, path: &str) -> HvResult<DiskSpace> {
        let fail =
            |why: String| HvError::new(HvErrorKind::Other, format!("free space of {path}: {why}"));
        let local = if crate::hypervisor::is_local_uri(&self.uri) {
            let dir = std::path::Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty());
            match dir.map(|d| (d, ffi::file_system_space(d))) {
                Some((_, Ok((free_bytes, total_bytes)))) => {
                    return Ok(DiskSpace {
                        free_bytes,
                        total_bytes,
                    })
                }
                Some((d, Err(e))) => format!("{}: {e}", d.display()),
                None => "no directory".into(),
            }
        } else {
            format!("not this host ({})", self.uri)
        };
        self.pool_space(path)
            .map_err(|pool| fail(format!("{local}; storage pool: {pool}")))
    }

    /// The free space of the storage pool holding the volume at `path`.
    fn pool_space(&self, path: &str) -> Result<DiskSpace, String> {
        let conn = self.conn().map_err(|e| e.message)?;
        // virt's StorageVol and StoragePool are dropped normally: their Drop panics only
        // when freeing a valid reference fails, which libvirt does not do.
        let vol = conn
            .lookup_storage_vol_by_path(path)
            .map_err(|e| format!("no volume at this path: {}", e.message()))?;
        let pool = vol
            .lookup_storage_pool()
            .map_err(|e| format!("its pool: {}", e.message()))?;
        let info = pool
            .info()
            .map_err(|e| format!("pool info: {}", e.message()))?;
        Ok(pool_space_from(info.available, info.capacity))
    }
}

/// A pool's `available` and `capacity` → [`DiskSpace`] (a capacity below what is free,
/// as a driver may report, is raised to it).
pub(super) fn pool_space_from(available: u64, capacity: u64) -> DiskSpace {
    DiskSpace {
        free_bytes: available,
        total_bytes: capacity.max(available),
    }
}

/// `total`/`free`/`buffers`/`cached` pairs → [`NodeMemory`]; missing fields are 0.
pub(super) fn node_memory_from(stats: &[(String, u64)]) -> NodeMemory {
    let field = |name: &str| stats.iter().find(|(f, _)| f == name).map_or(0, |(_, v)| *v);
    NodeMemory {
        total_kib: field("total"),
        free_kib: field("free"),
        buffers_kib: field("buffers"),
        cached_kib: field("cached"),
    }
}

/// (target, code) pairs → [`DiskError`]s; code 0 (no error) is left out.
pub(super) fn disk_errors_from(raw: Vec<(String, i32)>) -> Vec<DiskError> {
    raw.into_iter()
        .filter_map(|(target, code)| {
            let kind = match u32::try_from(code).ok()? {
                sys::VIR_DOMAIN_DISK_ERROR_NONE => return None,
                sys::VIR_DOMAIN_DISK_ERROR_NO_SPACE => DiskErrorKind::NoSpace,
                _ => DiskErrorKind::Other,
            };
            Some(DiskError { target, kind })
        })
        .collect()
}
