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

    pub(super) fn read_disk_errors(&self, uuid: &str) -> HvResult<Vec<DiskError>> {
        let dom = self.domain("disk errors", uuid)?;
        let raw =
            ffi::disk_errors(&dom).map_err(|e| action_error("disk errors", uuid, &dom, &e))?;
        Ok(disk_errors_from(raw))
    }

    /// `statvfs` of the image's directory, for a local URI only.
    pub(super) fn read_disk_space(&self, path: &str) -> HvResult<DiskSpace> {
        let fail =
            |why: String| HvError::new(HvErrorKind::Other, format!("free space of {path}: {why}"));
        if !crate::hypervisor::is_local_uri(&self.uri) {
            return Err(fail(format!("not known on {} (not this host)", self.uri)));
        }
        let dir = std::path::Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .ok_or_else(|| fail("no directory".into()))?;
        let (free_bytes, total_bytes) =
            ffi::file_system_space(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
        Ok(DiskSpace {
            free_bytes,
            total_bytes,
        })
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
