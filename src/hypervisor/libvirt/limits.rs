//! The limits' tunables on libvirt: memtune, the whole-VM CFS quota, block thresholds.
//! Getters go through [`super::ffi`] (decoded without panics); setters use virt's safe
//! API. Every call is live (`VIR_DOMAIN_AFFECT_LIVE` or current, for a running domain).

use std::collections::BTreeMap;

use virt::domain::{MemoryParameters, SchedBandwidth, SchedulerInfo};
use virt::sys;

use super::ffi::{self, Param};
use super::LibvirtHypervisor;
use crate::hypervisor::{CpuQuota, DiskTunable, HvError, HvErrorKind, HvResult};

fn field<'a>(params: &'a [Param], name: &str) -> Option<&'a Param> {
    params.iter().find(|p| p.field == name)
}

/// `hard_limit` of the memory parameters: KiB, `None` when unlimited.
pub(crate) fn hard_limit_of(params: &[Param]) -> Result<Option<u64>, String> {
    let p = field(params, "hard_limit").ok_or("the driver reports no memory hard_limit")?;
    let kib = p.value.as_u64().ok_or("hard_limit is not a number")?;
    Ok((kib < sys::VIR_DOMAIN_MEMORY_PARAM_UNLIMITED).then_some(kib))
}

/// `global_period` / `global_quota` of the scheduler parameters.
pub(crate) fn cpu_quota_of(params: &[Param]) -> Result<CpuQuota, String> {
    let period = field(params, "global_period");
    let quota = field(params, "global_quota");
    if period.is_none() && quota.is_none() {
        return Err("the scheduler has no whole-VM quota (global_period/global_quota)".into());
    }
    let quota_us = quota.and_then(|q| match q.value {
        ffi::ParamValue::LLong(v) => Some(v),
        v => v.as_u64().and_then(|v| i64::try_from(v).ok()),
    });
    Ok(CpuQuota {
        period_us: period.and_then(|p| p.value.as_u64()),
        quota_us,
    })
}

/// `block.N.name` / `.capacity` / `.threshold`, per disk in libvirt's order.
pub(crate) fn disks_of(params: &[Param]) -> Vec<DiskTunable> {
    let mut by_index: BTreeMap<u64, DiskTunable> = BTreeMap::new();
    for p in params {
        let Some(rest) = p.field.strip_prefix("block.") else {
            continue;
        };
        let Some((idx, what)) = rest.split_once('.') else {
            continue;
        };
        let Ok(i) = idx.parse::<u64>() else { continue };
        let d = by_index.entry(i).or_default();
        match what {
            "name" => d.target = p.text.clone().unwrap_or_default(),
            "capacity" => d.capacity_bytes = p.value.as_u64(),
            "threshold" => d.threshold_bytes = p.value.as_u64(),
            _ => {}
        }
    }
    by_index
        .into_values()
        .filter(|d| !d.target.is_empty())
        .collect()
}

fn refused(action: &str, uuid: &str, why: String) -> HvError {
    HvError::new(HvErrorKind::Other, format!("{action} {uuid}: {why}"))
}

impl LibvirtHypervisor {
    pub(super) fn get_hard_limit(&self, uuid: &str) -> HvResult<Option<u64>> {
        let action = "read memory parameters";
        let params = self.with_domain(action, uuid, ffi::memory_parameters)?;
        hard_limit_of(&params).map_err(|why| refused(action, uuid, why))
    }

    pub(super) fn put_hard_limit(&self, uuid: &str, kib: u64) -> HvResult<()> {
        let params = MemoryParameters {
            hard_limit: Some(kib),
            ..MemoryParameters::default()
        };
        self.with_domain("set memory hard limit", uuid, |d| {
            d.set_memory_parameters(params, sys::VIR_DOMAIN_AFFECT_LIVE)
        })
    }

    pub(super) fn get_cpu_quota(&self, uuid: &str) -> HvResult<CpuQuota> {
        let action = "read scheduler parameters";
        let params = self.with_domain(action, uuid, ffi::scheduler_parameters)?;
        cpu_quota_of(&params).map_err(|why| refused(action, uuid, why))
    }

    pub(super) fn put_cpu_quota(&self, uuid: &str, period_us: u64, quota_us: u64) -> HvResult<()> {
        let quota = i64::try_from(quota_us).unwrap_or(i64::MAX);
        let info = SchedulerInfo {
            global_bw: SchedBandwidth {
                period: Some(period_us),
                quota: Some(quota),
            },
            ..SchedulerInfo::default()
        };
        self.with_domain("set cpu quota", uuid, |d| {
            d.set_scheduler_parameters_flags(&info, sys::VIR_DOMAIN_AFFECT_LIVE)
        })
    }

    pub(super) fn get_disks(&self, uuid: &str) -> HvResult<Vec<DiskTunable>> {
        let params = self.with_domain("read block stats", uuid, ffi::block_stats)?;
        Ok(disks_of(&params))
    }

    pub(super) fn put_block_threshold(&self, uuid: &str, target: &str, bytes: u64) -> HvResult<()> {
        self.with_domain("set block threshold", uuid, |d| {
            d.set_block_threshold(target, bytes, 0)
        })
    }
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
