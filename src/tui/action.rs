//! Actions: what a person asks the dashboard to do (intents), named for the keymap.
//!
//! Each variant has a snake_case name used in the config file's `[keys]` table
//! (`destroy = ["D"]`) and in the help overlay. Facts that arrive from outside (a key
//! press, a snapshot, a result) are [`super::update::Msg`]s, not actions.

use serde::{Deserialize, Serialize};

/// A person's intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Select the previous row (or scroll the focused pane up).
    Up,
    /// Select the next row (or scroll the focused pane down).
    Down,
    PageUp,
    PageDown,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// Type a filter (name, state or mode).
    Filter,
    /// Next sort column.
    Sort,
    /// Reverse the sort order.
    ReverseSort,
    /// Move focus to the next pane.
    FocusNext,
    /// Show or hide the selected VM's detail pane.
    Detail,
    /// Show or hide the help overlay.
    Help,
    Quit,
    /// Start the selected VM.
    Start,
    /// Ask the selected VM's guest to shut down (confirmed).
    Shutdown,
    /// Hard power-off (confirmed).
    Destroy,
    /// Pause a running VM, resume a paused one.
    SuspendResume,
    /// Reboot (confirmed).
    Reboot,
    /// Save memory to disk and stop (confirmed when running).
    ManagedSave,
    /// Extend a temporary VM's TTL by the configured step.
    ExtendTtl,
    /// Permanent ↔ temporary (to temporary is confirmed).
    ToggleMode,
    /// Type a temporary VM's new expiry, in hours from now.
    EditTtl,
    /// Clean up the selected (expired, temporary) VM now (confirmed).
    Cleanup,
    /// Run a cleanup round now, honouring the policy (confirmed).
    CleanupRound,
    /// Confirm the cleanups parked by `require_confirmation` (confirmed).
    ConfirmCleanups,
    /// Run the ordered autostart sequence (confirmed).
    Autostart,
    /// Bring the selected VM back to its recorded state (confirmed).
    Recover,
}

impl Action {
    /// Every action, in help-screen order.
    pub const ALL: &'static [Action] = &[
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::Filter,
        Action::Sort,
        Action::ReverseSort,
        Action::FocusNext,
        Action::Detail,
        Action::Help,
        Action::Quit,
        Action::Start,
        Action::Shutdown,
        Action::Destroy,
        Action::SuspendResume,
        Action::Reboot,
        Action::ManagedSave,
        Action::ExtendTtl,
        Action::ToggleMode,
        Action::EditTtl,
        Action::Cleanup,
        Action::CleanupRound,
        Action::ConfirmCleanups,
        Action::Autostart,
        Action::Recover,
    ];

    /// The config file's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Filter => "filter",
            Action::Sort => "sort",
            Action::ReverseSort => "reverse_sort",
            Action::FocusNext => "focus_next",
            Action::Detail => "detail",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::Start => "start",
            Action::Shutdown => "shutdown",
            Action::Destroy => "destroy",
            Action::SuspendResume => "suspend_resume",
            Action::Reboot => "reboot",
            Action::ManagedSave => "managed_save",
            Action::ExtendTtl => "extend_ttl",
            Action::ToggleMode => "toggle_mode",
            Action::EditTtl => "edit_ttl",
            Action::Cleanup => "cleanup",
            Action::CleanupRound => "cleanup_round",
            Action::ConfirmCleanups => "confirm_cleanups",
            Action::Autostart => "autostart",
            Action::Recover => "recover",
        }
    }

    /// Parse a config name.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// A short label for the hints bar and the help overlay.
    pub fn label(self) -> &'static str {
        match self {
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Filter => "filter",
            Action::Sort => "sort",
            Action::ReverseSort => "reverse",
            Action::FocusNext => "pane",
            Action::Detail => "detail",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::Start => "start",
            Action::Shutdown => "shutdown",
            Action::Destroy => "destroy",
            Action::SuspendResume => "pause/resume",
            Action::Reboot => "reboot",
            Action::ManagedSave => "save",
            Action::ExtendTtl => "+ttl",
            Action::ToggleMode => "mode",
            Action::EditTtl => "ttl",
            Action::Cleanup => "clean",
            Action::CleanupRound => "round",
            Action::ConfirmCleanups => "confirm",
            Action::Autostart => "autostart",
            Action::Recover => "recover",
        }
    }

    /// True for actions that change a VM: removed from the keymap under `--readonly`.
    pub fn is_mutating(self) -> bool {
        matches!(
            self,
            Action::Start
                | Action::Shutdown
                | Action::Destroy
                | Action::SuspendResume
                | Action::Reboot
                | Action::ManagedSave
                | Action::ExtendTtl
                | Action::ToggleMode
                | Action::EditTtl
                | Action::Cleanup
                | Action::CleanupRound
                | Action::ConfirmCleanups
                | Action::Autostart
                | Action::Recover
        )
    }

    /// True for actions that can stop or hand over a VM: they always pass a
    /// confirmation (managed save and toggle mode only in the dangerous direction).
    pub fn is_dangerous(self) -> bool {
        matches!(
            self,
            Action::Shutdown
                | Action::Destroy
                | Action::Reboot
                | Action::ManagedSave
                | Action::ToggleMode
                | Action::Cleanup
                | Action::CleanupRound
                | Action::ConfirmCleanups
                | Action::Autostart
                | Action::Recover
        )
    }
}

/// The hints bar's actions, most useful first (a narrow terminal cuts the tail); the
/// navigation keys are only in help.
pub const HINTS: &[Action] = &[
    Action::Help,
    Action::Quit,
    Action::Filter,
    Action::Detail,
    Action::Start,
    Action::Shutdown,
    Action::Destroy,
    Action::SuspendResume,
    Action::Reboot,
    Action::ManagedSave,
    Action::ExtendTtl,
    Action::EditTtl,
    Action::ToggleMode,
    Action::Cleanup,
    Action::CleanupRound,
    Action::ConfirmCleanups,
    Action::Autostart,
    Action::Recover,
    Action::Sort,
    Action::ReverseSort,
    Action::FocusNext,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(*a));
            assert_eq!(
                serde_json::to_string(a).unwrap(),
                format!("\"{}\"", a.name())
            );
        }
    }
}
