//! [`Op::SetLimit`](crate::lifecycle::Op::SetLimit): one tunable of a running VM, set
//! live, journaled with its old and new value (the identity was re-checked before).

use serde_json::{json, Value};

use crate::hypervisor::Hypervisor;
use crate::lifecycle::limits::{LimitValue, LimitValue as V};
use crate::lifecycle::Command;

use super::{Begin, Outcome};

/// Sets `value` on `cmd`'s VM; dry run calls nothing. The journal's detail holds
/// `limit`, `target`, `old` and `new`.
pub(super) fn set_limit(
    hv: &dyn Hypervisor,
    cmd: &Command,
    value: &LimitValue,
    old: Option<u64>,
    dry_run: bool,
    begin: Begin<'_>,
) -> (Outcome, Option<Value>) {
    let (target, new) = match value {
        V::Memory { hard_limit_kib } => (None, *hard_limit_kib),
        V::Cpu { quota_us, .. } => (None, *quota_us),
        V::Disk {
            target,
            threshold_bytes,
        } => (Some(target.as_str()), *threshold_bytes),
    };
    let mut detail = json!({ "limit": value.kind(), "old": old, "new": new });
    if let (Some(t), Some(obj)) = (target, detail.as_object_mut()) {
        obj.insert("target".into(), json!(t));
    }
    if let V::Cpu { period_us, .. } = value {
        if let Some(obj) = detail.as_object_mut() {
            obj.insert("period_us".into(), json!(period_us));
        }
    }
    let what = value.describe();
    if dry_run {
        return (Outcome::DryRun(format!("set {what}")), Some(detail));
    }
    if let Err(not_started) = begin(&format!("set {what}")) {
        return (not_started, Some(detail));
    }
    let uuid = &cmd.vm_id;
    let r = match value {
        V::Memory { hard_limit_kib } => hv.set_memory_hard_limit(uuid, *hard_limit_kib),
        V::Cpu {
            period_us,
            quota_us,
        } => hv.set_cpu_quota(uuid, *period_us, *quota_us),
        V::Disk {
            target,
            threshold_bytes,
        } => hv.set_block_threshold(uuid, target, *threshold_bytes),
    };
    match r {
        Ok(()) => (
            Outcome::Ok(format!("{}: set {what}", cmd.vm_name)),
            Some(detail),
        ),
        Err(e) => (Outcome::Failed(e.message), Some(detail)),
    }
}
