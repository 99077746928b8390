//! Re-checks right before a command's hypervisor call (docs/ARCHITECTURE.md: "right before a
//! destructive step, re-read the VM ... act on UUIDs, not names").
//!
//! Between the moment a person pressed a key (or the engine planned a cleanup) and the
//! moment a blocking thread gets to run the command, the VM may have been renamed,
//! removed, replaced, extended or made permanent. The executor reads [`Facts`] (only
//! what the checks need) and checks each [`Precondition`] that [`required`] lists
//! against them with the pure [`check`]. A multi-step command ([`Op::Cleanup`]) runs the
//! checks again right before each of its destructive steps ([`recheck_with`]).
//!
//! To add a re-check: add a variant to [`Precondition`], list it in [`required`] for the
//! commands and actors it applies to, read what it needs in [`Facts::read`], and give it
//! an arm in [`check`].

use chrono::DateTime;

use crate::hypervisor::{HvErrorKind, HvResult, Hypervisor, RawDomain, StatsGroups, VmRef};
use crate::lifecycle::pressure::{Cause, ReactionKind};
use crate::lifecycle::ttl::{self, TtlStatus};
use crate::lifecycle::{Actor, Command, Op};
use crate::metadata;
use crate::model::{PersistenceMode, RestartPolicy};

use super::Outcome;

/// A fact about the VM that must still hold right before its command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// The UUID still exists and still carries the name the requester saw: a renamed
    /// or vanished VM is not what the person (or the plan) meant.
    SameIdentity,
    /// Cleanup: the VM's metadata is valid, temporary, `auto_cleanup = true`, and its
    /// TTL has run out now. A missing `created_at_unix` counts from now (so a VM never
    /// stamped is never cleaned by surprise); missing metadata is permanent.
    StillDue,
    /// Restart by policy: the VM is still shut off.
    StillStopped,
    /// Restart by policy: the VM's metadata is valid, `restart_policy` is not `no`, it
    /// has not expired, and `restart_count` is below `max_retries`.
    RestartAllowed,
    /// A pressure kill: the VM's metadata is valid and it is temporary, or its own
    /// policy for this cause says `kill` (a host default never kills a permanent VM).
    PressureKillAllowed(Cause),
}

impl Precondition {
    fn needs_metadata(self) -> bool {
        matches!(
            self,
            Precondition::StillDue
                | Precondition::RestartAllowed
                | Precondition::PressureKillAllowed(_)
        )
    }

    fn needs_state(self) -> bool {
        matches!(self, Precondition::StillStopped)
    }
}

/// What the executor read from the hypervisor right before the call.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// `lookup(vm_id)`.
    pub domain: HvResult<VmRef>,
    /// `metadata(vm_id)`, when a check needs it.
    pub metadata: Option<HvResult<Option<String>>>,
    /// The VM's row of a state-only poll (`Ok(None)`: not in it), when a check needs it.
    pub state: Option<HvResult<Option<RawDomain>>>,
    /// Unix seconds at the re-check.
    pub now: i64,
}

impl Facts {
    /// Facts with only the identity read (the others `None`).
    pub fn identity(domain: HvResult<VmRef>, now: i64) -> Facts {
        Facts {
            domain,
            metadata: None,
            state: None,
            now,
        }
    }

    /// Reads what `pres` need; read-only calls, so also done in dry run.
    pub fn read(hv: &dyn Hypervisor, cmd: &Command, pres: &[Precondition], now: i64) -> Facts {
        let mut facts = Facts::identity(hv.lookup(&cmd.vm_id), now);
        if pres.iter().any(|p| p.needs_metadata()) {
            facts.metadata = Some(hv.metadata(&cmd.vm_id));
        }
        if pres.iter().any(|p| p.needs_state()) {
            facts.state = Some(state_of(hv, &cmd.vm_id));
        }
        facts
    }
}

/// The domain's row of a state-only poll; `Ok(None)` when it is not there.
pub fn state_of(hv: &dyn Hypervisor, uuid: &str) -> HvResult<Option<RawDomain>> {
    Ok(hv
        .poll(StatsGroups::STATE)?
        .into_iter()
        .find(|d| d.uuid == uuid))
}

/// The re-checks `cmd` needs when `actor` asked for it.
///
/// Destructive steps, metadata edits and the engine's ops check the VM's identity;
/// starting, pausing and resuming act on the UUID whatever its name now is, and cannot
/// lose anything. A cleanup also checks that the VM is still due, whoever asked (a
/// person removes a VM that is not due with destroy and undefine, not with cleanup); a
/// restart by policy, that the VM is still stopped and its policy still wants it.
pub fn required(cmd: &Command, _actor: &Actor) -> Vec<Precondition> {
    use Precondition::*;
    match cmd.op {
        Op::Cleanup { .. } => vec![SameIdentity, StillDue],
        Op::RestartByPolicy => vec![SameIdentity, StillStopped, RestartAllowed],
        Op::ResetRestartCount
        | Op::SetLimit { .. }
        | Op::ExtendTtl { .. }
        | Op::SetExpiry { .. }
        | Op::SetMode { .. } => {
            vec![SameIdentity]
        }
        Op::Pressure {
            action: ReactionKind::Kill,
            cause,
        } => vec![SameIdentity, PressureKillAllowed(cause)],
        Op::Pressure { .. } => vec![SameIdentity],
        ref op if op.is_destructive() => vec![SameIdentity],
        _ => Vec::new(),
    }
}

/// Checks one precondition against the facts: `Err` holds the outcome to report
/// instead of running the command (`Refused`, or `Failed` when the facts could not be
/// read).
pub fn check(pre: Precondition, cmd: &Command, facts: &Facts) -> Result<(), Outcome> {
    match pre {
        Precondition::SameIdentity => check_identity(cmd, &facts.domain),
        Precondition::StillDue => check_due(cmd, facts),
        Precondition::StillStopped => check_stopped(cmd, facts),
        Precondition::RestartAllowed => check_restart(cmd, facts),
        Precondition::PressureKillAllowed(cause) => check_pressure_kill(cmd, cause, facts),
    }
}

/// Reads the facts and runs every check `cmd` needs; `Ok` when it may run.
pub fn recheck(hv: &dyn Hypervisor, cmd: &Command, actor: &Actor, now: i64) -> Result<(), Outcome> {
    recheck_with(hv, cmd, &required(cmd, actor), now)
}

/// Reads the facts `pres` need and checks them in order; `Ok` when all hold.
pub fn recheck_with(
    hv: &dyn Hypervisor,
    cmd: &Command,
    pres: &[Precondition],
    now: i64,
) -> Result<(), Outcome> {
    if pres.is_empty() {
        return Ok(());
    }
    let facts = Facts::read(hv, cmd, pres, now);
    pres.iter().try_for_each(|&p| check(p, cmd, &facts))
}

fn gone(cmd: &Command) -> Outcome {
    Outcome::Refused(format!(
        "domain {} ({}) no longer exists",
        cmd.vm_name, cmd.vm_id
    ))
}

fn cannot_recheck(cmd: &Command, e: impl std::fmt::Display) -> Outcome {
    Outcome::Failed(format!(
        "cannot re-check {} before {}: {e}",
        cmd.vm_name,
        cmd.op.name()
    ))
}

fn not_read(cmd: &Command, what: &str) -> Outcome {
    Outcome::Failed(format!(
        "internal error: {what} of {} was not read before {}",
        cmd.vm_name,
        cmd.op.name()
    ))
}

fn check_identity(cmd: &Command, found: &HvResult<VmRef>) -> Result<(), Outcome> {
    match found {
        Err(e) if e.kind == HvErrorKind::NoDomain => Err(gone(cmd)),
        // Not knowing is not a reason to act: the VM may have been replaced.
        Err(e) => Err(cannot_recheck(cmd, e)),
        // `lookup` also matches names; a domain *named* like the UUID is not the VM.
        Ok(d) if d.uuid != cmd.vm_id => Err(gone(cmd)),
        Ok(d) if d.name != cmd.vm_name => Err(Outcome::Refused(format!(
            "domain {} is now named {}, not {}",
            cmd.vm_id, d.name, cmd.vm_name
        ))),
        Ok(_) => Ok(()),
    }
}

/// The metadata the facts hold: `Ok(None)` when the VM has no vmlife element.
fn read_meta(
    cmd: &Command,
    facts: &Facts,
) -> Result<Option<Result<metadata::LifecycleMeta, metadata::MetaError>>, Outcome> {
    match &facts.metadata {
        None => Err(not_read(cmd, "the metadata")),
        Some(Err(e)) if e.kind == HvErrorKind::NoDomain => Err(gone(cmd)),
        Some(Err(e)) => Err(cannot_recheck(cmd, e)),
        Some(Ok(None)) => Ok(None),
        Some(Ok(Some(xml))) => Ok(Some(metadata::parse(xml))),
    }
}

fn check_due(cmd: &Command, facts: &Facts) -> Result<(), Outcome> {
    let no = |why: String| Err(Outcome::Refused(format!("no longer due: {why}")));
    let meta = match read_meta(cmd, facts)? {
        None => return no("it has no vmlife metadata (permanent)".into()),
        Some(Err(e)) => return no(format!("invalid policy ({e})")),
        Some(Ok(m)) => m,
    };
    let p = &meta.persistence;
    if p.mode == PersistenceMode::Permanent {
        return no("made permanent".into());
    }
    if !p.auto_cleanup {
        return no("auto_cleanup = false".into());
    }
    let now = facts.now;
    match ttl::status(p, now, now) {
        TtlStatus::Expired { .. } => Ok(()),
        TtlStatus::Permanent => no("made permanent".into()),
        TtlStatus::Live { expires_at, .. } => match (p.scheduled_cleanup, p.created_at_unix) {
            (Some(_), _) => no(format!("extended to {}", show_time(expires_at))),
            (None, None) => no("not expired (no created_at_unix: it counts from now)".into()),
            (None, Some(_)) => no(format!("not expired (expires {})", show_time(expires_at))),
        },
    }
}

fn check_stopped(cmd: &Command, facts: &Facts) -> Result<(), Outcome> {
    match &facts.state {
        None => Err(not_read(cmd, "the state")),
        Some(Err(e)) => Err(cannot_recheck(cmd, e)),
        Some(Ok(None)) => Err(gone(cmd)),
        Some(Ok(Some(d))) if d.state.is_some_and(|s| s.is_active()) => {
            Err(Outcome::Refused("already running".into()))
        }
        Some(Ok(Some(_))) => Ok(()),
    }
}

fn check_pressure_kill(cmd: &Command, cause: Cause, facts: &Facts) -> Result<(), Outcome> {
    let refuse = |why: String| Err(Outcome::Refused(format!("not killed for {cause}: {why}")));
    let meta = match read_meta(cmd, facts)? {
        None => return refuse("it has no vmlife metadata (permanent)".into()),
        Some(Err(e)) => return refuse(format!("invalid policy ({e})")),
        Some(Ok(m)) => m,
    };
    let own = match cause {
        Cause::MemoryPressure => meta.policy.on_memory_pressure,
        Cause::DiskFull => meta.policy.on_disk_full,
    };
    if meta.persistence.mode == PersistenceMode::Temporary
        || own == Some(crate::model::PressureAction::Kill)
    {
        Ok(())
    } else {
        refuse("permanent, and its own policy does not say kill".into())
    }
}

fn check_restart(cmd: &Command, facts: &Facts) -> Result<(), Outcome> {
    let refuse = |why: String| Err(Outcome::Refused(why));
    let meta = match read_meta(cmd, facts)? {
        // No element: the contract defaults, as the planner saw them.
        None => metadata::LifecycleMeta::default(),
        Some(Err(e)) => return refuse(format!("invalid policy ({e})")),
        Some(Ok(m)) => m,
    };
    let p = &meta.persistence;
    if p.restart_policy == RestartPolicy::No {
        return refuse("restart_policy = no".into());
    }
    let now = facts.now;
    if matches!(ttl::status(p, now, now), TtlStatus::Expired { .. }) {
        return refuse("expired: left stopped for cleanup".into());
    }
    let done = meta.state.restart_count;
    if done >= p.max_retries {
        return refuse(format!(
            "{done} restarts in a row reached max_retries = {}",
            p.max_retries
        ));
    }
    Ok(())
}

/// A unix time for a one-line message; the raw number if it is out of chrono's range.
pub(super) fn show_time(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0).map_or_else(
        || unix.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

#[cfg(test)]
#[path = "precondition_tests.rs"]
mod tests;
