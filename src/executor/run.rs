//! One command against the hypervisor: the op → trait call mapping and the metadata
//! edits. Called on a blocking thread with the VM's queue slot held (see
//! [`super::Executor`]).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::hypervisor::{HvResult, Hypervisor};
use crate::lifecycle::{edit, ttl, Actor, Command, Op};
use crate::metadata;
use crate::model::PersistenceMode;

use super::clock::Clock;
use super::precondition::show_time;
use super::{cleanup, limits, precondition, pressure, restart, Begin, ExecOptions, Outcome};

/// Runs `cmd`: re-checks, then the call (or, in dry run, nothing that changes anything).
/// Returns the outcome and the journal's `detail`.
///
/// `begin` journals a destructive step before it starts ([`Begin`]); when it fails the
/// step is not taken.
pub(super) fn perform(
    hv: &dyn Hypervisor,
    cmd: &Command,
    actor: &Actor,
    options: ExecOptions,
    clock: &dyn Clock,
    begin: Begin<'_>,
) -> (Outcome, Option<Value>) {
    let dry_run = options.dry_run;
    let now = clock.now();
    if let Err(refused) = precondition::recheck(hv, cmd, actor, now.timestamp()) {
        return (refused, None);
    }
    let name = &cmd.vm_name;
    // The op → trait method table; a fn pointer so dry run can skip the call.
    type Call = fn(&dyn Hypervisor, &str) -> HvResult<()>;
    let (call, done): (Call, String) = match cmd.op {
        Op::Start => (|hv, u| hv.start(u), format!("started {name}")),
        Op::Shutdown => (|hv, u| hv.shutdown(u), format!("asked {name} to shut down")),
        Op::Reboot => (|hv, u| hv.reboot(u), format!("rebooting {name}")),
        Op::Destroy => (|hv, u| hv.destroy(u), format!("destroyed {name}")),
        Op::Suspend => (|hv, u| hv.suspend(u), format!("suspended {name}")),
        Op::Resume => (|hv, u| hv.resume(u), format!("resumed {name}")),
        Op::ManagedSave => (
            |hv, u| hv.managed_save(u),
            format!("saved {name} (managed save)"),
        ),
        Op::DiscardManagedSave => (
            |hv, u| hv.managed_save_remove(u),
            format!("discarded the managed save of {name}"),
        ),
        Op::Undefine => (|hv, u| hv.undefine(u), format!("undefined {name}")),
        Op::ExtendTtl { .. }
        | Op::SetExpiry { .. }
        | Op::StampCreatedAt { .. }
        | Op::SetMode { .. } => {
            return edit_metadata(hv, cmd, dry_run, now, begin);
        }
        Op::Cleanup {
            force,
            grace_seconds,
            remove_storage,
        } => {
            let params = cleanup::Params {
                force,
                grace_seconds,
                remove_storage,
            };
            return cleanup::run(hv, cmd, params, dry_run, clock, begin);
        }
        Op::RestartByPolicy => {
            return restart::restart(hv, cmd, options, now.timestamp());
        }
        Op::ResetRestartCount => return restart::reset_count(hv, cmd, dry_run),
        Op::Pressure { action, cause } => {
            return pressure::run(hv, cmd, action, cause, dry_run, begin);
        }
        Op::SetLimit { ref value, old } => {
            return limits::set_limit(hv, cmd, value, old, dry_run, begin);
        }
    };
    if dry_run {
        return (Outcome::DryRun(cmd.op.describe()), None);
    }
    if cmd.op.is_destructive() {
        if let Err(not_started) = begin(&cmd.op.describe()) {
            return (not_started, None);
        }
    }
    match call(hv, &cmd.vm_id) {
        Ok(()) if cmd.op == Op::Start => {
            // Uptime survives a restart of vmlife when the start is in the metadata.
            match restart::stamp_start(hv, cmd, now.timestamp()) {
                None => (Outcome::Ok(done), None),
                Some(note) => (Outcome::Ok(format!("{done} ({note})")), None),
            }
        }
        Ok(()) => (Outcome::Ok(done), None),
        Err(e) => (Outcome::Failed(e.message), None),
    }
}

/// `ExtendTtl`, `SetExpiry` and `SetMode`: read, parse, edit, write back the metadata
/// element.
///
/// Invalid metadata is refused rather than overwritten: writing defaults over a typo
/// would silently change policy the sysadmin wrote by hand.
fn edit_metadata(
    hv: &dyn Hypervisor,
    cmd: &Command,
    dry_run: bool,
    now: DateTime<Utc>,
    begin: Begin<'_>,
) -> (Outcome, Option<Value>) {
    let xml = match hv.metadata(&cmd.vm_id) {
        Ok(xml) => xml,
        Err(e) => return (Outcome::Failed(format!("reading metadata: {e}")), None),
    };
    let mut meta = match metadata::parse_or_default(xml.as_deref()) {
        Ok(m) => m,
        Err(e) => {
            return (
                Outcome::Refused(format!(
                    "invalid policy: {e}; fix it with `vmlife set --reset`"
                )),
                None,
            )
        }
    };
    let before = meta.clone();
    let now_s = now.timestamp();
    let name = &cmd.vm_name;
    let (message, detail) = match cmd.op {
        Op::ExtendTtl { hours } => {
            if !(hours.is_finite() && hours > 0.0) {
                return (
                    Outcome::Refused(format!(
                        "a TTL extension must be a positive number of hours, not {hours}"
                    )),
                    None,
                );
            }
            if meta.persistence.mode == PersistenceMode::Permanent {
                return (Outcome::Refused("permanent VMs have no TTL".into()), None);
            }
            // The executor has no first-seen time; now is the safe stand-in (never
            // "expired on sight"), and it is written back so it stops moving.
            let created = *meta.persistence.created_at_unix.get_or_insert(now_s);
            let previous = ttl::expires_at(&meta.persistence, created);
            if !edit::extend_ttl(&mut meta, created, now_s, hours) {
                return (Outcome::Refused("permanent VMs have no TTL".into()), None);
            }
            let at = meta.persistence.scheduled_cleanup;
            (
                format!(
                    "extended {name} TTL by {hours}h (expires {})",
                    at.map_or_else(|| "never".into(), show_time)
                ),
                json!({ "hours": hours, "previous_expiry": previous, "scheduled_cleanup": at }),
            )
        }
        Op::StampCreatedAt { at } => {
            let p = &mut meta.persistence;
            if p.mode != PersistenceMode::Temporary || p.created_at_unix.is_some() {
                // Someone set it (or made the VM permanent) since the engine looked.
                return (
                    Outcome::Ok(format!("{name} needs no first-seen stamp")),
                    None,
                );
            }
            p.created_at_unix = Some(at);
            (
                format!("recorded {name} as first seen {}", show_time(at)),
                json!({ "created_at_unix": at }),
            )
        }
        Op::SetExpiry { at } => {
            let previous = meta
                .persistence
                .created_at_unix
                .and_then(|c| ttl::expires_at(&meta.persistence, c));
            if !edit::set_expiry(&mut meta, now_s, at) {
                return (Outcome::Refused("permanent VMs have no TTL".into()), None);
            }
            (
                format!("{name} now expires {}", show_time(at)),
                json!({ "previous_expiry": previous, "scheduled_cleanup": at }),
            )
        }
        Op::SetMode { mode } => {
            edit::set_mode(&mut meta, mode, now_s, None);
            if meta == before {
                // Nothing to write, in dry run or not.
                return (Outcome::Ok(format!("{name} is already {mode}")), None);
            }
            (
                format!("made {name} {mode}"),
                json!({ "mode": mode, "previous_mode": before.persistence.mode }),
            )
        }
        _ => {
            return (
                Outcome::Failed(format!(
                    "internal error: {} is not a metadata edit",
                    cmd.op.name()
                )),
                None,
            )
        }
    };
    if dry_run {
        return (Outcome::DryRun(cmd.op.describe()), Some(detail));
    }
    // A policy change is never invisible: no write without its journal line (a
    // permanent VM made an expired temporary one would otherwise leave no trace).
    if let Err(not_started) = begin("write metadata") {
        return (not_started, Some(detail));
    }
    match hv.set_metadata(&cmd.vm_id, Some(&metadata::to_xml(&meta))) {
        Ok(()) => (Outcome::Ok(message), Some(detail)),
        Err(e) => (Outcome::Failed(e.message), Some(detail)),
    }
}
