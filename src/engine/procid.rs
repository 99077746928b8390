//! Who is running a cleanup: a process, told apart from a later one that reuses its PID,
//! and an instance inside it (a dashboard and a CLI command may share nothing, but two
//! engine cores in one test process must not mistake each other's work for their own).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

/// A process and an instance inside it that claimed work in the state store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerId {
    /// The process id.
    pub pid: u32,
    /// The process's start time in clock ticks after boot (`/proc/PID/stat` field 22);
    /// 0 when unknown. A later process with the same PID has another start time.
    pub start_ticks: u64,
    /// Which [`Claimant`] in that process.
    pub instance: u64,
}

/// Instances alive in this process.
static LIVE: Mutex<BTreeSet<u64>> = Mutex::new(BTreeSet::new());
static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

fn live() -> MutexGuard<'static, BTreeSet<u64>> {
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A live identity to claim work with; its claims count as abandoned once it is
/// dropped (or its process dies).
#[derive(Debug)]
pub struct Claimant {
    id: OwnerId,
}

impl Claimant {
    /// A new identity in this process.
    pub fn new() -> Claimant {
        let pid = std::process::id();
        let instance = NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed);
        live().insert(instance);
        Claimant {
            id: OwnerId {
                pid,
                start_ticks: start_ticks(pid).unwrap_or(0),
                instance,
            },
        }
    }

    /// The identity written into claims.
    pub fn id(&self) -> &OwnerId {
        &self.id
    }
}

impl Default for Claimant {
    fn default() -> Self {
        Claimant::new()
    }
}

impl Drop for Claimant {
    fn drop(&mut self) {
        live().remove(&self.id.instance);
    }
}

/// True while the owner can still be working: its process runs (and is the same
/// process, by start time) and, in this process, the instance is alive.
pub fn is_alive(owner: &OwnerId) -> bool {
    let me = std::process::id();
    if owner.pid == me {
        let same_process =
            owner.start_ticks == 0 || start_ticks(me).is_none_or(|t| t == owner.start_ticks);
        return same_process && live().contains(&owner.instance);
    }
    match start_ticks(owner.pid) {
        Some(t) => owner.start_ticks == 0 || t == owner.start_ticks,
        None => false,
    }
}

/// The start time of a running (not zombie) process, from `/proc/PID/stat`.
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

/// Field 22 (`starttime`) of a `/proc/PID/stat` line; `None` for a zombie or a dead
/// process. The command name (field 2) may hold spaces and parentheses, so fields are
/// counted from its last `)`.
fn parse_stat(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state).
    if matches!(fields.first().copied(), Some("Z" | "X" | "x")) {
        return None;
    }
    fields.get(19)?.parse().ok()
}

#[cfg(test)]
#[path = "procid_tests.rs"]
mod tests;
