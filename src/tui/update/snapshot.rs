//! A host's poll answers: a full snapshot of its VMs, or a light poll's VMs in view.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};

use super::super::state::{ConnState, State, CPU_HISTORY};
use crate::model::Uuid;
use crate::poll::Vm;

/// Mark `vms` as host `host`'s (their [`Vm::key`] says the host).
fn tag(vms: &mut [Vm], host: u16) {
    for v in vms {
        v.host = host;
        if host != 0 && v.key == v.uuid {
            v.key = super::super::hosts::key_of(&v.uuid, host);
        }
    }
}

/// Add the CPU figures of `vms` to their histories (the sparkline).
fn record_cpu(history: &mut HashMap<Uuid, VecDeque<u64>>, vms: &[Vm]) {
    for v in vms {
        if let Some(cpu) = v.snapshot.cpu_usage_percent {
            let h = history.entry(v.key.clone()).or_default();
            h.push_back(cpu.round() as u64);
            while h.len() > CPU_HISTORY {
                h.pop_front();
            }
        }
    }
}

/// A full poll of `host`: every VM of it, in the poll's order.
pub(super) fn on_snapshot(
    s: &mut State,
    host: u16,
    mut vms: Vec<Vm>,
    at: DateTime<Utc>,
    rtt_ms: Option<u64>,
) {
    let Some(pane) = s.hosts.get(usize::from(host)) else {
        return;
    };
    tag(&mut vms, host);
    let unchanged = pane.conn == ConnState::Live
        && pane.waiting_since.is_none()
        && pane.vms.len() == vms.len()
        && pane.vms.iter().zip(&vms).all(|(a, b)| a.same_content(b));
    record_cpu(&mut s.cpu_history, &vms);
    let keys: std::collections::HashSet<&str> = vms.iter().map(|v| v.key.as_str()).collect();
    // Drop the history of this host's VMs that are gone; other hosts keep theirs.
    let gone: Vec<crate::model::Uuid> = pane
        .vms
        .iter()
        .filter(|v| !keys.contains(v.key.as_str()))
        .map(|v| v.key.clone())
        .collect();
    for k in gone {
        s.cpu_history.remove(&k);
    }
    let pane = &mut s.hosts[usize::from(host)];
    pane.conn = ConnState::Live;
    pane.snapshot_at = Some(at);
    pane.waiting_since = None;
    // A snapshot of XML read between polls says nothing of the round trip.
    if rtt_ms.is_some() {
        pane.rtt_ms = rtt_ms;
    }
    s.snapshot_unchanged = unchanged;
    // Nothing new to merge: same content and the same moments its figures go stale
    // (those move for the VMs in view, whose figures were asked again). Host 0's VMs
    // are the engine's snapshot, so they are always taken.
    let identical = unchanged
        && s.hosts[usize::from(host)]
            .vms
            .iter()
            .zip(&vms)
            .all(|(a, b)| a.freshness == b.freshness);
    if identical && host != 0 {
        return;
    }
    let old = &s.hosts[usize::from(host)].vms;
    let keeps_order = old.len() == vms.len() && s.keeps_order(old.iter().zip(&vms));
    let pane = &mut s.hosts[usize::from(host)];
    pane.vms = vms.into();
    if super::super::hosts::replace_in_place(&mut s.vms, &s.hosts, host) {
        // Same VMs in the same places: only the order may have moved (a figure sorted
        // or filtered on).
        if !keeps_order {
            s.refresh_rows();
        }
        return;
    }
    let merged = super::super::hosts::merged(&s.hosts);
    s.set_vms(merged);
}

/// A light poll of `host`: the host answers, and `vms` (some of its VMs, those in view)
/// replace their old selves where they are; its other VMs stay as its last full poll
/// left them.
pub(super) fn on_rows(
    s: &mut State,
    host: u16,
    mut vms: Vec<Vm>,
    at: DateTime<Utc>,
    rtt_ms: Option<u64>,
) {
    let h = usize::from(host);
    let Some(pane) = s.hosts.get_mut(h) else {
        return;
    };
    let was_live = pane.conn == ConnState::Live && pane.waiting_since.is_none();
    pane.conn = ConnState::Live;
    pane.waiting_since = None;
    pane.snapshot_at = Some(at);
    pane.rtt_ms = rtt_ms;
    tag(&mut vms, host);
    record_cpu(&mut s.cpu_history, &vms);
    let pane = &mut s.hosts[h];
    let mut fresh: HashMap<&str, &Vm> = vms.iter().map(|v| (v.key.as_str(), v)).collect();
    // (place in the host's list, new VM), only where something moved.
    let mut moved: Vec<(usize, &Vm)> = Vec::new();
    for (i, old) in pane.vms.iter().enumerate() {
        if let Some(new) = fresh.remove(old.key.as_str()) {
            if !old.same_content(new) || old.freshness != new.freshness {
                moved.push((i, new));
            }
        }
    }
    let content = moved.iter().any(|(i, new)| !pane.vms[*i].same_content(new));
    s.snapshot_unchanged = was_live && !content;
    if moved.is_empty() {
        return;
    }
    let keeps_order = s.keeps_order(moved.iter().map(|(i, new)| (&s.hosts[h].vms[*i], *new)));
    let pane = &mut s.hosts[h];
    match std::sync::Arc::get_mut(&mut pane.vms) {
        Some(list) => {
            for (i, new) in &moved {
                list[*i] = (*new).clone();
            }
        }
        None => {
            let mut list = pane.vms.to_vec();
            for (i, new) in &moved {
                list[*i] = (*new).clone();
            }
            pane.vms = list.into();
        }
    }
    let start: usize = s.hosts[..h].iter().map(|p| p.vms.len()).sum();
    let total: usize = s.hosts.iter().map(|p| p.vms.len()).sum();
    let in_place = s.vms.len() == total
        && std::sync::Arc::get_mut(&mut s.vms).is_some_and(|all| {
            moved.iter().all(|(i, new)| match all.get_mut(start + i) {
                Some(slot) if slot.key == new.key => {
                    *slot = (*new).clone();
                    true
                }
                _ => false,
            })
        });
    if !in_place {
        let merged = super::super::hosts::merged(&s.hosts);
        s.set_vms(merged);
    } else if !keeps_order {
        // A figure sorted or filtered on moved.
        s.refresh_rows();
    }
}
