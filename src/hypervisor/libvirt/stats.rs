//! Reading bulk-stats parameters into a [`RawDomain`] (safe; fed by [`super::ffi`]).
//!
//! Only the fields of the groups asked for are looked at; every other parameter is
//! skipped by its name before its value is used, so a state-only poll never decodes a
//! counter even when a driver sends more than it was asked for.

use super::codes;
use super::ffi::ParamValue;
use crate::hypervisor::{RawDomain, RunState, StatsGroups};

/// Which parameter groups one pass reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Wanted {
    pub state: bool,
    pub groups: StatsGroups,
}

/// Counters read from one record, before they are merged into a [`RawDomain`].
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Decoded {
    pub state: Option<i32>,
    pub reason: Option<i32>,
    pub cpu_time_ns: Option<u64>,
    pub vcpus: Option<u32>,
    pub balloon_current_kib: Option<u64>,
    pub balloon_max_kib: Option<u64>,
    pub balloon_rss_kib: Option<u64>,
    block_count: Option<u64>,
    block_alloc: Vec<(u64, u64)>,
    /// How many parameters were taken (for [`super::PollStats`]).
    pub taken: usize,
}

impl Decoded {
    /// Read the parameters of one record.
    pub(crate) fn read<'a>(
        wanted: Wanted,
        params: impl Iterator<Item = (&'a str, ParamValue)>,
    ) -> Self {
        let mut d = Decoded::default();
        for (field, value) in params {
            d.take(wanted, field, value);
        }
        d
    }

    fn take(&mut self, w: Wanted, field: &str, value: ParamValue) {
        let Some((group, rest)) = field.split_once('.') else {
            return;
        };
        let took = match group {
            "state" if w.state => match rest {
                "state" => set(&mut self.state, value.as_i32()),
                "reason" => set(&mut self.reason, value.as_i32()),
                _ => false,
            },
            "cpu" if w.groups.cpu && rest == "time" => set(&mut self.cpu_time_ns, value.as_u64()),
            "vcpu" if w.groups.vcpu && rest == "current" => set(
                &mut self.vcpus,
                value.as_u64().and_then(|v| u32::try_from(v).ok()),
            ),
            "balloon" if w.groups.balloon => match rest {
                "current" => set(&mut self.balloon_current_kib, value.as_u64()),
                "maximum" => set(&mut self.balloon_max_kib, value.as_u64()),
                "rss" => set(&mut self.balloon_rss_kib, value.as_u64()),
                _ => false,
            },
            "block" if w.groups.block => {
                if rest == "count" {
                    set(&mut self.block_count, value.as_u64())
                } else {
                    match rest.split_once('.') {
                        Some((idx, "allocation")) => match (idx.parse::<u64>(), value.as_u64()) {
                            (Ok(i), Some(v)) => {
                                self.block_alloc.push((i, v));
                                true
                            }
                            _ => false,
                        },
                        _ => false,
                    }
                }
            }
            _ => false,
        };
        if took {
            self.taken += 1;
        }
    }

    /// Sum of `block.N.allocation` for `N < block.count` (all of them when the count is
    /// missing); `None` when the block group said nothing.
    pub(crate) fn block_allocation_bytes(&self) -> Option<u64> {
        if self.block_count.is_none() && self.block_alloc.is_empty() {
            return None;
        }
        let limit = self.block_count.unwrap_or(u64::MAX);
        Some(
            self.block_alloc
                .iter()
                .filter(|(i, _)| *i < limit)
                .fold(0u64, |sum, (_, v)| sum.saturating_add(*v)),
        )
    }

    /// Put the state fields into `raw`.
    pub(crate) fn apply_state(&self, raw: &mut RawDomain) {
        raw.state = self.state.map(codes::run_state);
        raw.reason = codes::state_reason(raw.state, self.reason.unwrap_or(0));
    }

    /// Put the counters into `raw`, unless `raw`'s state says it is not running: then
    /// they are stale or meaningless (libvirt 9.0 reports libvirtd's own CPU time for
    /// shut-off domains).
    pub(crate) fn apply_counters(&self, raw: &mut RawDomain) {
        if !raw.state.is_some_and(RunState::is_active) {
            return;
        }
        raw.cpu_time_ns = self.cpu_time_ns;
        raw.vcpus = self.vcpus;
        raw.balloon_current_kib = self.balloon_current_kib;
        raw.balloon_max_kib = self.balloon_max_kib;
        raw.rss_kib = self.balloon_rss_kib;
        raw.block_allocation_bytes = self.block_allocation_bytes();
    }
}

/// A raw UUID in libvirt's canonical text form (lower-case hex, dashes 8-4-4-4-12).
pub(crate) fn format_uuid(u: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}

fn set<T>(slot: &mut Option<T>, v: Option<T>) -> bool {
    match v {
        Some(v) => {
            *slot = Some(v);
            true
        }
        None => false,
    }
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
