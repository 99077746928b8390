//! The stats of chosen domains only (`virDomainListGetStats`): what the dashboard asks
//! for the VMs in view, so no other guest's QEMU monitor is woken.
//!
//! The domains are looked up through the adapter's kept handles (`handles.rs`); one the
//! call does not return (gone) is dropped from them.

use std::sync::Arc;

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
        let mut kept: Vec<Arc<DomainHandle>> = Vec::with_capacity(uuids.len());
        {
            let mut handles = self.lock_handles();
            for u in uuids {
                if let Some(h) = handles.get(&conn, u.as_str()) {
                    kept.push(h);
                    continue;
                }
                // A domain that is gone is simply not asked (the state poll drops it).
                if let Ok(d) = conn.lookup_domain_by_uuid_string(u.as_str()) {
                    cost.lookups += 1;
                    let h = Arc::new(DomainHandle::new(d));
                    handles.put(&conn, u.as_str(), Arc::clone(&h));
                    kept.push(h);
                }
            }
        }
        let doms: Vec<&virt::domain::Domain> = kept.iter().map(|h| &***h).collect();
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
            let asked: std::collections::HashSet<&str> = uuids.iter().map(|u| u.as_str()).collect();
            self.lock_handles()
                .retain(|u| got.contains(u) || !asked.contains(u));
        }
        Ok(out)
    }

    /// What the last [`Hypervisor::stats_of`](crate::hypervisor::Hypervisor::stats_of)
    /// cost.
    pub fn last_listed_stats(&self) -> ListedStats {
        *self.last_listed.lock().unwrap_or_else(|e| e.into_inner())
    }
}
