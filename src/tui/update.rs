//! `update`: the only code that changes the dashboard's [`State`].
//!
//! Messages are facts (a key was pressed, a snapshot arrived, an action finished);
//! `update` turns them into state changes and [`Effect`]s that the runtime performs.
//! Dangerous actions go `Action` → [`Popup::Confirm`] → yes → `Effect::Execute`; nothing
//! reaches the executor from a single key press.

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use super::keymap::Key;
use super::state::{
    Activity, ActivityStatus, CleanupView, Confirm, Input, Link, Pane, Popup, ProgressPane, State,
    Then, CPU_HISTORY, FLASH_SECONDS,
};
use super::view::layout::table_viewport;
use crate::hypervisor::DomainEvent;
use crate::lifecycle::autostart::Progress as AutostartProgress;
use crate::lifecycle::cleanup::{RoundPlan, RoundRequest, VmCleanupState};
use crate::lifecycle::{edit, Command, Op, TtlStatus};
use crate::model::{PersistenceMode, VmState};
use crate::poll::VmView;
use std::collections::HashMap;

/// A fact the dashboard reacts to.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Resize(u16, u16),
    /// The clock moved (host time for countdowns).
    Tick(DateTime<Utc>),
    /// A poll succeeded.
    Snapshot {
        vms: Vec<VmView>,
        at: DateTime<Utc>,
    },
    /// A poll failed; the last snapshot stays, marked stale.
    PollFailed {
        error: String,
        at: DateTime<Utc>,
    },
    /// An action the executor ran has ended.
    ActionFinished {
        vm_id: String,
        action: String,
        status: ActivityStatus,
        text: String,
    },
    /// A libvirt domain or connection event.
    Event(DomainEvent),
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
        vm_id: String,
        vm_name: String,
        lines: Result<Vec<String>, String>,
    },
    /// The recovery records, as detail-pane lines by VM UUID.
    Recovery(HashMap<String, Vec<String>>),
}

/// A side effect for the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Hand a command to the executor.
    Execute(Command),
    /// Poll again now (after an action changed something).
    PollNow,
    /// Plan a cleanup round for this request and answer with `Msg::CleanupPrepared`.
    PrepareCleanup {
        title: String,
        request: RoundRequest,
    },
    /// Run a confirmed cleanup round.
    RunCleanup(RoundRequest),
    /// Record a person's confirmation of parked cleanups (UUID, name).
    ConfirmParked(Vec<(String, String)>),
    /// Plan the ordered autostart and answer with `Msg::AutostartPrepared`.
    PrepareAutostart,
    /// Run the confirmed ordered autostart; progress comes as `Msg::Progress`.
    RunAutostart,
    /// Plan recovering a VM and answer with `Msg::RecoverPrepared`.
    PrepareRecover { vm_id: String, vm_name: String },
    /// Recover a VM (confirmed); the result comes as `Msg::ActionFinished`.
    RunRecover { vm_id: String, vm_name: String },
    /// Ctrl-Z: give the terminal back to the shell and stop (job control); on `fg`,
    /// take it again and redraw.
    Suspend,
}

/// Apply one message.
pub fn update(s: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(k) => on_key(s, k),
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
        Msg::Snapshot { vms, at } => {
            on_snapshot(s, vms, at);
            Vec::new()
        }
        Msg::PollFailed { error, at: _ } => {
            s.link = Link::Stale(error);
            Vec::new()
        }
        Msg::ActionFinished {
            vm_id,
            action,
            status,
            text,
        } => {
            on_finished(s, &vm_id, &action, status, text);
            vec![Effect::PollNow]
        }
        Msg::Event(e) => on_event(s, e),
        Msg::Cleanup(c) => {
            s.cleanup = Some(c);
            Vec::new()
        }
        Msg::CleanupPrepared {
            title,
            plan,
            request,
        } => {
            on_prepared(s, title, plan, request);
            Vec::new()
        }
        Msg::AutostartPrepared(Ok(mut lines)) => {
            lines.insert(
                0,
                "Start these VMs in this order (each waits for its dependencies):".into(),
            );
            s.popup = Some(Popup::Confirm(Confirm {
                title: "Run the ordered autostart?".into(),
                lines,
                then: Then::Autostart,
            }));
            Vec::new()
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
            vec![Effect::PollNow]
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
            s.popup = Some(Popup::Confirm(Confirm {
                title: format!("Recover {vm_name}?"),
                lines,
                then: Then::Recover { vm_id, vm_name },
            }));
            Vec::new()
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
    }
}

/// A domain event means something changed: poll now instead of waiting for the timer.
/// Connection events change the header.
fn on_event(s: &mut State, e: DomainEvent) -> Vec<Effect> {
    match e {
        DomainEvent::ConnectionLost { reason } => {
            s.link = Link::Disconnected(reason);
            Vec::new()
        }
        DomainEvent::Reconnected => {
            s.flash("reconnected".into());
            vec![Effect::PollNow]
        }
        _ => vec![Effect::PollNow],
    }
}

/// Turn a planned round into its confirmation: what will be cleaned, and why not the rest.
fn on_prepared(s: &mut State, title: String, plan: RoundPlan, request: RoundRequest) {
    if plan.commands.is_empty() {
        let mut why = match &plan.held {
            Some(why) => format!("nothing to clean: {why}"),
            None => "nothing is due for cleanup".into(),
        };
        let blocked: Vec<String> = plan
            .lines
            .iter()
            .filter(|l| !matches!(l.state, VmCleanupState::Waiting))
            .map(|l| format!("{}: {}", l.vm_name, cleanup_state_text(&l.state)))
            .collect();
        if !blocked.is_empty() {
            why.push_str(&format!(" ({})", blocked.join("; ")));
        }
        s.flash(why);
        return;
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
    s.popup = Some(Popup::Confirm(Confirm {
        title,
        lines,
        then: Then::CleanupRound(request),
    }));
}

/// The cleanup pane's words for a state.
pub fn cleanup_state_text(st: &VmCleanupState) -> String {
    match st {
        VmCleanupState::Waiting => "waiting".into(),
        VmCleanupState::Manual => "manual (auto_cleanup = false)".into(),
        VmCleanupState::Planned => "due now".into(),
        VmCleanupState::Due { why } => format!("due — {why}"),
        VmCleanupState::AwaitingConfirmation => "awaiting confirmation (y)".into(),
        VmCleanupState::InProgress => "in progress".into(),
        VmCleanupState::Failed { attempts, error } => format!("FAILED {attempts}×: {error}"),
    }
}

fn on_snapshot(s: &mut State, vms: Vec<VmView>, at: DateTime<Utc>) {
    for v in &vms {
        if let Some(cpu) = v.snapshot.cpu_usage_percent {
            let h = s.cpu_history.entry(v.uuid.clone()).or_default();
            h.push_back(cpu.round() as u64);
            while h.len() > CPU_HISTORY {
                h.pop_front();
            }
        }
    }
    let present: std::collections::HashSet<&str> = vms.iter().map(|v| v.uuid.as_str()).collect();
    s.cpu_history
        .retain(|uuid, _| present.contains(uuid.as_str()));
    s.snapshot_unchanged = s.link == Link::Live
        && s.vms.len() == vms.len()
        && s.vms.iter().zip(&vms).all(|(a, b)| a.same_content(b));
    s.set_vms(vms);
    s.link = Link::Live;
    s.snapshot_at = Some(at);
}

fn on_finished(s: &mut State, vm_id: &str, action: &str, status: ActivityStatus, text: String) {
    // The oldest pending line of this VM and action is the one that finished (the
    // executor runs one command per VM at a time, in order).
    let pending =
        s.activity.iter_mut().rev().find(|a| {
            a.vm_id == vm_id && a.action == action && a.status == ActivityStatus::Pending
        });
    match pending {
        Some(a) => {
            a.status = status;
            a.text = text;
            a.at = s.now;
        }
        None => {
            let vm_name = s
                .vms
                .iter()
                .find(|v| v.uuid == vm_id)
                .map(|v| v.snapshot.vm_name.clone())
                .unwrap_or_default();
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

fn on_key(s: &mut State, k: KeyEvent) -> Vec<Effect> {
    let key = Key::from_event(&k);
    if key.ctrl && key.code == KeyCode::Char('c') {
        s.should_quit = true;
        return Vec::new();
    }
    if key.ctrl && key.code == KeyCode::Char('z') {
        return vec![Effect::Suspend];
    }
    match s.popup.take() {
        Some(Popup::Help) => {
            // Any of these closes help; other keys keep it open.
            if !matches!(
                k.code,
                KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter
            ) {
                s.popup = Some(Popup::Help);
            }
            return Vec::new();
        }
        Some(Popup::Input(input)) => return on_input_key(s, input, k),
        Some(Popup::Confirm(c)) => {
            return match k.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => match c.then {
                    Then::Execute(cmd) => execute(s, cmd),
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
                },
                KeyCode::Esc | KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Char('q') => {
                    s.flash(format!("cancelled: {}", c.title));
                    Vec::new()
                }
                _ => {
                    // Only y confirms: Enter or a stray key must not destroy a VM.
                    s.popup = Some(Popup::Confirm(c));
                    Vec::new()
                }
            };
        }
        None => {}
    }
    if s.filter_editing {
        match k.code {
            KeyCode::Enter => s.filter_editing = false,
            KeyCode::Esc => {
                s.filter_editing = false;
                s.filter.clear();
                s.refresh_rows();
            }
            KeyCode::Backspace => {
                s.filter.pop();
                s.refresh_rows();
            }
            KeyCode::Char(c)
                if !k
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                s.filter.push(c);
                s.refresh_rows();
            }
            _ => {}
        }
        return Vec::new();
    }
    if k.code == KeyCode::Esc {
        if !s.filter.is_empty() {
            s.filter.clear();
            s.refresh_rows();
        } else if s.show_detail {
            s.show_detail = false;
            s.focus = Pane::Table;
        }
        return Vec::new();
    }
    match s.keymap.action(key) {
        Some(a) => apply(s, a),
        None => Vec::new(),
    }
}

/// Perform one action.
pub fn apply(s: &mut State, a: Action) -> Vec<Effect> {
    // The keymap already lacks these under --readonly; this guards every other path.
    if s.readonly && a.is_mutating() {
        s.flash("read-only connection: actions are disabled".into());
        return Vec::new();
    }
    match a {
        Action::Up => scroll(s, -1),
        Action::Down => scroll(s, 1),
        Action::PageUp => scroll(s, -page(s)),
        Action::PageDown => scroll(s, page(s)),
        Action::Top => scroll(s, i64::MIN / 2),
        Action::Bottom => scroll(s, i64::MAX / 2),
        Action::Filter => {
            s.filter_editing = true;
            s.focus = Pane::Table;
        }
        Action::Sort => {
            s.sort = s.sort.next();
            s.refresh_rows();
        }
        Action::ReverseSort => {
            s.sort_reverse = !s.sort_reverse;
            s.refresh_rows();
        }
        Action::FocusNext => {
            s.focus = match s.focus {
                Pane::Table if s.show_detail || wide(s) => Pane::Detail,
                Pane::Table | Pane::Detail => Pane::Activity,
                Pane::Activity => Pane::Table,
            };
        }
        Action::Detail => {
            s.show_detail = !s.show_detail;
            s.detail_scroll = 0;
            if !s.show_detail && s.focus == Pane::Detail {
                s.focus = Pane::Table;
            }
        }
        Action::Help => s.popup = Some(Popup::Help),
        Action::Quit => quit(s),
        Action::CleanupRound => {
            return vec![Effect::PrepareCleanup {
                title: "Run a cleanup round now?".into(),
                request: RoundRequest {
                    manual: true,
                    ignore_window: false,
                    only: None,
                },
            }];
        }
        Action::ConfirmCleanups => return confirm_parked(s),
        Action::Autostart => return vec![Effect::PrepareAutostart],
        _ => return vm_action(s, a),
    }
    Vec::new()
}

/// `q`: quit at once, or ask first while actions of this dashboard still run (they
/// would be cut off).
fn quit(s: &mut State) {
    let n = s.running_actions();
    if n == 0 {
        s.should_quit = true;
        return;
    }
    s.popup = Some(Popup::Confirm(Confirm {
        title: format!("{n} action(s) still running: quit anyway?"),
        lines: vec![
            format!("{n} action(s) of this dashboard have not finished."),
            "Quitting now may cut them off before they finish.".into(),
            "y quits, n or Esc keeps the dashboard open.".into(),
        ],
        then: Then::Quit,
    }));
}

/// True when the layout shows the detail pane beside the table without asking.
fn wide(s: &State) -> bool {
    super::view::layout::detail_beside(s.size)
}

fn page(s: &State) -> i64 {
    i64::from(table_viewport(s.size, s.show_detail).max(1))
}

fn scroll(s: &mut State, by: i64) {
    match s.focus {
        Pane::Table => {
            let last = s.rows.len().saturating_sub(1) as i64;
            let row = (s.selected_row() as i64)
                .saturating_add(by)
                .clamp(0, last.max(0));
            s.select_row(row as usize);
            s.detail_scroll = 0;
        }
        Pane::Detail => {
            s.detail_scroll =
                (i64::from(s.detail_scroll) + by).clamp(0, i64::from(u16::MAX)) as u16;
        }
        Pane::Activity => {
            let last = s.activity.len().saturating_sub(1) as i64;
            s.activity_scroll = (s.activity_scroll as i64)
                .saturating_add(by)
                .clamp(0, last.max(0)) as usize;
        }
    }
}

/// An action on the selected VM: refused with a flash when it does not apply, confirmed
/// when dangerous, else executed.
fn vm_action(s: &mut State, a: Action) -> Vec<Effect> {
    let Some(vm) = s.selected_vm().cloned() else {
        s.flash("no VM selected".into());
        return Vec::new();
    };
    let name = vm.snapshot.vm_name.clone();
    let state = vm.snapshot.vm_state;
    let active = matches!(
        state,
        VmState::Running | VmState::Paused | VmState::Starting | VmState::Stopping
    );
    let cmd = |op: Op| {
        Command::new(
            vm.uuid.clone(),
            name.clone(),
            op,
            "asked from the dashboard",
        )
    };
    let confirm = |title: String, lines: Vec<String>, op: Op| {
        Popup::Confirm(Confirm {
            title,
            lines,
            then: Then::Execute(cmd(op)),
        })
    };
    let who = format!("{name} ({})", vm.uuid);
    let popup = match a {
        Action::Start => {
            if active {
                return refuse(s, format!("{name} is already {state}"));
            }
            return execute(s, cmd(Op::Start));
        }
        Action::SuspendResume => {
            return match state {
                VmState::Running => execute(s, cmd(Op::Suspend)),
                VmState::Paused => execute(s, cmd(Op::Resume)),
                _ => refuse(s, format!("{name} is {state}: nothing to pause or resume")),
            };
        }
        Action::Shutdown => {
            if !active {
                return refuse(s, format!("{name} is {state}"));
            }
            confirm(
                format!("Shut down {name}?"),
                vec![
                    format!("Ask the guest of {who} to shut down (ACPI)."),
                    "The guest decides; one without ACPI support keeps running.".into(),
                ],
                Op::Shutdown,
            )
        }
        Action::Destroy => {
            if !active {
                return refuse(s, format!("{name} is {state}: nothing to destroy"));
            }
            confirm(
                format!("DESTROY {name}?"),
                vec![
                    format!("Hard power-off of {who}: like pulling the plug."),
                    "Whatever the guest has not written to disk is lost.".into(),
                    "The domain stays defined; start it again with the start key.".into(),
                ],
                Op::Destroy,
            )
        }
        Action::Reboot => {
            if state != VmState::Running {
                return refuse(s, format!("{name} is {state}: only a running VM reboots"));
            }
            confirm(
                format!("Reboot {name}?"),
                vec![format!("Ask the guest of {who} to reboot (ACPI).")],
                Op::Reboot,
            )
        }
        Action::ManagedSave => {
            if !active {
                return refuse(s, format!("{name} is {state}: nothing to save"));
            }
            confirm(
                format!("Save and stop {name}?"),
                vec![
                    format!("Write the memory of {who} to disk and stop it."),
                    "Its services are down until it is started again (it resumes where it was)."
                        .into(),
                ],
                Op::ManagedSave,
            )
        }
        Action::ExtendTtl => {
            let Some(p) = vm.persistence() else {
                return refuse(
                    s,
                    format!("{name}: invalid policy; fix it with `vmlife set {name} --reset`"),
                );
            };
            if p.mode == PersistenceMode::Permanent {
                return refuse(s, format!("{name} is permanent: no TTL to extend"));
            }
            return execute(
                s,
                cmd(Op::ExtendTtl {
                    hours: s.extend_step_hours,
                }),
            );
        }
        Action::Recover => {
            return vec![Effect::PrepareRecover {
                vm_id: vm.uuid.clone(),
                vm_name: name,
            }];
        }
        Action::Cleanup => {
            let Some(p) = vm.persistence() else {
                return refuse(s, format!("{name}: invalid policy; never cleaned up"));
            };
            if p.mode == PersistenceMode::Permanent {
                return refuse(
                    s,
                    format!("{name} is permanent: never cleaned up (destroy it explicitly)"),
                );
            }
            if !matches!(s.ttl(&vm), Some(TtlStatus::Expired { .. })) {
                return refuse(
                    s,
                    format!(
                        "{name} has not expired (TTL {}): extend or destroy it instead",
                        crate::format::ttl(s.ttl(&vm))
                    ),
                );
            }
            // A person asking for this one VM may act outside the window.
            return vec![Effect::PrepareCleanup {
                title: format!("Clean up {name}?"),
                request: RoundRequest {
                    manual: true,
                    ignore_window: true,
                    only: Some([vm.uuid.clone()].into()),
                },
            }];
        }
        Action::EditTtl => {
            let Some(p) = vm.persistence() else {
                return refuse(
                    s,
                    format!("{name}: invalid policy; fix it with `vmlife set {name} --reset`"),
                );
            };
            if p.mode == PersistenceMode::Permanent {
                return refuse(
                    s,
                    format!("{name} is permanent: no TTL (press t to make it temporary)"),
                );
            }
            let left = s
                .ttl(&vm)
                .and_then(TtlStatus::remaining_seconds)
                .unwrap_or(0);
            let hours = (left.max(0) as f64 / 3600.0).ceil().max(1.0);
            Popup::Input(Input {
                title: format!("TTL of {name}"),
                prompt: format!(
                    "Expire {name} in how many hours from now? (now {})",
                    crate::format::ttl(s.ttl(&vm))
                ),
                text: format!("{hours}"),
                error: None,
                vm_id: vm.uuid.clone(),
                vm_name: name.clone(),
            })
        }
        Action::ToggleMode => {
            let Ok(meta) = vm.meta.as_ref() else {
                return refuse(
                    s,
                    format!("{name}: invalid policy; fix it with `vmlife set {name} --reset`"),
                );
            };
            match meta.persistence.mode {
                PersistenceMode::Temporary => {
                    return execute(
                        s,
                        cmd(Op::SetMode {
                            mode: PersistenceMode::Permanent,
                        }),
                    );
                }
                PersistenceMode::Permanent => {
                    let now = s.now.timestamp();
                    let mut lines = vec![format!(
                        "{who} becomes temporary with a TTL of {}h (auto_cleanup = {}).",
                        meta.persistence.ttl_hours, meta.persistence.auto_cleanup
                    )];
                    if edit::temporary_would_be_expired(meta, vm.first_seen_unix, now) {
                        lines.push("It is ALREADY EXPIRED: the next cleanup round may destroy and undefine it.".into());
                    } else {
                        lines
                            .push("When the TTL ends, cleanup may destroy and undefine it.".into());
                    }
                    confirm(
                        format!("Make {name} temporary?"),
                        lines,
                        Op::SetMode {
                            mode: PersistenceMode::Temporary,
                        },
                    )
                }
            }
        }
        _ => return Vec::new(),
    };
    s.popup = Some(popup);
    Vec::new()
}

/// `y`: list the cleanups parked by `require_confirmation` and ask.
fn confirm_parked(s: &mut State) -> Vec<Effect> {
    let parked: Vec<(String, String)> = s
        .cleanup
        .iter()
        .flat_map(|c| c.lines.iter())
        .filter(|l| l.state == VmCleanupState::AwaitingConfirmation)
        .map(|l| (l.vm_id.clone(), l.vm_name.clone()))
        .collect();
    if parked.is_empty() {
        s.flash("no cleanup is awaiting confirmation".into());
        return Vec::new();
    }
    let mut lines =
        vec!["Confirm the cleanup of these expired VMs (they run in the next round):".to_string()];
    lines.extend(
        parked
            .iter()
            .map(|(uuid, name)| format!("  {name} ({uuid})")),
    );
    s.popup = Some(Popup::Confirm(Confirm {
        title: format!("Confirm {} parked cleanup(s)?", parked.len()),
        lines,
        then: Then::ConfirmParked(parked),
    }));
    Vec::new()
}

/// Keys while the TTL prompt is open: digits and a dot edit, Enter submits, Esc cancels.
fn on_input_key(s: &mut State, mut input: Input, k: KeyEvent) -> Vec<Effect> {
    match k.code {
        KeyCode::Esc => {
            s.flash(format!("cancelled: {}", input.title));
            return Vec::new();
        }
        KeyCode::Enter => match parse_hours(&input.text) {
            Ok(hours) => {
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
                return execute(s, cmd);
            }
            Err(e) => input.error = Some(e),
        },
        KeyCode::Backspace => {
            input.text.pop();
            input.error = None;
        }
        KeyCode::Char(c) if (c.is_ascii_digit() || c == '.') && input.text.len() < 12 => {
            input.text.push(c);
            input.error = None;
        }
        _ => {}
    }
    s.popup = Some(Popup::Input(input));
    Vec::new()
}

/// Hours from the prompt: a positive number.
fn parse_hours(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(h) if h.is_finite() && h > 0.0 && h <= 24.0 * 365.0 * 10.0 => Ok(h),
        _ => Err(format!("{text:?} is not a number of hours (more than 0)")),
    }
}

fn refuse(s: &mut State, why: String) -> Vec<Effect> {
    s.flash(why);
    Vec::new()
}

/// Record a pending activity and hand the command to the executor.
fn execute(s: &mut State, c: Command) -> Vec<Effect> {
    let text = format!("{} {}", c.op.describe(), c.vm_name);
    pending(s, &c.vm_id, &c.vm_name, c.op.name(), text);
    vec![Effect::Execute(c)]
}

/// Show an action as running on a VM until its result arrives.
fn pending(s: &mut State, vm_id: &str, vm_name: &str, action: &str, text: String) {
    s.busy.insert(vm_id.to_string());
    s.push_activity(Activity {
        at: s.now,
        vm_id: vm_id.into(),
        vm_name: vm_name.into(),
        action: action.into(),
        status: ActivityStatus::Pending,
        text,
    });
}
