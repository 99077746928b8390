//! One engine per host (docs/ARCHITECTURE.md): automatic actions run only in the process that
//! holds an exclusive lock on `<state_dir>/engine.lock`.
//!
//! The lock is `flock(2)` (via [`File::try_lock`]): the kernel drops it when the holder
//! exits, however it exits, so a killed daemon never leaves a stale lock behind. The
//! holder writes its PID and [`Role`] into the lock file (`812 daemon`) for people and
//! for [`engine_owner`], which finds the holder without touching the lock (reading
//! `/proc/locks`; the PID in the file when that is not readable), so asking never makes
//! a starting daemon fail. The role tells a dashboard that runs the engine from a
//! daemon; a dashboard that does not hold the lock retries it and takes it over once
//! the holder is gone (see `tui::engine_link`).

use std::collections::BTreeSet;
use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::store::ensure_dir;

/// The lock file's name inside the state directory.
pub const LOCK_FILE: &str = "engine.lock";

/// Lock files this process holds (by path as given, and canonical).
static HELD: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn held() -> MutexGuard<'static, BTreeSet<PathBuf>> {
    HELD.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What kind of process runs the engine: written into the lock file after the PID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `vmlife daemon`.
    Daemon,
    /// A dashboard that took the lock because nothing else held it.
    Dashboard,
}

impl Role {
    /// The word in the lock file.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Daemon => "daemon",
            Role::Dashboard => "dashboard",
        }
    }

    fn parse(word: &str) -> Option<Role> {
        match word {
            "daemon" => Some(Role::Daemon),
            "dashboard" => Some(Role::Dashboard),
            _ => None,
        }
    }
}

/// The engine lock, held until dropped (or the process exits).
#[derive(Debug)]
pub struct EngineLock {
    file: File,
    path: PathBuf,
    keys: Vec<PathBuf>,
}

/// Why the lock could not be taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it.
    Held {
        /// The lock file.
        path: PathBuf,
        /// The holder, when it can be found.
        pid: Option<u32>,
        /// What the holder is, when its lock file says.
        role: Option<Role>,
    },
    /// The state directory or the lock file could not be opened.
    Io {
        /// What could not be opened.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Held {
                path,
                pid: Some(pid),
                ..
            } => write!(f, "another engine holds {} (pid {pid})", path.display()),
            LockError::Held {
                path, pid: None, ..
            } => {
                write!(f, "another engine holds {}", path.display())
            }
            LockError::Io { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for LockError {}

impl EngineLock {
    /// Takes the lock of the state directory `dir` (created owner-only when missing),
    /// without waiting, and writes this process's PID and `role` into it.
    pub fn acquire(dir: &Path, role: Role) -> Result<EngineLock, LockError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |error| LockError::Io { path, error }
        };
        ensure_dir(dir).map_err(io_err(dir))?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&path)
            .map_err(io_err(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let pid = holder_pid(&path);
                let role = pid.and_then(|p| role_in_file(&path, p));
                return Err(LockError::Held { path, pid, role });
            }
            Err(TryLockError::Error(e)) => return Err(io_err(&path)(e)),
        }
        file.set_len(0).map_err(io_err(&path))?;
        writeln!(file, "{} {}", std::process::id(), role.as_str()).map_err(io_err(&path))?;
        file.sync_data().map_err(io_err(&path))?;
        let mut keys = vec![path.clone()];
        if let Ok(c) = path.canonicalize() {
            keys.push(c);
        }
        held().extend(keys.iter().cloned());
        Ok(EngineLock { file, path, keys })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for EngineLock {
    fn drop(&mut self) {
        // Empty the file first: a PID left behind would name a process that no longer
        // holds anything. (Closing the file releases the lock.)
        let _ = self.file.set_len(0);
        let mut h = held();
        for k in &self.keys {
            h.remove(k);
        }
    }
}

/// Who runs the engine of a state directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// This process holds the lock.
    ThisProcess,
    /// Another process does.
    Other {
        /// Its process id.
        pid: u32,
        /// What it is, when its lock file says (`None`: written by an older vmlife).
        role: Option<Role>,
    },
    /// Nobody: automatic actions are not running.
    Nobody,
}

impl fmt::Display for Owner {
    /// The dashboard's header text: `engine: daemon pid 812`, `engine: another
    /// dashboard pid 901`, `engine: this dashboard`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::ThisProcess => f.write_str("engine: this dashboard"),
            Owner::Other {
                pid,
                role: Some(Role::Daemon),
            } => write!(f, "engine: daemon pid {pid}"),
            Owner::Other {
                pid,
                role: Some(Role::Dashboard),
            } => write!(f, "engine: another dashboard pid {pid}"),
            Owner::Other { pid, role: None } => write!(f, "engine: process pid {pid}"),
            Owner::Nobody => f.write_str("engine: none (manual actions only)"),
        }
    }
}

/// Who holds the engine lock of `dir`, without taking it.
pub fn engine_owner(dir: &Path) -> Owner {
    let path = dir.join(LOCK_FILE);
    {
        let h = held();
        if h.contains(&path) || path.canonicalize().is_ok_and(|c| h.contains(&c)) {
            return Owner::ThisProcess;
        }
    }
    let Ok(meta) = std::fs::metadata(&path) else {
        return Owner::Nobody;
    };
    match std::fs::read_to_string("/proc/locks") {
        Ok(locks) => match flock_holder(&locks, meta.ino()) {
            Some(pid) if pid == std::process::id() => Owner::ThisProcess,
            Some(pid) => Owner::Other {
                pid,
                role: role_in_file(&path, pid),
            },
            None => Owner::Nobody,
        },
        // No /proc/locks: trust the PID in the file if that process lives.
        Err(_) => match pid_in_file(&path) {
            Some(pid) if super::procid::start_ticks(pid).is_some() => Owner::Other {
                pid,
                role: role_in_file(&path, pid),
            },
            _ => Owner::Nobody,
        },
    }
}

/// The holder's PID: from `/proc/locks`, else from the file.
fn holder_pid(path: &Path) -> Option<u32> {
    let from_locks = std::fs::metadata(path).ok().and_then(|m| {
        let locks = std::fs::read_to_string("/proc/locks").ok()?;
        flock_holder(&locks, m.ino())
    });
    from_locks.or_else(|| pid_in_file(path))
}

/// The lock file's `PID ROLE` line (an older vmlife wrote the PID alone).
fn read_lock_file(path: &Path) -> Option<(u32, Option<Role>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut words = text.split_whitespace();
    let pid = words.next()?.parse().ok()?;
    Some((pid, words.next().and_then(Role::parse)))
}

fn pid_in_file(path: &Path) -> Option<u32> {
    read_lock_file(path).map(|(pid, _)| pid)
}

/// The role the lock file gives, when it names `pid` (the holder) — not a stale line.
fn role_in_file(path: &Path, pid: u32) -> Option<Role> {
    read_lock_file(path).and_then(|(p, role)| role.filter(|_| p == pid))
}

/// The PID holding a `flock` write lock on inode `ino`, from `/proc/locks` text:
/// `1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF` (waiters have a `->` and are
/// skipped).
fn flock_holder(locks: &str, ino: u64) -> Option<u32> {
    locks.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.get(1) != Some(&"FLOCK") || f.get(3) != Some(&"WRITE") {
            return None;
        }
        let inode = f.get(5)?.rsplit(':').next()?.parse::<u64>().ok()?;
        (inode == ino).then(|| f.get(4)?.parse().ok()).flatten()
    })
}

#[cfg(test)]
#[path = "lock_tests.rs"]
mod tests;
