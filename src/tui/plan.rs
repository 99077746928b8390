//! What an action would do now, in three parts: whether it applies to the selected VM
//! ([`check`], or why not), what its confirmation says ([`words`]) and the command it
//! runs ([`command`]). Pure: dispatch (`update`) acts on it and the hints bar (`view`)
//! shows a key exactly when pressing it would act.

use super::action::{Action, Asks};
use super::state::State;
use crate::lifecycle::cleanup::VmCleanupState;
use crate::lifecycle::{edit, Command, Op, TtlStatus};
use crate::model::{PersistenceMode, VmRef, VmState};
use crate::poll::Vm;

/// What a VM action leads to once it applies.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Run this operation on the VM (after a yes when the spec asks).
    Run(Op),
    /// Ask the engine what cleaning this VM up would do (its confirmation follows).
    PrepareCleanup,
    /// Ask the host link what recovering it would do (its confirmation follows).
    PrepareRecover,
    /// Open the TTL prompt, prefilled with these hours.
    EditTtl { hours: f64 },
}

/// True when `a` acts rather than refuses (with a flash) in the state as it is: the
/// hints bar shows exactly these.
pub fn applies(s: &State, a: Action) -> bool {
    if s.readonly && a.is_mutating() {
        return false;
    }
    if a.spec().on_vm {
        return s.selected_vm().is_some_and(|vm| check(s, vm, a).is_ok());
    }
    match a {
        Action::ConfirmCleanups => !parked(s).is_empty(),
        _ => true,
    }
}

/// True when `a` must ask first here: the spec's [`Asks`], for this operation (if any)
/// and this state.
pub fn asks(s: &State, a: Action, op: Option<&Op>) -> bool {
    match a.asks() {
        Asks::Never => false,
        Asks::Always => true,
        Asks::ToTemporary => matches!(
            op,
            Some(Op::SetMode {
                mode: PersistenceMode::Temporary
            })
        ),
        Asks::WhileRunning => s.running_actions() > 0,
    }
}

/// The cleanups parked by `require_confirmation`.
pub fn parked(s: &State) -> Vec<VmRef> {
    s.cleanup
        .iter()
        .flat_map(|c| c.lines.iter())
        .filter(|l| l.state == VmCleanupState::AwaitingConfirmation)
        .map(|l| VmRef::new(l.vm_id.clone(), l.vm_name.clone()))
        .collect()
}

/// Whether a VM action applies to `vm`: what it would do, or the refusal's words.
pub fn check(s: &State, vm: &Vm, a: Action) -> Result<Plan, String> {
    let name = &vm.snapshot.vm_name;
    if let Some(host) = s
        .hosts
        .get(usize::from(vm.host))
        .filter(|_| a.is_mutating())
    {
        if host.readonly && !s.readonly {
            return Err(format!(
                "{} is read-only (readonly = true in its [[connections]] entry)",
                host.name
            ));
        }
        if host.health() == "DOWN" {
            return Err(format!("{} is DOWN: {name} cannot be reached", host.name));
        }
    }
    let state = vm.snapshot.vm_state;
    let active = matches!(
        state,
        VmState::Running | VmState::Paused | VmState::Starting | VmState::Stopping
    );
    let invalid = || format!("{name}: invalid policy; fix it with `vmlife set {name} --reset`");
    let temporary = |permanent: String| match vm.persistence() {
        None => Err(invalid()),
        Some(p) if p.mode == PersistenceMode::Permanent => Err(permanent),
        Some(_) => Ok(()),
    };
    let plan = match a {
        Action::Start if active => return Err(format!("{name} is already {state}")),
        Action::Start => Plan::Run(Op::Start),
        Action::SuspendResume => match state {
            VmState::Running => Plan::Run(Op::Suspend),
            VmState::Paused => Plan::Run(Op::Resume),
            _ => return Err(format!("{name} is {state}: nothing to pause or resume")),
        },
        Action::Shutdown if !active => return Err(format!("{name} is {state}")),
        Action::Shutdown => Plan::Run(Op::Shutdown),
        Action::Destroy if !active => {
            return Err(format!("{name} is {state}: nothing to destroy"));
        }
        Action::Destroy => Plan::Run(Op::Destroy),
        Action::Reboot if state != VmState::Running => {
            return Err(format!("{name} is {state}: only a running VM reboots"));
        }
        Action::Reboot => Plan::Run(Op::Reboot),
        Action::ManagedSave if !active => {
            return Err(format!("{name} is {state}: nothing to save"));
        }
        Action::ManagedSave => Plan::Run(Op::ManagedSave),
        Action::ExtendTtl => {
            temporary(format!("{name} is permanent: no TTL to extend"))?;
            Plan::Run(Op::ExtendTtl {
                hours: s.extend_step_hours,
            })
        }
        Action::Recover => Plan::PrepareRecover,
        Action::Cleanup => {
            match vm.persistence() {
                None => return Err(format!("{name}: invalid policy; never cleaned up")),
                Some(p) if p.mode == PersistenceMode::Permanent => {
                    return Err(format!(
                        "{name} is permanent: never cleaned up (destroy it explicitly)"
                    ));
                }
                Some(_) => {}
            }
            if !matches!(s.ttl(vm), Some(TtlStatus::Expired { .. })) {
                return Err(format!(
                    "{name} has not expired (TTL {}): extend or destroy it instead",
                    crate::format::ttl(s.ttl(vm))
                ));
            }
            Plan::PrepareCleanup
        }
        Action::EditTtl => {
            temporary(format!(
                "{name} is permanent: no TTL (press t to make it temporary)"
            ))?;
            let left = s
                .ttl(vm)
                .and_then(TtlStatus::remaining_seconds)
                .unwrap_or(0);
            Plan::EditTtl {
                hours: (left.max(0) as f64 / 3600.0).ceil().max(1.0),
            }
        }
        Action::ToggleMode => {
            let Ok(meta) = vm.meta.as_ref() else {
                return Err(invalid());
            };
            let mode = match meta.persistence.mode {
                PersistenceMode::Temporary => PersistenceMode::Permanent,
                PersistenceMode::Permanent => PersistenceMode::Temporary,
            };
            Plan::Run(Op::SetMode { mode })
        }
        other => return Err(format!("{} is not an action on a VM", other.name())),
    };
    Ok(plan)
}

/// The command a person's operation on `vm` runs.
pub fn command(vm: &Vm, op: Op) -> Command {
    Command::new(
        vm.uuid.clone(),
        vm.snapshot.vm_name.clone(),
        op,
        "asked from the dashboard",
    )
}

/// A confirmation's title and lines for running `op` on `vm`.
/// With several hosts, the title and the VM's line name its host.
pub fn words(s: &State, vm: &Vm, op: &Op) -> (String, Vec<String>) {
    let (title, lines) = words_on(s, vm, op);
    if !s.many_hosts() {
        return (title, lines);
    }
    let host = s.host_name(vm.host);
    let title = match title.strip_suffix('?') {
        Some(t) => format!("{t} on {host}?"),
        None => format!("{title} on {host}"),
    };
    (title, lines)
}

fn words_on(s: &State, vm: &Vm, op: &Op) -> (String, Vec<String>) {
    let name = &vm.snapshot.vm_name;
    let who = if s.many_hosts() {
        format!("{name} ({}, on {})", vm.uuid, s.host_name(vm.host))
    } else {
        format!("{name} ({})", vm.uuid)
    };
    match op {
        Op::Shutdown => (
            format!("Shut down {name}?"),
            vec![
                format!("Ask the guest of {who} to shut down (ACPI)."),
                "The guest decides; one without ACPI support keeps running.".into(),
            ],
        ),
        Op::Destroy => (
            format!("DESTROY {name}?"),
            vec![
                format!("Hard power-off of {who}: like pulling the plug."),
                "Whatever the guest has not written to disk is lost.".into(),
                "The domain stays defined; start it again with the start key.".into(),
            ],
        ),
        Op::Reboot => (
            format!("Reboot {name}?"),
            vec![format!("Ask the guest of {who} to reboot (ACPI).")],
        ),
        Op::ManagedSave => (
            format!("Save and stop {name}?"),
            vec![
                format!("Write the memory of {who} to disk and stop it."),
                "Its services are down until it is started again (it resumes where it was).".into(),
            ],
        ),
        Op::SetMode {
            mode: PersistenceMode::Temporary,
        } => {
            let mut lines = Vec::new();
            if let Ok(meta) = vm.meta.as_ref() {
                lines.push(format!(
                    "{who} becomes temporary with a TTL of {}h (auto_cleanup = {}).",
                    meta.persistence.ttl_hours, meta.persistence.auto_cleanup
                ));
                if edit::temporary_would_be_expired(meta, vm.first_seen_unix, s.now.timestamp()) {
                    lines.push(
                        "It is ALREADY EXPIRED: the next cleanup round may destroy and undefine it."
                            .into(),
                    );
                } else {
                    lines.push("When the TTL ends, cleanup may destroy and undefine it.".into());
                }
            }
            (format!("Make {name} temporary?"), lines)
        }
        other => (
            format!("{} {name}?", other.describe()),
            vec![format!("{} {who}.", other.describe())],
        ),
    }
}
