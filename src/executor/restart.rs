//! The restart policy's ops ([`Op::RestartByPolicy`], [`Op::ResetRestartCount`]) and
//! the `last_state_change` stamp after a start. The re-checks (identity, still stopped,
//! policy still wants it) ran before these are called.

use serde_json::{json, Value};

use crate::hypervisor::Hypervisor;
use crate::lifecycle::{Command, Op};
use crate::metadata::{self, LifecycleMeta};

use super::{ExecOptions, Outcome};

/// Reads and parses the VM's metadata: `Ok(None)` when it has no vmlife element, the
/// outcome to report when it cannot be read or is invalid.
fn read(hv: &dyn Hypervisor, cmd: &Command) -> Result<Option<LifecycleMeta>, Outcome> {
    let xml = hv
        .metadata(&cmd.vm_id)
        .map_err(|e| Outcome::Failed(format!("reading metadata: {e}")))?;
    match xml {
        None => Ok(None),
        Some(xml) => metadata::parse(&xml).map(Some).map_err(|e| {
            Outcome::Refused(format!(
                "invalid policy: {e}; fix it with `vmlife set --reset`"
            ))
        }),
    }
}

/// `RestartByPolicy`: start the VM, then count the restart in its metadata
/// (`restart_count` + 1, `last_state_change` = now). A VM without a vmlife element gets
/// one: the count is what bounds a crash loop by `max_retries`.
pub(super) fn restart(
    hv: &dyn Hypervisor,
    cmd: &Command,
    options: ExecOptions,
    now: i64,
) -> (Outcome, Option<Value>) {
    let dry_run = options.dry_run;
    let name = &cmd.vm_name;
    let before = match read(hv, cmd) {
        Ok(Some(m)) => m,
        // Its element was removed since the engine planned: observed only now.
        Ok(None) if !options.manage_all_vms => {
            return (
                Outcome::Refused("not managed by vmlife (no vmlife element): observed only".into()),
                None,
            )
        }
        Ok(None) => LifecycleMeta::default(),
        Err(o) => return (o, None),
    };
    let max = before.persistence.max_retries;
    let next = before.state.restart_count.saturating_add(1);
    if dry_run {
        return (
            Outcome::DryRun(format!("restart {name} (restart {next} of {max})")),
            Some(json!({ "restart_count": next, "max_retries": max })),
        );
    }
    if let Err(e) = hv.start(&cmd.vm_id) {
        return (Outcome::Failed(e.message), None);
    }
    // Re-read: the count is written over what is there now, not what was planned on.
    let counted = read(hv, cmd).and_then(|m| {
        let mut m = m.unwrap_or_default();
        m.state.restart_count = m.state.restart_count.saturating_add(1);
        m.persistence.last_state_change = Some(now);
        hv.set_metadata(&cmd.vm_id, Some(&metadata::to_xml(&m)))
            .map_err(|e| Outcome::Failed(e.message))?;
        Ok(m)
    });
    match counted {
        Ok(m) => {
            let (n, max) = (m.state.restart_count, m.persistence.max_retries);
            (
                Outcome::Ok(format!("restarted {name} (restart {n} of {max})")),
                Some(json!({ "restart_count": n, "max_retries": max })),
            )
        }
        // Started, but not counted: say both, since an uncounted restart is not bounded.
        Err(Outcome::Failed(e) | Outcome::Refused(e)) => (
            Outcome::Failed(format!(
                "started {name}, but could not count the restart: {e}"
            )),
            None,
        ),
        Err(o) => (o, None),
    }
}

/// `ResetRestartCount`: `restart_count` back to 0 (written only when it is not 0).
pub(super) fn reset_count(
    hv: &dyn Hypervisor,
    cmd: &Command,
    dry_run: bool,
) -> (Outcome, Option<Value>) {
    let name = &cmd.vm_name;
    let mut meta = match read(hv, cmd) {
        Ok(Some(m)) => m,
        Ok(None) => {
            return (
                Outcome::Ok(format!("{name} has no restart count to reset")),
                None,
            )
        }
        Err(o) => return (o, None),
    };
    let was = meta.state.restart_count;
    if was == 0 {
        return (
            Outcome::Ok(format!("the restart count of {name} is already 0")),
            None,
        );
    }
    let detail = Some(json!({ "previous_restart_count": was }));
    if dry_run {
        return (Outcome::DryRun(Op::ResetRestartCount.describe()), detail);
    }
    meta.state.restart_count = 0;
    match hv.set_metadata(&cmd.vm_id, Some(&metadata::to_xml(&meta))) {
        Ok(()) => (
            Outcome::Ok(format!("reset the restart count of {name} (was {was})")),
            detail,
        ),
        Err(e) => (Outcome::Failed(e.message), detail),
    }
}

/// After a successful start: `last_state_change` = now in the VM's metadata, when it
/// has a valid vmlife element (a VM without one is not given one). Returns a note for
/// the outcome when the stamp could not be written; the start itself stands.
pub(super) fn stamp_start(hv: &dyn Hypervisor, cmd: &Command, now: i64) -> Option<String> {
    let mut meta = match read(hv, cmd) {
        Ok(Some(m)) => m,
        // No element, or invalid (never overwritten), or unreadable: nothing to stamp.
        Ok(None) | Err(_) => return None,
    };
    meta.persistence.last_state_change = Some(now);
    hv.set_metadata(&cmd.vm_id, Some(&metadata::to_xml(&meta)))
        .err()
        .map(|e| format!("could not record last_state_change: {e}"))
}
