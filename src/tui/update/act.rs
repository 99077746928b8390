//! Acting: an action that applies either runs at once or, when its spec asks first
//! ([`crate::tui::action::Asks`]), opens a confirmation whose yes runs it. Every
//! confirmation of the dashboard passes [`gate`], so asking is decided in one place.

use super::Effect;
use crate::lifecycle::cleanup::RoundRequest;
use crate::lifecycle::{Command, Op};
use crate::tui::action::Action;
use crate::tui::plan::{self, Plan};
use crate::tui::state::{Activity, ActivityStatus, Confirm, Input, Popup, State, Then};

/// An action on the selected VM: refused with a flash when it does not apply, confirmed
/// when its spec asks, else performed.
pub(super) fn vm_action(s: &mut State, a: Action) -> Vec<Effect> {
    if !s.marked().is_empty() {
        return super::bulk::action(s, a);
    }
    let Some(vm) = s.selected_vm().cloned() else {
        return refuse(s, "no VM selected".into());
    };
    let name = vm.snapshot.vm_name.clone();
    let plan = plan::check(s, &vm, a);
    if vm.host != 0 && matches!(plan, Ok(Plan::PrepareCleanup | Plan::PrepareRecover)) {
        let host = s.host_name(vm.host).to_string();
        let what = if matches!(plan, Ok(Plan::PrepareCleanup)) {
            "cleanup"
        } else {
            "recover"
        };
        return refuse(
            s,
            format!(
                "{what} of {host}'s VMs runs on {host}'s own engine: `vmlife --host {host} {what}`"
            ),
        );
    }
    match plan {
        Err(why) => refuse(s, why),
        Ok(Plan::Run(op)) => {
            let ask = plan::asks(s, a, Some(&op));
            let (title, lines) = if ask {
                plan::words(s, &vm, &op)
            } else {
                Default::default()
            };
            gate(
                s,
                ask,
                title,
                lines,
                Then::Execute(vm.host, plan::command(&vm, op)),
            )
        }
        // A person asking for this one VM may act outside the window.
        Ok(Plan::PrepareCleanup) => vec![Effect::PrepareCleanup {
            title: format!("Clean up {name}?"),
            request: RoundRequest {
                manual: true,
                ignore_window: true,
                only: Some([vm.uuid.clone()].into()),
            },
        }],
        Ok(Plan::PrepareRecover) => vec![Effect::PrepareRecover {
            vm_id: vm.uuid.clone(),
            vm_name: name,
        }],
        Ok(Plan::EditTtl { hours }) => {
            s.popup = Some(Popup::Input(Input {
                title: format!("TTL of {name}"),
                prompt: format!(
                    "Expire {name} in how many hours from now? (now {})",
                    crate::format::ttl(s.ttl(&vm))
                ),
                text: format!("{hours}"),
                error: None,
                vm_id: vm.uuid.clone(),
                host: vm.host,
                vm_name: name,
            }));
            Vec::new()
        }
    }
}

/// Ask first when `ask`, else do `then` now.
pub(super) fn gate(
    s: &mut State,
    ask: bool,
    title: String,
    lines: Vec<String>,
    then: Then,
) -> Vec<Effect> {
    if !ask {
        return self::then(s, then);
    }
    s.popup = Some(Popup::Confirm(Confirm { title, lines, then }));
    s.confirm_scroll = 0;
    Vec::new()
}

/// What a yes (or an action that need not ask) does.
pub(super) fn then(s: &mut State, then: Then) -> Vec<Effect> {
    match then {
        Then::Execute(host, cmd) => execute(s, host, cmd),
        Then::ExecuteMany(cmds) => {
            s.marks.clear();
            cmds.into_iter()
                .flat_map(|(host, cmd)| execute(s, host, cmd))
                .collect()
        }
        Then::CleanupRound(request) => vec![Effect::RunCleanup(request)],
        Then::ConfirmParked(vms) => vec![Effect::ConfirmParked(vms)],
        Then::Autostart => vec![Effect::RunAutostart],
        Then::Recover { vm_id, vm_name } => {
            pending(s, &vm_id, &vm_name, "recover", format!("recover {vm_name}"));
            vec![Effect::RunRecover { vm_id, vm_name }]
        }
        Then::Quit => {
            s.should_quit = true;
            Vec::new()
        }
    }
}

/// `q`: quit at once, or ask first while actions of this dashboard still run (they
/// would be cut off).
pub(super) fn quit(s: &mut State) -> Vec<Effect> {
    let n = s.running_actions();
    let ask = plan::asks(s, Action::Quit, None);
    gate(
        s,
        ask,
        format!("{n} action(s) still running: quit anyway?"),
        vec![
            format!("{n} action(s) of this dashboard have not finished."),
            "Quitting now may cut them off before they finish.".into(),
            "y quits, n or Esc keeps the dashboard open.".into(),
        ],
        Then::Quit,
    )
}

/// `y`: list the cleanups parked by `require_confirmation` and ask.
pub(super) fn confirm_parked(s: &mut State) -> Vec<Effect> {
    let parked = plan::parked(s);
    confirm_these(s, parked)
}

/// When confirmed cleanups run: a confirmation starts a round at once, which cleans up
/// only inside the window when rounds keep to it.
pub(super) fn when_confirmed_runs(s: &State) -> String {
    match &s.cleanup {
        Some(c) if c.window_only && c.window_opens_in_minutes > 0 => format!(
            "they are cleaned up when the window opens ({}, in {})",
            c.window_start,
            crate::lifecycle::ttl::format_duration(i64::from(c.window_opens_in_minutes) * 60)
        ),
        _ => "a round starts now and cleans them up".to_string(),
    }
}

/// The confirmation of parked cleanups (`parked`): what a yes does, and when.
pub(super) fn confirm_these(s: &mut State, parked: Vec<crate::model::VmRef>) -> Vec<Effect> {
    if parked.is_empty() {
        return refuse(s, "no cleanup is awaiting confirmation".into());
    }
    let mut lines = vec![format!(
        "Confirm the cleanup of these expired VMs ({}):",
        when_confirmed_runs(s)
    )];
    lines.extend(parked.iter().map(|v| format!("  {} ({})", v.name, v.uuid)));
    let ask = plan::asks(s, Action::ConfirmCleanups, None);
    gate(
        s,
        ask,
        format!("Confirm {} parked cleanup(s)?", parked.len()),
        lines,
        Then::ConfirmParked(parked),
    )
}

/// The TTL prompt's Enter with valid hours: set the expiry that far from now.
pub(super) fn set_expiry(s: &mut State, input: Input, hours: f64) -> Vec<Effect> {
    let at = s
        .now
        .timestamp()
        .saturating_add(crate::lifecycle::ttl::ttl_seconds(hours));
    let cmd = Command::new(
        input.vm_id,
        input.vm_name,
        Op::SetExpiry { at },
        "set from the dashboard",
    );
    execute(s, input.host, cmd)
}

pub(super) fn refuse(s: &mut State, why: String) -> Vec<Effect> {
    s.flash(why);
    Vec::new()
}

/// Record a pending activity and hand the command to the executor of its host.
fn execute(s: &mut State, host: u16, c: Command) -> Vec<Effect> {
    let text = if s.many_hosts() {
        format!("{} {} on {}", c.op.describe(), c.vm_name, s.host_name(host))
    } else {
        format!("{} {}", c.op.describe(), c.vm_name)
    };
    let key = crate::tui::hosts::key_of(&c.vm_id, host);
    pending(s, &key, &c.vm_name, c.op.name(), text);
    vec![Effect::Execute(host, c)]
}

/// Show an action as running on a VM until its result arrives.
pub(super) fn pending(s: &mut State, vm_id: &str, vm_name: &str, action: &str, text: String) {
    s.busy.insert(vm_id.into());
    s.push_activity(Activity {
        at: s.now,
        vm_id: vm_id.into(),
        vm_name: vm_name.into(),
        action: action.into(),
        status: ActivityStatus::Pending,
        text,
    });
}
