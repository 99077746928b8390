//! The stats of chosen domains only (`virDomainListGetStats`): what the dashboard asks
//! for the VMs in view, so no other guest's QEMU monitor is woken.
//!
//! Domain references are kept between calls (a look-up by UUID is a round trip on a
//! remote URI): per connection generation, dropped for a domain the call did not
//! return (gone), and all at a reconnect.

use std::collections::HashMap;

use virt::sys;

use super::bulk::stats_mask;
use super::errors::is_unsupported_flag;
use super::ffi::{DomainHandle, StatsList};
use super::stats::{format_uuid, Decoded, Wanted};
use super::LibvirtHypervisor;
use crate::hypervisor::{HvError, HvResult, RawDomain, StatsGroups};
use crate::model::Uuid;

/// What the last [`Hypervisor::stats_of`](crate::hypervisor::Hypervisor::stats_of)
/// cost, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListedStats {
    /// `virDomainListGetStats` calls (0 for an empty list).
    pub calls: u32,
    /// Domains passed to the call: the only ones asked for the groups.
    pub domains: usize,
    /// Records it returned.
    pub records: usize,
    /// `virDomainLookupByUUIDString` calls: domains with no kept reference.
    pub lookups: usize,
}

/// Domain references by UUID, for one connection generation.
#[derive(Default)]
pub(super) struct Handles {
    generation: u64,
    by_uuid: HashMap<Uuid, DomainHandle>,
}

impl Handles {
    /// Drop every kept reference (after a define or undefine by vmlife).
    pub(super) fn clear(&mut self) {
        self.by_uuid.clear();
    }
}

impl LibvirtHypervisor {
    /// One [`Hypervisor::stats_of`](crate::hypervisor::Hypervisor::stats_of).
    pub(super) fn stats_listed(
        &self,
        uuids: &[Uuid],
        groups: StatsGroups,
    ) -> HvResult<Vec<RawDomain>> {
        let mut cost = ListedStats::default();
        let result = self.stats_listed_with(uuids, groups, &mut cost);
        *self.last_listed.lock().unwrap_or_else(|e| e.into_inner()) = cost;
        result
    }

    fn stats_listed_with(
        &self,
        uuids: &[Uuid],
        groups: StatsGroups,
        cost: &mut ListedStats,
    ) -> HvResult<Vec<RawDomain>> {
        if uuids.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self
            .conn()
            .map_err(|e| HvError::new(e.kind, format!("stats on {}: {}", self.uri, e.message)))?;
        let mut handles = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        if handles.generation != conn.generation() {
            handles.by_uuid.clear();
            handles.generation = conn.generation();
        }
        for u in uuids {
            if handles.by_uuid.contains_key(u) {
                continue;
            }
            // A domain that is gone is simply not asked (the state poll drops it).
            if let Ok(d) = conn.lookup_domain_by_uuid_string(u) {
                cost.lookups += 1;
                handles.by_uuid.insert(u.clone(), DomainHandle::new(d));
            }
        }
        let doms: Vec<&virt::domain::Domain> = uuids
            .iter()
            .filter_map(|u| handles.by_uuid.get(u).map(|h| &**h))
            .collect();
        cost.domains = doms.len();
        let mask = sys::VIR_DOMAIN_STATS_STATE | stats_mask(groups);
        let nowait = sys::VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT;
        let list = match StatsList::fetch_listed(&doms, mask, nowait) {
            Err(e) if is_unsupported_flag(&e) => StatsList::fetch_listed(&doms, mask, 0),
            other => other,
        }
        .map_err(|e| self.conn_error("stats", &e))?;
        if !doms.is_empty() {
            cost.calls += 1;
        }
        cost.records = list.len();
        let wanted = Wanted {
            state: true,
            groups,
        };
        let mut out = Vec::with_capacity(list.len());
        for rec in list.records() {
            let Some(uuid) = rec.uuid() else { continue };
            let d = Decoded::read(wanted, rec.params());
            let mut raw = RawDomain {
                uuid: format_uuid(&uuid).into(),
                name: rec
                    .name_bytes()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
                persistent: true,
                ..RawDomain::default()
            };
            d.apply_state(&mut raw);
            d.apply_counters(&mut raw);
            out.push(raw);
        }
        drop(list);
        // A domain asked for and not returned is gone (or was replaced): look it up
        // afresh next time.
        if out.len() < doms.len() {
            let got: std::collections::HashSet<&str> =
                out.iter().map(|r| r.uuid.as_str()).collect();
            handles
                .by_uuid
                .retain(|u, _| got.contains(u.as_str()) || !uuids.contains(u));
        }
        // Keep the references of the domains asked for lately, not of every domain ever
        // in view.
        if handles.by_uuid.len() > 4 * uuids.len().max(64) {
            handles.by_uuid.retain(|u, _| uuids.contains(u));
        }
        Ok(out)
    }

    /// What the last [`Hypervisor::stats_of`](crate::hypervisor::Hypervisor::stats_of)
    /// cost.
    pub fn last_listed_stats(&self) -> ListedStats {
        *self.last_listed.lock().unwrap_or_else(|e| e.into_inner())
    }
}
