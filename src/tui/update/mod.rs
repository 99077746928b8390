//! `update`: the only code that changes the dashboard's [`State`].
//!
//! Messages are facts (a key was pressed, a snapshot arrived, an action finished);
//! `update` turns them into state changes and [`Effect`]s that the runtime performs.
//! Keys become actions through the keymap layer of the current mode (`keys`); an
//! action whose spec asks first goes `Action` → [`Popup::Confirm`] → yes →
//! `Effect::Execute` (`act`): nothing dangerous reaches the executor from one key press.
//!
//! [`Popup::Confirm`]: super::state::Popup::Confirm

mod act;
mod bulk;
mod command;
mod keys;
mod mouse;
mod snapshot;

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

pub use keys::apply;

use super::action::Action;
use super::plan;
use super::present::cleanup_line_text;
use super::state::{
    Activity, ActivityStatus, CleanupView, ConnState, ProgressPane, State, Then, FLASH_SECONDS,
};
use crate::hypervisor::DomainEvent;
use crate::lifecycle::autostart::Progress as AutostartProgress;
use crate::lifecycle::cleanup::{RoundPlan, RoundRequest, VmCleanupState};
use crate::lifecycle::Command;
use crate::model::{Uuid, VmRef};
use crate::poll::Vm;
use std::collections::HashMap;

/// A fact the dashboard reacts to.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// A click or a wheel turn (mouse capture on; motion is not forwarded).
    Mouse(crossterm::event::MouseEvent),
    Resize(u16, u16),
    /// The clock moved (host time for countdowns).
    Tick(DateTime<Utc>),
    /// A poll of host `host` succeeded; it took `rtt_ms`.
    Snapshot {
        host: u16,
        vms: Vec<Vm>,
        at: DateTime<Utc>,
        rtt_ms: Option<u64>,
    },
    /// A light poll of host `host` (one other than the first, between its full polls)
    /// succeeded: its VMs in view with new figures (maybe none); it took `rtt_ms`.
    Rows {
        host: u16,
        vms: Vec<Vm>,
        at: DateTime<Utc>,
        rtt_ms: Option<u64>,
    },
    /// Who runs host `host`'s engine now (a host whose engine this dashboard runs:
    /// started, not run, stopped).
    HostEngine {
        host: u16,
        text: String,
    },
    /// A poll of host `host` failed; its last snapshot stays, marked stale.
    PollFailed {
        host: u16,
        error: String,
        at: DateTime<Utc>,
    },
    /// A poll of host `host` asked at `since` has not answered yet (the host hangs).
    PollOverdue {
        host: u16,
        since: DateTime<Utc>,
    },
    /// Host `host` could not be connected (it is retried).
    HostDown {
        host: u16,
        error: String,
    },
    /// Host `host`'s memory: its text for the strip, and whether it is under the
    /// pressure threshold.
    HostMemory {
        host: u16,
        text: String,
        low: bool,
    },
    /// An action the executor ran has ended.
    ActionFinished {
        vm_id: Uuid,
        action: String,
        status: ActivityStatus,
        text: String,
    },
    /// A libvirt domain or connection event of host `.0`.
    Event(u16, DomainEvent),
    /// The engine re-planned (after a snapshot or a result).
    Cleanup(CleanupView),
    /// What a requested cleanup round would do, for its confirmation.
    CleanupPrepared {
        title: String,
        plan: RoundPlan,
        request: RoundRequest,
    },
    /// What the ordered autostart would do (lines), or why it cannot run (`Err`).
    AutostartPrepared(Result<Vec<String>, String>),
    /// The ordered start moved on.
    Progress(AutostartProgress),
    /// What recovering a VM would do (lines), or why it cannot (`Err`).
    RecoverPrepared {
        vm_id: Uuid,
        vm_name: String,
        lines: Result<Vec<String>, String>,
    },
    /// The recovery records, as detail-pane lines by VM UUID.
    Recovery(HashMap<Uuid, Vec<String>>),
    /// A command was handed to an executor (by the engine): show it as running.
    Pending {
        vm_id: Uuid,
        vm_name: String,
        action: String,
        text: String,
    },
    /// A short message for the hints bar.
    Flash(String),
    /// Who runs the engine now (the header line), and its `manage_all_vms`.
    Engine {
        status: String,
        manage_all_vms: bool,
    },
    /// The selected VM's limits, read on the engine thread (`Effect::ReadLimits`).
    Limits(super::limits::LimitsView),
}

/// What one message did: the effects to run, in this order, and whether the screen
/// changed (the clock-driven text aside: the runtime checks that itself).
#[derive(Debug, Default, PartialEq)]
pub struct Step {
    pub effects: Vec<Effect>,
    pub redraw: bool,
}

/// A side effect for the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Hand a command to the executor of host `.0`.
    Execute(u16, Command),
    /// Poll host `.0` again now (after an action or an event changed something).
    PollNow(u16),
    /// Plan a cleanup round for this request and answer with `Msg::CleanupPrepared`.
    PrepareCleanup {
        title: String,
        request: RoundRequest,
    },
    /// Run a confirmed cleanup round.
    RunCleanup(RoundRequest),
    /// Record a person's confirmation of parked cleanups (UUID, name).
    ConfirmParked(Vec<VmRef>),
    /// Acknowledge an alert (journaled) and answer with a fresh `Msg::Cleanup`.
    AckAlert(crate::engine::state_files::Alert),
    /// Plan the ordered autostart and answer with `Msg::AutostartPrepared`.
    PrepareAutostart,
    /// Run the confirmed ordered autostart; progress comes as `Msg::Progress`.
    RunAutostart,
    /// Plan recovering a VM and answer with `Msg::RecoverPrepared`.
    PrepareRecover { vm_id: Uuid, vm_name: String },
    /// Recover a VM (confirmed); the result comes as `Msg::ActionFinished`.
    RunRecover { vm_id: Uuid, vm_name: String },
    /// Ctrl-Z: give the terminal back to the shell and stop (job control); on `fg`,
    /// take it again and redraw.
    Suspend,
    /// Let the engine see the new snapshot: its automatic actions (when this process
    /// is the engine) and a fresh plan, answered as `Msg::Engine`, `Msg::Pending`,
    /// `Msg::Flash` and `Msg::Cleanup`.
    EngineSnapshot,
    /// Read and reconcile this VM's limits off the UI task; answered as `Msg::Limits`.
    ReadLimits(Uuid),
}

/// Apply one message.
pub fn update(s: &mut State, msg: Msg) -> Step {
    let changes = match &msg {
        // Decided once applied (below).
        Msg::Tick(_) | Msg::Snapshot { .. } | Msg::Rows { .. } => false,
        Msg::Cleanup(c) => s.cleanup.as_ref() != Some(c),
        Msg::Limits(l) => s.limits.view.as_ref() != Some(l),
        Msg::Engine {
            status,
            manage_all_vms,
        } => s.engine != *status || s.manage_all_vms != *manage_all_vms,
        _ => true,
    };
    let snapshot = matches!(msg, Msg::Snapshot { .. } | Msg::Rows { .. });
    let flash_expires = matches!(msg, Msg::Tick(_)) && s.flash.is_some();
    // What may show another VM in the detail pane, or age its limits.
    let selection = matches!(
        msg,
        Msg::Key(_)
            | Msg::Mouse(_)
            | Msg::Snapshot { .. }
            | Msg::Rows { .. }
            | Msg::Tick(_)
            | Msg::Resize(..)
    );
    let mut effects = react(s, msg);
    if selection {
        effects.extend(super::limits::due(s));
    }
    let redraw =
        changes || (snapshot && !s.snapshot_unchanged) || (flash_expires && s.flash.is_none());
    Step { effects, redraw }
}

fn react(s: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(k) => keys::on_key(s, k),
        Msg::Mouse(m) => {
            mouse::on_mouse(s, m);
            Vec::new()
        }
        Msg::Resize(w, h) => {
            s.size = (w, h);
            Vec::new()
        }
        Msg::Tick(now) => {
            s.now = now;
            if s.flash
                .as_ref()
                .is_some_and(|(_, at)| (now - *at).num_seconds() >= FLASH_SECONDS)
            {
                s.flash = None;
            }
            Vec::new()
        }
        Msg::Snapshot {
            host,
            vms,
            at,
            rtt_ms,
        } => {
            snapshot::on_snapshot(s, host, vms, at, rtt_ms);
            // The engine sees host 0, the one it runs for.
            if host == 0 {
                vec![Effect::EngineSnapshot]
            } else {
                Vec::new()
            }
        }
        Msg::Rows {
            host,
            vms,
            at,
            rtt_ms,
        } => {
            snapshot::on_rows(s, host, vms, at, rtt_ms);
            Vec::new()
        }
        Msg::PollFailed { host, error, at: _ } => {
            if let Some(h) = s.hosts.get_mut(usize::from(host)) {
                h.conn = ConnState::Stale(error);
                h.waiting_since = None;
            }
            Vec::new()
        }
        Msg::PollOverdue { host, since } => {
            if let Some(h) = s.hosts.get_mut(usize::from(host)) {
                h.waiting_since = Some(since);
            }
            Vec::new()
        }
        Msg::HostDown { host, error } => {
            if let Some(h) = s.hosts.get_mut(usize::from(host)) {
                h.conn = ConnState::Down(error);
            }
            Vec::new()
        }
        Msg::HostEngine { host, text } => {
            if let Some(h) = s.hosts.get_mut(usize::from(host)) {
                h.engine = text;
            }
            Vec::new()
        }
        Msg::HostMemory { host, text, low } => {
            if let Some(h) = s.hosts.get_mut(usize::from(host)) {
                h.memory = Some((text, low));
            }
            Vec::new()
        }
        Msg::ActionFinished {
            vm_id,
            action,
            status,
            text,
        } => {
            on_finished(s, &vm_id, &action, status, text);
            // From the key: the VM may be gone from the list (undefined).
            let host = super::hosts::host_of_key(&vm_id);
            vec![Effect::PollNow(host)]
        }
        Msg::Event(host, e) => on_event(s, host, e),
        Msg::Cleanup(c) => {
            s.cleanup = Some(c);
            Vec::new()
        }
        Msg::Limits(l) => {
            s.limits.view = Some(l);
            Vec::new()
        }
        Msg::CleanupPrepared {
            title,
            plan,
            request,
        } => on_prepared(s, title, plan, request),
        Msg::AutostartPrepared(Ok(mut lines)) => {
            lines.insert(
                0,
                "Start these VMs in this order (each waits for its dependencies):".into(),
            );
            let ask = plan::asks(s, Action::Autostart, None);
            let title = if s.many_hosts() {
                format!("Run the ordered autostart on {}?", s.host_name(0))
            } else {
                "Run the ordered autostart?".into()
            };
            act::gate(s, ask, title, lines, Then::Autostart)
        }
        Msg::AutostartPrepared(Err(why)) => {
            s.flash(format!("autostart cannot run: {why}"));
            Vec::new()
        }
        Msg::Progress(progress) => {
            let finished_at = (progress.done || progress.halted.is_some()).then_some(s.now);
            s.progress = Some(ProgressPane {
                progress,
                finished_at,
            });
            vec![Effect::PollNow(0)]
        }
        Msg::RecoverPrepared {
            vm_id,
            vm_name,
            lines: Ok(mut lines),
        } => {
            lines.insert(
                0,
                format!("Bring {vm_name} ({vm_id}) back to its recorded state:"),
            );
            let ask = plan::asks(s, Action::Recover, None);
            act::gate(
                s,
                ask,
                format!("Recover {vm_name}?"),
                lines,
                Then::Recover { vm_id, vm_name },
            )
        }
        Msg::RecoverPrepared {
            vm_name,
            lines: Err(why),
            ..
        } => {
            s.flash(format!("{vm_name}: {why}"));
            Vec::new()
        }
        Msg::Recovery(records) => {
            s.recovery = records;
            Vec::new()
        }
        Msg::Pending {
            vm_id,
            vm_name,
            action,
            text,
        } => {
            act::pending(s, &vm_id, &vm_name, &action, text);
            Vec::new()
        }
        Msg::Flash(text) => act::refuse(s, text),
        Msg::Engine {
            status,
            manage_all_vms,
        } => {
            s.engine = status;
            s.manage_all_vms = manage_all_vms;
            Vec::new()
        }
    }
}

/// A domain event means something changed: poll now instead of waiting for the timer.
/// Connection events change the header.
fn on_event(s: &mut State, host: u16, e: DomainEvent) -> Vec<Effect> {
    match e {
        DomainEvent::ConnectionLost { reason } => {
            if let Some(h) = s.hosts.get_mut(usize::from(host)) {
                h.conn = ConnState::Disconnected(reason);
            }
            Vec::new()
        }
        DomainEvent::Reconnected => {
            let text = if s.many_hosts() {
                format!("{} reconnected", s.host_name(host))
            } else {
                "reconnected".into()
            };
            s.flash(text);
            vec![Effect::PollNow(host)]
        }
        _ => vec![Effect::PollNow(host)],
    }
}

/// Turn a planned round into its confirmation: what will be cleaned, and why not the rest.
fn on_prepared(
    s: &mut State,
    title: String,
    plan: RoundPlan,
    request: RoundRequest,
) -> Vec<Effect> {
    if plan.commands.is_empty() {
        // Waiting for a person (require_confirmation): the key asks that confirmation.
        let parked: Vec<crate::model::VmRef> = plan
            .lines
            .iter()
            .filter(|l| l.state == VmCleanupState::AwaitingConfirmation)
            .filter(|l| request.only.as_ref().is_some_and(|o| o.contains(&l.vm_id)))
            .map(|l| crate::model::VmRef::new(l.vm_id.clone(), l.vm_name.clone()))
            .collect();
        if !parked.is_empty() {
            return act::confirm_these(s, parked);
        }
        let mut why = match &plan.held {
            Some(why) => format!("nothing to clean: {why}"),
            None => "nothing is due for cleanup".into(),
        };
        let blocked: Vec<String> = plan
            .lines
            .iter()
            .filter(|l| !matches!(l.state, VmCleanupState::Waiting))
            .map(|l| format!("{}: {}", l.vm_name, cleanup_line_text(l)))
            .collect();
        if !blocked.is_empty() {
            why.push_str(&format!(" ({})", blocked.join("; ")));
        }
        return act::refuse(s, why);
    }
    let dry = if plan.dry_run {
        " (dry run: journaled only)"
    } else {
        ""
    };
    let mut lines = vec![format!("These VMs will be cleaned up now{dry}:")];
    for c in &plan.commands {
        lines.push(format!("  {} ({}): {}", c.vm_name, c.vm_id, c.reason));
        lines.push(format!("    {}", c.op.describe()));
    }
    let waiting = plan
        .lines
        .iter()
        .filter(|l| matches!(l.state, VmCleanupState::Due { .. }))
        .count();
    if waiting > 0 {
        lines.push(format!(
            "{waiting} more due VM(s) wait for a later round (batch or concurrency limit)."
        ));
    }
    // One VM's cleanup (`c`) or a round (`C`): the spec of the one asked.
    let action = if request.only.is_some() {
        Action::Cleanup
    } else {
        Action::CleanupRound
    };
    let ask = plan::asks(s, action, None);
    act::gate(s, ask, title, lines, Then::CleanupRound(request))
}

/// A finished action's activity line: the result, with what was asked in front of it
/// (its pending text up to the reason: `engine: destroy ci-7`) when the result does not
/// name the VM, and the `engine:` of an engine's action kept.
pub(crate) fn finished_text(asked: &str, vm_name: &str, result: &str) -> String {
    let head = asked.split(" — ").next().unwrap_or(asked).trim_end();
    let names_vm = !vm_name.is_empty() && result.contains(vm_name);
    if head.is_empty() || result.starts_with(head) {
        result.to_string()
    } else if names_vm {
        match head.strip_prefix("engine: ") {
            Some(_) if !result.starts_with("engine:") => format!("engine: {result}"),
            _ => result.to_string(),
        }
    } else {
        format!("{head}: {result}")
    }
}

fn on_finished(s: &mut State, vm_id: &str, action: &str, status: ActivityStatus, text: String) {
    // With several hosts, the line says which one (a pending line already does).
    let host = match s.vms.iter().find(|v| v.key == vm_id) {
        Some(v) if s.many_hosts() => format!(" on {}", s.host_name(v.host)),
        _ => String::new(),
    };
    // The oldest pending line of this VM and action is the one that finished (the
    // executor runs one command per VM at a time, in order).
    let pending =
        s.activity.iter_mut().rev().find(|a| {
            a.vm_id == vm_id && a.action == action && a.status == ActivityStatus::Pending
        });
    match pending {
        Some(a) => {
            // What was asked stays on the line (who, what, which VM), then the result.
            a.text = finished_text(&a.text, &crate::format::escape(&a.vm_name), &text);
            a.status = status;
            a.at = s.now;
        }
        None => {
            let vm_name = s
                .vms
                .iter()
                .find(|v| v.key == vm_id)
                .map(|v| v.snapshot.vm_name.clone())
                .unwrap_or_default();
            let asked = format!("{action} {}{host}", crate::format::escape(&vm_name));
            let text = finished_text(&asked, &crate::format::escape(&vm_name), &text);
            s.push_activity(Activity {
                at: s.now,
                vm_id: vm_id.into(),
                vm_name,
                action: action.into(),
                status,
                text,
            });
        }
    }
    if !s
        .activity
        .iter()
        .any(|a| a.vm_id == vm_id && a.status == ActivityStatus::Pending)
    {
        s.busy.remove(vm_id);
    }
}
