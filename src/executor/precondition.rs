//! Re-checks right before a command's hypervisor call (DESIGN.md §1: "right before a
//! destructive step, re-read the VM ... act on UUIDs, not names").
//!
//! Between the moment a person pressed a key (or the engine planned a cleanup) and the
//! moment a blocking thread gets to run the command, the VM may have been renamed,
//! removed, or replaced. The executor reads [`Facts`] once and checks each
//! [`Precondition`] that [`required`] lists against them with the pure [`check`].
//!
//! To add a policy re-check (issue 4: "still expired", "still temporary" before a
//! cleanup step): add a variant to [`Precondition`], list it in [`required`] for the
//! commands and actors it applies to, read what it needs into [`Facts`], and give it an
//! arm in [`check`].

use crate::hypervisor::{DomainRef, HvErrorKind, HvResult, Hypervisor};
use crate::lifecycle::{Actor, Command, Op};

use super::Outcome;

/// A fact about the VM that must still hold right before its command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// The UUID still exists and still carries the name the requester saw: a renamed
    /// or vanished VM is not what the person (or the plan) meant.
    SameIdentity,
}

/// What the executor read from the hypervisor right before the call.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// `lookup(vm_id)`.
    pub domain: HvResult<DomainRef>,
}

impl Facts {
    /// Reads the facts the re-checks need; read-only calls, so also done in dry run.
    pub fn read(hv: &dyn Hypervisor, cmd: &Command) -> Facts {
        Facts {
            domain: hv.lookup(&cmd.vm_id),
        }
    }
}

/// The re-checks `cmd` needs when `actor` asked for it.
///
/// Destructive steps and metadata edits check the VM's identity; starting, pausing and
/// resuming act on the UUID whatever its name now is, and cannot lose anything.
pub fn required(cmd: &Command, _actor: &Actor) -> Vec<Precondition> {
    let edits_metadata = matches!(cmd.op, Op::ExtendTtl { .. } | Op::SetMode { .. });
    if cmd.op.is_destructive() || edits_metadata {
        vec![Precondition::SameIdentity]
    } else {
        Vec::new()
    }
}

/// Checks one precondition against the facts: `Err` holds the outcome to report
/// instead of running the command (`Refused`, or `Failed` when the facts could not be
/// read).
pub fn check(pre: Precondition, cmd: &Command, facts: &Facts) -> Result<(), Outcome> {
    match pre {
        Precondition::SameIdentity => check_identity(cmd, &facts.domain),
    }
}

/// Reads the facts and runs every check `cmd` needs; `Ok` when it may run.
pub fn recheck(hv: &dyn Hypervisor, cmd: &Command, actor: &Actor) -> Result<(), Outcome> {
    let pres = required(cmd, actor);
    if pres.is_empty() {
        return Ok(());
    }
    let facts = Facts::read(hv, cmd);
    pres.into_iter().try_for_each(|p| check(p, cmd, &facts))
}

fn check_identity(cmd: &Command, found: &HvResult<DomainRef>) -> Result<(), Outcome> {
    let gone = || {
        Outcome::Refused(format!(
            "domain {} ({}) no longer exists",
            cmd.vm_name, cmd.vm_id
        ))
    };
    match found {
        Err(e) if e.kind == HvErrorKind::NoDomain => Err(gone()),
        // Not knowing is not a reason to act: the VM may have been replaced.
        Err(e) => Err(Outcome::Failed(format!(
            "cannot re-check {} before {}: {e}",
            cmd.vm_name,
            cmd.op.name()
        ))),
        // `lookup` also matches names; a domain *named* like the UUID is not the VM.
        Ok(d) if d.uuid != cmd.vm_id => Err(gone()),
        Ok(d) if d.name != cmd.vm_name => Err(Outcome::Refused(format!(
            "domain {} is now named {}, not {}",
            cmd.vm_id, d.name, cmd.vm_name
        ))),
        Ok(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypervisor::HvError;

    fn cmd(op: Op) -> Command {
        Command::new("u-1", "web-1", op, "test")
    }

    fn found(uuid: &str, name: &str) -> Facts {
        Facts {
            domain: Ok(DomainRef {
                uuid: uuid.into(),
                name: name.into(),
            }),
        }
    }

    #[test]
    fn identity_check_table() {
        let c = cmd(Op::Destroy);
        let p = Precondition::SameIdentity;
        assert_eq!(check(p, &c, &found("u-1", "web-1")), Ok(()));
        assert_eq!(
            check(p, &c, &found("u-1", "web-2")),
            Err(Outcome::Refused(
                "domain u-1 is now named web-2, not web-1".into()
            ))
        );
        let gone = Err(Outcome::Refused(
            "domain web-1 (u-1) no longer exists".into(),
        ));
        assert_eq!(check(p, &c, &found("u-9", "u-1")), gone);
        let missing = Facts {
            domain: Err(HvError::new(HvErrorKind::NoDomain, "no such domain")),
        };
        assert_eq!(check(p, &c, &missing), gone);
        let down = Facts {
            domain: Err(HvError::new(HvErrorKind::Connection, "link down")),
        };
        assert_eq!(
            check(p, &c, &down),
            Err(Outcome::Failed(
                "cannot re-check web-1 before destroy: link down".into()
            ))
        );
    }

    #[test]
    fn which_commands_are_rechecked() {
        let actor = Actor::Engine;
        for op in [Op::Start, Op::Suspend, Op::Resume] {
            assert!(required(&cmd(op), &actor).is_empty());
        }
        for op in [
            Op::Shutdown,
            Op::Reboot,
            Op::Destroy,
            Op::ManagedSave,
            Op::Undefine,
            Op::ExtendTtl { hours: 1.0 },
            Op::SetMode {
                mode: crate::model::PersistenceMode::Permanent,
            },
        ] {
            assert_eq!(required(&cmd(op), &actor), vec![Precondition::SameIdentity]);
        }
    }
}
