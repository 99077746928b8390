//! `<state_dir>/recovery.json`: what each VM was doing before the host shut down.
//!
//! Written by `host-shutdown` before it touches any VM (so a crash half-way still
//! leaves the records), and again, atomically, each time a VM is done. Read by
//! `host-boot` and `vmlife recover`, which mark what they applied.
//!
//! ```json
//! { "version": 1, "boot_id": "…", "recorded_at": "2026-…Z",
//!   "records": [ { "state": { VmRecoveryState }, "on_host_shutdown": "save_state",
//!                  "shutdown_result": "saved (managed save)",
//!                  "restored_at": null, "restore_result": null } ] }
//! ```
//! `state.config_snapshot` is the domain's inactive XML as a JSON string (the contract's
//! `Dyn`), or `null` when it could not be read.

use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{HostShutdownAction, VmRecoveryState};
use crate::store::write_atomic;

/// The file's name inside the state directory.
pub const RECOVERY_FILE: &str = "recovery.json";

/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryFile {
    /// The format version ([`VERSION`]).
    pub version: u32,
    /// The boot in which the host shut down (`/proc/sys/kernel/random/boot_id`).
    pub boot_id: Option<String>,
    /// When host shutdown started.
    pub recorded_at: DateTime<Utc>,
    /// In the order host shutdown handled them (reverse start order).
    pub records: Vec<RecoveryRecord>,
}

/// One VM's record, with what was done about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryRecord {
    /// The contract record.
    pub state: VmRecoveryState,
    /// The effective policy host shutdown applied.
    pub on_host_shutdown: HostShutdownAction,
    /// What host shutdown did (`saved (managed save)`, `shut down after 14 s`, `was not
    /// running`, `failed: …`); `None` while it was still at work.
    #[serde(default)]
    pub shutdown_result: Option<String>,
    /// When `host-boot` or `recover` applied the record; `None` until then.
    #[serde(default)]
    pub restored_at: Option<DateTime<Utc>>,
    /// What they did.
    #[serde(default)]
    pub restore_result: Option<String>,
}

impl RecoveryRecord {
    /// The domain XML of the config snapshot, when it holds one.
    pub fn domain_xml(&self) -> Option<&str> {
        self.state.config_snapshot.as_str()
    }
}

impl RecoveryFile {
    /// The file's path in `state_dir`.
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(RECOVERY_FILE)
    }

    /// Reads the file; `Ok(None)` when there is none. Errors name the file.
    pub fn load(state_dir: &Path) -> Result<Option<RecoveryFile>, String> {
        let path = Self::path(state_dir);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let file: RecoveryFile = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not a recovery file: {e}", path.display()))?;
        if file.version != VERSION {
            return Err(format!(
                "{}: version {} is not {VERSION}, the version this vmlife reads",
                path.display(),
                file.version
            ));
        }
        Ok(Some(file))
    }

    /// Replaces the file atomically (creating the state directory owner-only).
    pub fn save(&self, state_dir: &Path) -> Result<(), String> {
        let path = Self::path(state_dir);
        crate::store::ensure_dir(state_dir)
            .map_err(|e| format!("state dir {}: {e}", state_dir.display()))?;
        let mut bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| format!("{}: cannot encode: {e}", path.display()))?;
        bytes.push(b'\n');
        write_atomic(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The record of the VM `uuid`, else of the VM named `name`.
    pub fn find(&self, uuid: &str, name: &str) -> Option<usize> {
        self.records
            .iter()
            .position(|r| r.state.vm_id == uuid)
            .or_else(|| self.records.iter().position(|r| r.state.vm_name == name))
    }
}

/// Where the managed save image of `name` is, when the directory is known: `dir` from
/// the config, else libvirt's system directory for `qemu:///system`.
pub fn managed_save_path(uri: &str, dir: Option<&Path>, name: &str) -> Option<PathBuf> {
    let file = format!("{name}.save");
    match dir {
        Some(d) => Some(d.join(file)),
        None if uri == "qemu:///system" => Some(Path::new("/var/lib/libvirt/qemu/save").join(file)),
        None => None,
    }
}

/// The recorded memory snapshot: the image's path and size in MiB (rounded up) when the
/// file can be read, else no path and `fallback_mb` (the VM's memory).
pub fn memory_snapshot(
    path: Option<&Path>,
    fallback_mb: Option<u64>,
) -> (Option<String>, Option<u64>) {
    match path.and_then(|p| std::fs::metadata(p).ok().map(|m| (p, m.len()))) {
        Some((p, len)) => (
            Some(p.display().to_string()),
            Some(len.div_ceil(1024 * 1024)),
        ),
        None => (None, fallback_mb),
    }
}

#[cfg(test)]
#[path = "recovery_file_tests.rs"]
mod tests;
