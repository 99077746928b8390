//! The engine's files in the state store (docs/ARCHITECTURE.md), beside the journal.
//!
//! - `cleanups.json`: one [`VmCleanupSchedule`] per VM UUID, and who is running the
//!   cleanups that are `in_progress` ([`Claim`]).
//! - `engine.json`: when the last scheduled round ran, the VMs a person confirmed for
//!   cleanup, and the alerts raised.
//!
//! Both are replaced whole with [`write_atomic`], so a kill at any moment leaves the old
//! or the new file. Every change is a read-modify-write under an exclusive lock on
//! `store.lock` ([`EngineStore::update`]): the daemon, a dashboard and `vmlife cleanup`
//! may write at the same time without losing each other's changes. Reads take no lock.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::procid::OwnerId;
use crate::lifecycle::pressure::{Cause, PressureState};
use crate::model::{Uuid, VmCleanupSchedule};
use crate::store::{ensure_dir, write_atomic};

/// Cleanup records, in the state directory.
pub const CLEANUPS_FILE: &str = "cleanups.json";
/// The engine's own state, in the state directory.
pub const ENGINE_FILE: &str = "engine.json";
/// Serializes read-modify-write cycles of the two files.
pub const STORE_LOCK_FILE: &str = "store.lock";
/// The format version these files are written in.
pub const FORMAT_VERSION: u32 = 1;

/// Alerts kept at most (the oldest go first).
pub const MAX_ALERTS: usize = 200;

fn format_version() -> u32 {
    FORMAT_VERSION
}

/// `cleanups.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanupsFile {
    /// The format version ([`FORMAT_VERSION`]).
    #[serde(default = "format_version")]
    pub version: u32,
    /// One record per VM UUID.
    #[serde(default)]
    pub records: BTreeMap<Uuid, VmCleanupSchedule>,
    /// Who runs each `in_progress` cleanup, by VM UUID.
    #[serde(default)]
    pub claims: BTreeMap<Uuid, Claim>,
}

impl Default for CleanupsFile {
    fn default() -> Self {
        Self {
            version: FORMAT_VERSION,
            records: BTreeMap::new(),
            claims: BTreeMap::new(),
        }
    }
}

/// Who runs an `in_progress` cleanup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// The process (and instance in it) running the cleanup.
    pub owner: OwnerId,
    /// When it was claimed.
    pub since: DateTime<Utc>,
    /// Who asked (`engine`, `cli:root`).
    pub actor: String,
}

/// `engine.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineFile {
    /// The format version ([`FORMAT_VERSION`]).
    #[serde(default = "format_version")]
    pub version: u32,
    /// When the last scheduled cleanup round ran; `null` means "due now".
    #[serde(default)]
    pub last_round_at: Option<DateTime<Utc>>,
    /// VM UUIDs a person confirmed for cleanup (`require_confirmation`).
    #[serde(default)]
    pub confirmed: BTreeMap<Uuid, Confirmation>,
    /// Alerts raised, oldest first.
    #[serde(default)]
    pub alerts: Vec<Alert>,
    /// The pressure reactions' state: what vmlife paused for which cause, the full
    /// disks, the memory hysteresis. Left out while empty (older vmlife read the file).
    #[serde(default, skip_serializing_if = "PressureRecords::is_empty")]
    pub pressure: PressureRecords,
}

impl Default for EngineFile {
    fn default() -> Self {
        Self {
            version: FORMAT_VERSION,
            last_round_at: None,
            confirmed: BTreeMap::new(),
            alerts: Vec::new(),
            pressure: PressureRecords::default(),
        }
    }
}

/// The pressure reactions' state in `engine.json`, so resumes survive a restart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PressureRecords {
    /// The memory hysteresis after the last reading.
    #[serde(default)]
    pub state: PressureState,
    /// When the last memory step (suspend, kill, resume) was submitted, unix seconds.
    #[serde(default)]
    pub last_memory_step_at: Option<i64>,
    /// VMs vmlife paused, by UUID: for what and when.
    #[serde(default)]
    pub paused: BTreeMap<Uuid, PausedRecord>,
    /// VMs with a full disk, by UUID (one episode each: one alert).
    #[serde(default)]
    pub disk_full: BTreeMap<Uuid, DiskFullRecord>,
}

impl PressureRecords {
    /// Nothing recorded and the host fine.
    pub fn is_empty(&self) -> bool {
        self == &PressureRecords::default()
    }
}

/// vmlife paused this VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PausedRecord {
    pub vm_name: String,
    pub cause: Cause,
    /// Unix seconds.
    pub at: i64,
    /// Pause order (each pause takes the next number): two pauses within one second
    /// still resume latest first.
    #[serde(default)]
    pub seq: u64,
}

/// A disk of this VM found no space: one episode, from the first error until the VM
/// has run again for `clear_seconds` (or is gone, or shut off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiskFullRecord {
    pub vm_name: String,
    /// The disk's target (`vda`).
    pub target: String,
    /// When the episode began, unix seconds.
    pub since: i64,
    /// Seen paused since the last error (QEMU's pause, or vmlife's).
    #[serde(default)]
    pub was_paused: bool,
    /// Running again since (resumed by vmlife or a person): not full for now.
    #[serde(default)]
    pub running_since: Option<i64>,
}

/// A person's go-ahead for one VM's cleanup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    /// `cli:alice`, `dashboard:bob`.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Something a person should look at: a cleanup that failed, a VM the restart policy
/// gave up on. Shown in the dashboard, journaled as an error, passed to the alert
/// command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    /// When it was raised.
    pub time: DateTime<Utc>,
    /// The VM's name.
    pub vm_name: String,
    /// The VM's UUID.
    pub vm_id: Uuid,
    /// What failed: `cleanup`, `restart`.
    pub action: String,
    /// What went wrong, one line.
    pub error: String,
}

/// Both files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreData {
    /// `cleanups.json`.
    pub cleanups: CleanupsFile,
    /// `engine.json`.
    pub engine: EngineFile,
}

/// The engine's files in one state directory.
#[derive(Debug, Clone)]
pub struct EngineStore {
    dir: PathBuf,
}

impl EngineStore {
    /// The store in `dir`; nothing is read or created yet.
    pub fn new(dir: impl Into<PathBuf>) -> EngineStore {
        EngineStore { dir: dir.into() }
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads both files; a missing file (or directory) reads as empty. Creates nothing.
    pub fn load(&self) -> io::Result<StoreData> {
        Ok(StoreData {
            cleanups: read_json(&self.dir.join(CLEANUPS_FILE))?,
            engine: read_json(&self.dir.join(ENGINE_FILE))?,
        })
    }

    /// Applies `f` to the current files under the store lock and writes back what
    /// changed; returns `f`'s value and the data as written.
    pub fn update<R>(&self, f: impl FnOnce(&mut StoreData) -> R) -> io::Result<(R, StoreData)> {
        ensure_dir(&self.dir).map_err(|e| with_path(e, &self.dir))?;
        let lock_path = self.dir.join(STORE_LOCK_FILE);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| with_path(e, &lock_path))?;
        lock.lock().map_err(|e| with_path(e, &lock_path))?;
        let result = self.update_locked(f);
        // Closing the file releases the lock; unlock explicitly anyway.
        let _ = File::unlock(&lock);
        result
    }

    fn update_locked<R>(&self, f: impl FnOnce(&mut StoreData) -> R) -> io::Result<(R, StoreData)> {
        let before = self.load()?;
        let mut data = before.clone();
        let r = f(&mut data);
        if data.cleanups != before.cleanups {
            write_json(&self.dir.join(CLEANUPS_FILE), &data.cleanups)?;
        }
        if data.engine != before.engine {
            write_json(&self.dir.join(ENGINE_FILE), &data.engine)?;
        }
        Ok((r, data))
    }
}

/// A file's contents, or the default when it does not exist.
fn read_json<T: DeserializeOwned + Default + Versioned>(path: &Path) -> io::Result<T> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(T::default()),
        Err(e) => return Err(with_path(e, path)),
    };
    let value: T = serde_json::from_slice(&bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a vmlife state file: {e}", path.display()),
        )
    })?;
    if value.version() > FORMAT_VERSION {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: format version {} is newer than this vmlife reads ({FORMAT_VERSION})",
                path.display(),
                value.version()
            ),
        ));
    }
    Ok(value)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes).map_err(|e| with_path(e, path))
}

/// Files that carry a format version.
trait Versioned {
    fn version(&self) -> u32;
}

impl Versioned for CleanupsFile {
    fn version(&self) -> u32 {
        self.version
    }
}

impl Versioned for EngineFile {
    fn version(&self) -> u32 {
        self.version
    }
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
#[path = "state_files_tests.rs"]
mod tests;
