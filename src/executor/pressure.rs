//! [`Op::Pressure`]: a reaction to memory pressure or a full disk, journaled with its
//! cause (`detail.cause`). Suspend leaves a VM that is already paused as it is (QEMU
//! paused it on the I/O error): vmlife records the pause as its own, without a call.

use serde_json::{json, Value};

use crate::hypervisor::{Hypervisor, RunState};
use crate::lifecycle::pressure::{Cause, ReactionKind};
use crate::lifecycle::{Command, Op};

use super::precondition::state_of;
use super::{Begin, Outcome};

/// Runs one pressure reaction (the re-checks have passed).
pub(super) fn run(
    hv: &dyn Hypervisor,
    cmd: &Command,
    action: ReactionKind,
    cause: Cause,
    dry_run: bool,
    begin: Begin<'_>,
) -> (Outcome, Option<Value>) {
    let detail = Some(json!({ "cause": cause, "reaction": action }));
    let name = &cmd.vm_name;
    let op = Op::Pressure { action, cause };
    if action == ReactionKind::Suspend {
        match state_of(hv, &cmd.vm_id) {
            Ok(Some(d)) if d.state == Some(RunState::Paused) => {
                let text = format!("{name} is paused already: kept paused for {cause}");
                let outcome = if dry_run {
                    Outcome::DryRun(format!("keep paused for {cause}"))
                } else {
                    Outcome::Ok(text)
                };
                return (outcome, detail);
            }
            Ok(None) => {
                let why = format!("domain {name} ({}) no longer exists", cmd.vm_id);
                return (Outcome::Refused(why), detail);
            }
            // Running (or unreadable): the suspend call says what is wrong.
            _ => {}
        }
    }
    if dry_run {
        return (Outcome::DryRun(op.describe()), detail);
    }
    if op.is_destructive() {
        if let Err(not_started) = begin(&op.describe()) {
            return (not_started, detail);
        }
    }
    let (result, done) = match action {
        ReactionKind::Suspend => (hv.suspend(&cmd.vm_id), format!("suspended {name}")),
        ReactionKind::Kill => (hv.destroy(&cmd.vm_id), format!("destroyed {name}")),
        ReactionKind::Resume => (hv.resume(&cmd.vm_id), format!("resumed {name}")),
    };
    match result {
        Ok(()) => (Outcome::Ok(format!("{done} ({cause})")), detail),
        Err(e) => (Outcome::Failed(e.message), detail),
    }
}
