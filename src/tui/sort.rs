//! The table's order and filter: the sortable columns, how two VMs compare, and which
//! VMs a filter keeps.

use crate::lifecycle::ttl::TtlStatus;
use crate::poll::Vm;

/// Sortable table columns, in `s` cycling order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    State,
    Mode,
    Ttl,
    Restarts,
    Cpu,
    Memory,
    Disk,
    Uptime,
    /// Host, then name (offered when the dashboard shows several hosts).
    Host,
}

impl SortKey {
    pub const ALL: [SortKey; 10] = [
        SortKey::Name,
        SortKey::State,
        SortKey::Mode,
        SortKey::Ttl,
        SortKey::Restarts,
        SortKey::Cpu,
        SortKey::Memory,
        SortKey::Disk,
        SortKey::Uptime,
        SortKey::Host,
    ];

    /// The next column in cycling order (`Host` only when `hosts` > 1).
    pub fn next(self, hosts: usize) -> SortKey {
        let i = SortKey::ALL.iter().position(|k| *k == self).unwrap_or(0);
        let next = SortKey::ALL[(i + 1) % SortKey::ALL.len()];
        if next == SortKey::Host && hosts < 2 {
            return next.next(hosts);
        }
        next
    }

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::State => "state",
            SortKey::Mode => "mode",
            SortKey::Ttl => "ttl",
            SortKey::Restarts => "restarts",
            SortKey::Cpu => "cpu",
            SortKey::Memory => "mem",
            SortKey::Disk => "disk",
            SortKey::Uptime => "uptime",
            SortKey::Host => "host",
        }
    }
}

/// True when every filter term is part of the VM's name or starts its state, stop
/// reason, mode, one of its addresses or its UUID (`temp` finds temporary VMs while it
/// is being typed); `host:NAME` keeps the VMs of the hosts whose name starts with NAME.
pub(super) fn matches(v: &Vm, terms: &[String], hosts: &[super::hosts::HostPane]) -> bool {
    terms.iter().all(|t| {
        if let Some(h) = t.strip_prefix("host:") {
            return hosts
                .get(usize::from(v.host))
                .is_some_and(|host| host.name.to_lowercase().starts_with(h));
        }
        v.snapshot.vm_name.to_lowercase().contains(t.as_str())
            || v.snapshot.vm_state.as_str().starts_with(t.as_str())
            || v.stop_reason().is_some_and(|r| r.starts_with(t.as_str()))
            // An address or a UUID, from its start (`192.168.122.` finds a subnet).
            || v.snapshot.ip_addresses.iter().any(|ip| ip.starts_with(t.as_str()))
            || v.uuid.to_lowercase().starts_with(t.as_str())
            || v.persistence()
                .map_or("invalid", |p| p.mode.as_str())
                .starts_with(t.as_str())
    })
}

pub(super) fn compare(a: &Vm, b: &Vm, key: SortKey, now: i64) -> std::cmp::Ordering {
    let fkey = |x: Option<f64>| x.unwrap_or(-1.0);
    match key {
        SortKey::Name => a.snapshot.vm_name.cmp(&b.snapshot.vm_name),
        SortKey::State => a
            .snapshot
            .vm_state
            .as_str()
            .cmp(b.snapshot.vm_state.as_str()),
        SortKey::Mode => mode_key(a).cmp(mode_key(b)),
        // Soonest expiry first; permanent VMs last.
        SortKey::Ttl => ttl_key(a, now).cmp(&ttl_key(b, now)),
        SortKey::Restarts => b.snapshot.restart_count.cmp(&a.snapshot.restart_count),
        SortKey::Cpu => {
            fkey(b.snapshot.cpu_usage_percent).total_cmp(&fkey(a.snapshot.cpu_usage_percent))
        }
        SortKey::Memory => b.snapshot.memory_usage_mb.cmp(&a.snapshot.memory_usage_mb),
        SortKey::Disk => fkey(b.snapshot.disk_usage_gb).total_cmp(&fkey(a.snapshot.disk_usage_gb)),
        SortKey::Uptime => b.snapshot.uptime_seconds.cmp(&a.snapshot.uptime_seconds),
        SortKey::Host => a.host.cmp(&b.host),
    }
}

fn mode_key(v: &Vm) -> &'static str {
    v.persistence().map_or("invalid", |p| p.mode.as_str())
}

fn ttl_key(v: &Vm, now: i64) -> i64 {
    v.ttl(now)
        .and_then(TtlStatus::remaining_seconds)
        .unwrap_or(i64::MAX)
}
