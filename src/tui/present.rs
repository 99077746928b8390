//! Presentation shared by `update` and `view` (they do not import each other): the
//! words for cleanup states, the help overlay's lines and the popups' footers, all from
//! the spec table and the keymap. Like [`crate::format`], pure text.

use super::action::{self, Action, Mode};
use super::keymap::Keymap;
use crate::lifecycle::cleanup::VmCleanupState;

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

/// A cleanup line's status: its state, after `FAILED n×: why` when its last attempt
/// failed and it is tried again (`FAILED 2×: busy · retried in this round`).
pub fn cleanup_line_text(l: &crate::lifecycle::cleanup::VmCleanupLine) -> String {
    let Some(f) = &l.last_failure else {
        return cleanup_state_text(&l.state);
    };
    let then = match &l.state {
        VmCleanupState::Planned => "retried in this round".to_string(),
        VmCleanupState::InProgress => "retrying now".to_string(),
        VmCleanupState::AwaitingConfirmation => "retry awaits confirmation (y)".to_string(),
        VmCleanupState::Due { why } => format!("retried later — {why}"),
        st => cleanup_state_text(st),
    };
    format!("FAILED {}×: {} · {then}", f.attempts, f.error)
}

/// One line of the help overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpLine {
    Title(&'static str),
    Blank,
    Heading(&'static str),
    Entry {
        keys: String,
        label: &'static str,
        name: &'static str,
        /// When it asks first, if it does.
        note: Option<&'static str>,
    },
    /// A warning (read-only).
    Badge(&'static str),
    Text(&'static str),
}

/// The help overlay's scrolling lines: every bound action by group, in table order.
pub fn help_lines(keymap: &Keymap, readonly: bool) -> Vec<HelpLine> {
    let mut lines = vec![HelpLine::Title(
        "Keys (configurable in [keys] of the config file)",
    )];
    // First, so it is never scrolled away.
    if readonly {
        lines.push(HelpLine::Badge(
            "Read-only connection: VM actions are disabled.",
        ));
    }
    let mut group = |title: &'static str, pick: &dyn Fn(Action) -> bool| {
        let actions: Vec<Action> = keymap.actions().filter(|a| pick(*a)).collect();
        if actions.is_empty() {
            return;
        }
        lines.push(HelpLine::Blank);
        lines.push(HelpLine::Heading(title));
        lines.extend(actions.into_iter().map(|a| HelpLine::Entry {
            keys: keymap.keys_text(a),
            label: a.label(),
            name: a.name(),
            note: a.asks().note(),
        }));
    };
    let main = |a: Action| a.spec().works_in(Mode::Main);
    group("Navigate and view", &|a| main(a) && !a.is_mutating());
    group("VM actions", &|a| a.is_mutating());
    group("In popups, the filter, the prompts and the alerts", &|a| {
        !main(a)
    });
    lines.push(HelpLine::Blank);
    lines.push(HelpLine::Text(
        "Filter: words match names, or start a state, mode, IP or UUID. Esc clears.",
    ));
    lines
}

/// The help overlay's fixed last line: how to close and scroll it.
pub fn help_footer(keymap: &Keymap) -> String {
    let join = |actions: &[Action], sep: &str| {
        actions
            .iter()
            .map(|a| keymap.keys_text(*a))
            .filter(|k| !k.is_empty())
            .collect::<Vec<_>>()
            .join(sep)
    };
    let close = join(&[Action::CloseHelp, Action::Help], "/");
    let scroll = join(
        &[Action::Down, Action::Up, Action::PageDown, Action::PageUp],
        " ",
    );
    match (close.is_empty(), scroll.is_empty()) {
        (false, false) => format!("{close} close · {scroll} scroll"),
        (false, true) => format!("{close} close"),
        (true, false) => format!("{scroll} scroll"),
        (true, true) => String::new(),
    }
}

/// A popup's footer (confirm, input, filter): its keys and labels in hint order.
pub fn footer(keymap: &Keymap, mode: Mode) -> Vec<(Action, String, &'static str)> {
    action::hints(mode)
        .into_iter()
        .map(|a| (a, keymap.footer_keys(a), a.label()))
        .filter(|(_, keys, _)| !keys.is_empty())
        .collect()
}
