//! [`reconcile`]: one VM's limits, desired against actual, and the steps.

use super::{
    show_bytes, show_kib, CpuQuota, DiskTunable, LimitKind, LimitReport, LimitRow, LimitSettings,
    LimitStatus, LimitValue, Reading, RefusalMemo, SetLimit, VmLimitFacts,
};

/// The largest CFS quota libvirt takes (µs); at or above it a quota is unlimited.
pub const QUOTA_MAX_US: i64 = 17_592_186_044_415;

/// The prefix of every refusal reason.
pub const REFUSED: &str = "not supported by this driver";

/// One VM's limits: a row per limit (per disk for `disk`) and the steps that bring the
/// drifting, enforced ones to their desired value. `memo` holds the refusals already
/// met for this VM's current definition: those limits plan no step.
pub fn reconcile(vm: &VmLimitFacts, s: &LimitSettings, memo: &RefusalMemo) -> LimitReport {
    let mut report = LimitReport::default();
    if let Some(why) = vm_skip(vm) {
        for limit in [LimitKind::Memory, LimitKind::Cpu, LimitKind::Disk] {
            report
                .rows
                .push(row(vm, limit, None, LimitStatus::Skipped, why.clone()));
        }
        return report;
    }
    let refused = |kind: LimitKind| memo.get(&vm.uuid, kind, &vm.declared);
    let mut rows = vec![memory(vm, s, refused(LimitKind::Memory))];
    rows.push(cpu(vm, s, refused(LimitKind::Cpu)));
    rows.extend(disks(vm, s, refused(LimitKind::Disk)));
    for r in &rows {
        if let Some(step) = step_of(r) {
            report.steps.push(step);
        }
    }
    report.rows = rows;
    report
}

/// Why the whole VM is left alone, if it is.
fn vm_skip(vm: &VmLimitFacts) -> Option<String> {
    if !vm.managed {
        return Some(crate::lifecycle::restart::UNMANAGED.into());
    }
    if !vm.policy_valid {
        return Some("invalid policy: never acted on automatically".into());
    }
    if vm.vfio {
        return Some("has a VFIO host device: libvirt manages its limits".into());
    }
    if !vm.running {
        return Some("not running".into());
    }
    None
}

fn row(
    vm: &VmLimitFacts,
    limit: LimitKind,
    target: Option<String>,
    status: LimitStatus,
    reason: String,
) -> LimitRow {
    let enforced = match limit {
        LimitKind::Memory => vm.policy.enforce_memory_limit,
        LimitKind::Cpu => vm.policy.enforce_cpu_limit,
        LimitKind::Disk => vm.policy.enforce_disk_limit,
    };
    LimitRow {
        vm_id: vm.uuid.clone(),
        vm_name: vm.name.clone(),
        limit,
        target,
        enforced,
        desired: None,
        actual: None,
        period_us: None,
        status,
        reason,
    }
}

/// The status of a read value against the desired one, before enforcement and memo.
fn compare(actual: Option<u64>, desired: u64) -> LimitStatus {
    match actual {
        None => LimitStatus::Drift,
        Some(a) if a == desired => LimitStatus::Ok,
        Some(a) if a > desired => LimitStatus::Kept,
        Some(_) => LimitStatus::Drift,
    }
}

/// The final status and reason: a remembered refusal wins, then a policy that does not
/// enforce the limit.
fn settle(r: &mut LimitRow, status: LimitStatus, reason: String, memo: Option<&str>) {
    r.status = status;
    r.reason = reason;
    if let Some(msg) = memo {
        r.status = LimitStatus::Refused;
        r.reason = format!("{REFUSED}: {msg} (not retried until the definition changes)");
    } else if !r.enforced && !matches!(status, LimitStatus::Refused | LimitStatus::Unknown) {
        r.status = LimitStatus::Off;
        r.reason = format!(
            "{}; {} = false: report only",
            r.reason,
            r.limit.policy_field()
        );
    }
}

fn memory(vm: &VmLimitFacts, s: &LimitSettings, memo: Option<&str>) -> LimitRow {
    let mut r = row(
        vm,
        LimitKind::Memory,
        None,
        LimitStatus::Unknown,
        String::new(),
    );
    let Some(mem) = vm.declared.memory_kib else {
        r.status = LimitStatus::Skipped;
        r.reason = "declared <memory> unknown".into();
        return r;
    };
    let desired = mem.saturating_add(s.memory_overhead_kib);
    r.desired = Some(desired);
    let want = format!(
        "want {} (<memory> {} + {} overhead)",
        show_kib(desired),
        show_kib(mem),
        show_kib(s.memory_overhead_kib)
    );
    let (status, reason) = match &vm.actual.memory_hard_limit_kib {
        Reading::Unknown => (LimitStatus::Unknown, format!("hard limit not read; {want}")),
        Reading::Refused(msg) => (LimitStatus::Refused, format!("{REFUSED}: {msg}")),
        Reading::Read(actual) => {
            r.actual = *actual;
            let status = compare(*actual, desired);
            let now = actual.map_or_else(|| "unlimited".to_string(), show_kib);
            (status, describe(status, "hard limit", &now, &want))
        }
    };
    settle(&mut r, status, reason, memo);
    r
}

/// `hard limit unlimited; want …`, `hard limit 2 GiB, above the need (set by hand): kept`.
fn describe(status: LimitStatus, what: &str, now: &str, want: &str) -> String {
    match status {
        LimitStatus::Ok => format!("{what} {now}: as declared"),
        LimitStatus::Kept => {
            format!("{what} {now}, at or above the need (set by hand): kept; {want}")
        }
        _ => format!("{what} {now}; {want}"),
    }
}

fn cpu(vm: &VmLimitFacts, s: &LimitSettings, memo: Option<&str>) -> LimitRow {
    let mut r = row(
        vm,
        LimitKind::Cpu,
        None,
        LimitStatus::Unknown,
        String::new(),
    );
    let vcpus = match vm.declared.vcpus {
        Some(n) if n > 0 => n,
        _ => {
            r.status = LimitStatus::Skipped;
            r.reason = "declared vCPU count unknown".into();
            return r;
        }
    };
    let period = s.cpu_period_us.max(1);
    let desired = u64::from(vcpus).saturating_mul(period);
    r.desired = Some(desired);
    r.period_us = Some(period);
    let want = format!("want {desired}/{period} µs ({vcpus} vCPU)");
    let (status, reason) = match &vm.actual.cpu {
        Reading::Unknown => (LimitStatus::Unknown, format!("quota not read; {want}")),
        Reading::Refused(msg) => (LimitStatus::Refused, format!("{REFUSED}: {msg}")),
        Reading::Read(q) => {
            let actual = normalised_quota(q, period);
            r.actual = actual;
            let status = compare(actual, desired);
            let now = match (q.quota_us, actual) {
                (Some(quota), Some(_)) => {
                    format!("quota {quota}/{} µs", q.period_us.unwrap_or(period))
                }
                _ => "quota unlimited".into(),
            };
            (status, describe(status, "cpu", &now, &want))
        }
    };
    settle(&mut r, status, reason, memo);
    r
}

/// The read quota per `period` µs; `None` when unlimited (unset, ≤ 0, at the maximum).
fn normalised_quota(q: &CpuQuota, period: u64) -> Option<u64> {
    let quota = q.quota_us.filter(|&v| v > 0 && v < QUOTA_MAX_US)?;
    let quota = u64::try_from(quota).ok()?;
    let actual_period = q.period_us.filter(|&p| p > 0).unwrap_or(period);
    let scaled = u128::from(quota) * u128::from(period) / u128::from(actual_period);
    Some(u64::try_from(scaled).unwrap_or(u64::MAX))
}

fn disks(vm: &VmLimitFacts, s: &LimitSettings, memo: Option<&str>) -> Vec<LimitRow> {
    match &vm.actual.disks {
        Reading::Unknown => {
            let mut r = row(
                vm,
                LimitKind::Disk,
                None,
                LimitStatus::Unknown,
                String::new(),
            );
            settle(&mut r, LimitStatus::Unknown, "disks not read".into(), memo);
            vec![r]
        }
        Reading::Refused(msg) => {
            let mut r = row(
                vm,
                LimitKind::Disk,
                None,
                LimitStatus::Refused,
                String::new(),
            );
            settle(
                &mut r,
                LimitStatus::Refused,
                format!("{REFUSED}: {msg}"),
                memo,
            );
            vec![r]
        }
        Reading::Read(list) => list.iter().map(|d| disk(vm, s, d, memo)).collect(),
    }
}

fn disk(vm: &VmLimitFacts, s: &LimitSettings, d: &DiskTunable, memo: Option<&str>) -> LimitRow {
    let target = Some(d.target.clone());
    let mut r = row(
        vm,
        LimitKind::Disk,
        target,
        LimitStatus::Unknown,
        String::new(),
    );
    let capacity = match d.capacity_bytes {
        Some(c) if c > 0 => c,
        _ => {
            r.status = LimitStatus::Skipped;
            r.reason = "capacity unknown".into();
            return r;
        }
    };
    let pct = u128::from(s.disk_threshold_percent.clamp(1, 100));
    let desired = u64::try_from(u128::from(capacity) * pct / 100).unwrap_or(u64::MAX);
    r.desired = Some(desired);
    let actual = d.threshold_bytes.filter(|&t| t > 0);
    r.actual = actual;
    let want = format!(
        "want {} ({pct} % of {})",
        show_bytes(desired),
        show_bytes(capacity)
    );
    let (status, reason) = if vm.threshold_fired.contains(&d.target) {
        (
            LimitStatus::Reached,
            format!(
                "threshold reached (disk-full warning); not re-armed until the definition changes; {want}"
            ),
        )
    } else {
        let status = match actual {
            None => LimitStatus::Drift,
            Some(a) if a == desired => LimitStatus::Ok,
            // Any other armed threshold is a person's choice.
            Some(_) => LimitStatus::Kept,
        };
        let now = actual.map_or_else(
            || "no threshold".to_string(),
            |a| format!("threshold {}", show_bytes(a)),
        );
        let reason = match status {
            LimitStatus::Ok => format!("{now}: as declared"),
            LimitStatus::Kept => format!("{now} (set by hand): kept; {want}"),
            _ => format!("{now}; {want}"),
        };
        (status, reason)
    };
    settle(&mut r, status, reason, memo);
    r
}

/// The step of a drifting, enforced row.
fn step_of(r: &LimitRow) -> Option<SetLimit> {
    if r.status != LimitStatus::Drift || !r.enforced {
        return None;
    }
    let desired = r.desired?;
    let value = match r.limit {
        LimitKind::Memory => LimitValue::Memory {
            hard_limit_kib: desired,
        },
        LimitKind::Cpu => LimitValue::Cpu {
            period_us: r.period_us?,
            quota_us: desired,
        },
        LimitKind::Disk => LimitValue::Disk {
            target: r.target.clone()?,
            threshold_bytes: desired,
        },
    };
    Some(SetLimit {
        vm_id: r.vm_id.clone(),
        vm_name: r.vm_name.clone(),
        value,
        old: r.actual,
        reason: r.reason.clone(),
    })
}

#[cfg(test)]
#[path = "reconcile_tests.rs"]
mod tests;
