//! The detail pane's limits line: the selected VM's limits and their drift
//! (`memory 1.2 GiB ok · cpu 2.00 CPU refused (not supported by this driver) · vda 90 %
//! drift`).
//!
//! The tunables are read for the selected VM only, off the UI task: `update` asks
//! ([`due`] → `Effect::ReadLimits`) when the detail pane shows a VM it has not asked
//! about, and again every [`READ_EVERY`]; the engine thread reads and reconciles it
//! ([`super::engine_link::EngineLink::read_limits`]) and answers with `Msg::Limits`. So a
//! refresh costs no libvirt call for the other VMs, and a VM that is not running costs
//! none at all. A reading older than [`STALE_AFTER`] is shown with its age.

use chrono::{DateTime, TimeDelta, Utc};

use super::layout;
use super::state::State;
use super::update::Effect;
use crate::lifecycle::limits::{show_kib, LimitKind, LimitRow, LimitStatus};
use crate::lifecycle::ttl::format_duration;
use crate::model::Uuid;

/// How often the selected VM's tunables are read again.
pub const READ_EVERY: TimeDelta = TimeDelta::seconds(30);
/// A reading this old is shown with its age (the engine thread has not answered).
pub const STALE_AFTER: TimeDelta = TimeDelta::seconds(60);

/// One VM's limits as last read.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitsView {
    pub vm_id: Uuid,
    pub rows: Vec<LimitRow>,
    /// When they were read.
    pub at: DateTime<Utc>,
    /// `[limits] disk_threshold_percent`, for the disks' figure.
    pub disk_percent: u8,
}

/// The pane's limits: the last reading and the last request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LimitsPane {
    pub view: Option<LimitsView>,
    /// The VM last asked about, and when.
    pub asked: Option<(Uuid, DateTime<Utc>)>,
}

/// The read to ask for now, if any: the detail pane shows a VM not asked about yet, or
/// asked about [`READ_EVERY`] ago. Records the request.
pub fn due(s: &mut State) -> Option<Effect> {
    if !(s.show_detail || layout::detail_beside(s.size)) {
        return None;
    }
    // The engine thread reads host 0's VMs only.
    let uuid = s.selected_vm().filter(|v| v.host == 0)?.uuid.clone();
    let now = s.now;
    let fresh = s
        .limits
        .asked
        .as_ref()
        .is_some_and(|(u, at)| *u == uuid && now - *at < READ_EVERY && now >= *at);
    if fresh {
        return None;
    }
    s.limits.asked = Some((uuid.clone(), now));
    Some(Effect::ReadLimits(uuid))
}

/// The detail pane's text for `uuid`: `None` before the first reading of it.
pub fn text(s: &State, uuid: &str) -> Option<String> {
    let Some(v) = s.limits.view.as_ref().filter(|v| v.vm_id == uuid) else {
        return s
            .limits
            .asked
            .as_ref()
            .filter(|(u, _)| u == uuid)
            .map(|_| "reading…".into());
    };
    let mut out = summary(v);
    let age = s.now - v.at;
    if age >= STALE_AFTER {
        out.push_str(&format!(
            " (read {} ago)",
            format_duration(age.num_seconds())
        ));
    }
    Some(out)
}

/// The rows in one line.
pub fn summary(v: &LimitsView) -> String {
    if let Some(first) = v.rows.first() {
        if v.rows.iter().all(|r| r.status == LimitStatus::Skipped) {
            return format!("skipped: {}", first.reason);
        }
    }
    let items: Vec<String> = v
        .rows
        .iter()
        .map(|r| {
            let what = match (r.limit, r.desired) {
                (LimitKind::Memory, Some(kib)) => format!("memory {}", show_kib(kib)),
                (LimitKind::Cpu, Some(q)) => {
                    let period = r.period_us.filter(|&p| p > 0).unwrap_or(100_000);
                    format!("cpu {:.2} CPU", q as f64 / period as f64)
                }
                (LimitKind::Disk, _) => match &r.target {
                    Some(t) => format!("{t} {} %", v.disk_percent),
                    None => "disks".into(),
                },
                (kind, None) => kind.to_string(),
            };
            let status = match r.status {
                LimitStatus::Refused => "refused (not supported by this driver)".to_string(),
                LimitStatus::Reached => "reached (disk nearly full)".to_string(),
                other => other.to_string(),
            };
            format!("{what} {status}")
        })
        .collect();
    items.join(" · ")
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
