//! The hosts one dashboard shows (`-c` repeated, `--host`, `[[connections]]`): each
//! host's connection state, round trip, VMs and who runs its engine. Host 0 is the one
//! the dashboard opened before the screen (its engine, cleanup pane and host commands
//! live there); every host is polled on its own task, so a host that hangs or dies is
//! shown `STALE`/`DOWN` and never delays another.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::state::{ConnState, Counts};
use crate::poll::Vm;

/// A poll that has not answered for this long marks its host `STALE` (the refresh
/// plus this margin).
pub const STALE_AFTER_MS: i64 = 5_000;

/// One host as the dashboard knows it.
#[derive(Debug, Clone)]
pub struct HostPane {
    pub name: String,
    pub uri: String,
    /// Its connection is read-only (`--readonly`, or `readonly = true` in its entry).
    pub readonly: bool,
    /// Who runs its automatic actions, for the strip.
    pub engine: String,
    pub conn: ConnState,
    /// When its last good snapshot was taken.
    pub snapshot_at: Option<DateTime<Utc>>,
    /// How long its last poll took (ms): the round trip of the state call and the
    /// figures of the VMs in view.
    pub rtt_ms: Option<u64>,
    /// A poll asked at this moment has not answered for [`STALE_AFTER_MS`]: the host
    /// hangs (shown `STALE` with the age).
    pub waiting_since: Option<DateTime<Utc>>,
    /// Its memory: `mem 62% free`, or `MEMORY LOW 3% free` under the pressure
    /// threshold; `None` until read.
    pub memory: Option<(String, bool)>,
    /// Its VMs from its last good snapshot.
    pub vms: Arc<[Vm]>,
}

impl HostPane {
    pub fn new(name: impl Into<String>, uri: impl Into<String>) -> HostPane {
        HostPane {
            name: name.into(),
            uri: uri.into(),
            readonly: false,
            engine: String::new(),
            conn: ConnState::Connecting,
            snapshot_at: None,
            rtt_ms: None,
            waiting_since: None,
            memory: None,
            vms: Arc::from([]),
        }
    }

    /// Its health in one word: `live`, `STALE`, `DOWN` or `connecting`.
    pub fn health(&self) -> &'static str {
        match (&self.conn, self.waiting_since) {
            (ConnState::Connecting, None) => "connecting",
            (ConnState::Disconnected(_) | ConnState::Down(_), _) => "DOWN",
            (ConnState::Stale(_), _) | (_, Some(_)) => "STALE",
            (ConnState::Live, None) => "live",
        }
    }

    /// True unless the host answers as it should.
    pub fn unhealthy(&self) -> bool {
        !matches!(self.health(), "live" | "connecting")
    }

    /// Why it is not live, with the age (`no answer for 12s`), for the strip.
    pub fn problem(&self, now: DateTime<Utc>) -> Option<String> {
        // Five-second steps under a minute: the strip redraws every 5 s, not every second,
        // while a host is in trouble.
        let age = |at: DateTime<Utc>| {
            let secs = (now - at).num_seconds().max(0);
            let secs = if secs < 60 { secs / 5 * 5 } else { secs };
            crate::lifecycle::ttl::format_duration(secs)
        };
        if let Some(at) = self.waiting_since {
            return Some(format!("no answer for {}", age(at)));
        }
        let since = self
            .snapshot_at
            .map(|at| format!(" (last snapshot {} ago)", age(at)))
            .unwrap_or_default();
        // The strip names the host: its URI again would push the reason off the line.
        let short = |e: &str| {
            e.replace(&format!(" on {}", self.uri), "")
                .replace(&format!("{}: ", self.uri), "")
                .replace(&self.uri, &self.name)
        };
        match &self.conn {
            ConnState::Stale(e) => Some(format!("last poll failed: {}{since}", short(e))),
            ConnState::Disconnected(e) => Some(format!("{} — reconnecting{since}", short(e))),
            ConnState::Down(e) => Some(format!("{}{since}", short(e))),
            ConnState::Connecting | ConnState::Live => None,
        }
    }

    /// VM counts by state and mode.
    pub fn counts(&self) -> Counts {
        Counts::of(&self.vms)
    }
}

/// All hosts' VMs as one list, host after host (the table's rows index it).
pub fn merged(hosts: &[HostPane]) -> Arc<[Vm]> {
    if let [one] = hosts {
        return one.vms.clone();
    }
    hosts
        .iter()
        .flat_map(|h| h.vms.iter().cloned())
        .collect::<Vec<_>>()
        .into()
}

/// Put host `host`'s new VMs into `all` (the merged list) where its old ones were,
/// copying only that host's: true when it could (the list is not shared, and the host
/// has the same VMs in the same order as before); else the caller merges anew.
pub fn replace_in_place(all: &mut Arc<[Vm]>, hosts: &[HostPane], host: u16) -> bool {
    let h = usize::from(host);
    let (Some(pane), true) = (hosts.get(h), hosts.len() > 1) else {
        return false;
    };
    let total: usize = hosts.iter().map(|p| p.vms.len()).sum();
    let start: usize = hosts[..h].iter().map(|p| p.vms.len()).sum();
    let Some(all) = Arc::get_mut(all) else {
        return false;
    };
    if all.len() != total {
        return false;
    }
    let Some(segment) = all.get_mut(start..start + pane.vms.len()) else {
        return false;
    };
    if segment
        .iter()
        .zip(pane.vms.iter())
        .any(|(a, b)| a.key != b.key)
    {
        return false;
    }
    segment.clone_from_slice(&pane.vms);
    true
}

/// The host of a key made by [`key_of`] (0 for a plain UUID).
pub fn host_of_key(key: &str) -> u16 {
    key.rsplit_once('@')
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0)
}

/// The identity of a VM of host `host` (see [`Vm::key`]).
pub fn key_of(uuid: &str, host: u16) -> crate::model::Uuid {
    if host == 0 {
        uuid.into()
    } else {
        format!("{uuid}@{host}").into()
    }
}

#[cfg(test)]
#[path = "hosts_tests.rs"]
mod tests;
