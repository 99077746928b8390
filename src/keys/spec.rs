//! Actions and their spec table: what a person asks the dashboard to do (intents).
//!
//! [`SPECS`] is the one table of every action: its config name, label, default keys,
//! the modes it works in, whether it changes a VM, whether it asks first, and where it
//! sits in the hints bar (or a popup's footer). Dispatch, the keymap, the hints bar, the
//! help overlay, the popup footers and the `--readonly` refusal all read it, so they
//! cannot disagree. Facts that arrive from outside (a key press, a snapshot, a result)
//! are the dashboard's messages (`tui::update::Msg`), not actions.

use serde::{Deserialize, Serialize};

/// A person's intent. Declared in [`SPECS`] order (a test checks it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Filter,
    Sort,
    ReverseSort,
    FocusNext,
    Detail,
    Back,
    Help,
    Quit,
    Start,
    Shutdown,
    Destroy,
    SuspendResume,
    Reboot,
    ManagedSave,
    ExtendTtl,
    ToggleMode,
    EditTtl,
    Cleanup,
    CleanupRound,
    ConfirmCleanups,
    Autostart,
    Recover,
    Alerts,
    CommandLine,
    Complete,
    Mark,
    MarkAll,
    AckAlert,
    AlertsOfVm,
    CloseHelp,
    Yes,
    No,
    KeepFilter,
    ClearFilter,
    Submit,
    Cancel,
    Erase,
}

/// What has the keyboard: each action works in some of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// The table and its panes.
    Main,
    /// The help overlay.
    Help,
    /// A confirmation popup.
    Confirm,
    /// The TTL prompt.
    Input,
    /// The filter being typed.
    Filter,
    /// The alerts view.
    Alerts,
    /// The `:` command line being typed.
    Command,
}

impl Mode {
    pub const ALL: [Mode; 7] = [
        Mode::Main,
        Mode::Help,
        Mode::Confirm,
        Mode::Input,
        Mode::Filter,
        Mode::Alerts,
        Mode::Command,
    ];
}

/// When an action asks for a yes before it acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asks {
    Never,
    Always,
    /// Only when it makes a permanent VM temporary (the other way is safe).
    ToTemporary,
    /// Only while actions of this dashboard still run (they would be cut off).
    WhileRunning,
}

impl Asks {
    /// The help overlay's note, if it asks at all.
    pub fn note(self) -> Option<&'static str> {
        match self {
            Asks::Never => None,
            Asks::Always => Some("(asks first)"),
            Asks::ToTemporary => Some("(asks first: to temporary)"),
            Asks::WhileRunning => Some("(asks first while actions run)"),
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub action: Action,
    /// The config file's name (`[keys]`), also shown in help.
    pub name: &'static str,
    /// A short label for the hints bar, footers and help.
    pub label: &'static str,
    /// The built-in keys.
    pub keys: &'static [&'static str],
    /// Where it works.
    pub modes: &'static [Mode],
    /// It changes a VM (or the engine's records): gone under `--readonly`.
    pub mutating: bool,
    /// Acts on the selected VM (none selected: refused).
    pub on_vm: bool,
    pub asks: Asks,
    /// Place in the hints bar (main) or in its popup's footer; `None`: only in help.
    pub hint: Option<u8>,
}

use Mode::{
    Alerts as L, Command as K, Confirm as C, Filter as F, Help as H, Input as I, Main as M,
};

const fn spec(action: Action, name: &'static str, label: &'static str) -> Spec {
    Spec {
        action,
        name,
        label,
        keys: &[],
        modes: &[M],
        mutating: false,
        on_vm: false,
        asks: Asks::Never,
        hint: None,
    }
}

impl Spec {
    const fn keys(mut self, keys: &'static [&'static str]) -> Spec {
        self.keys = keys;
        self
    }
    const fn modes(mut self, modes: &'static [Mode]) -> Spec {
        self.modes = modes;
        self
    }
    /// A VM action: mutating, on the selected VM.
    const fn vm(mut self) -> Spec {
        self.mutating = true;
        self.on_vm = true;
        self
    }
    const fn mutating(mut self) -> Spec {
        self.mutating = true;
        self
    }
    const fn asks(mut self, asks: Asks) -> Spec {
        self.asks = asks;
        self
    }
    const fn hint(mut self, at: u8) -> Spec {
        self.hint = Some(at);
        self
    }

    /// True when it works in `mode`.
    pub fn works_in(&self, mode: Mode) -> bool {
        self.modes.contains(&mode)
    }
}

/// Every action, in help-screen order (the order of [`Action`]'s variants).
pub const SPECS: &[Spec] = &[
    spec(Action::Up, "up", "up")
        .keys(&["k", "up"])
        .modes(&[M, H, C, L]),
    spec(Action::Down, "down", "down")
        .keys(&["j", "down"])
        .modes(&[M, H, C, L]),
    spec(Action::PageUp, "page_up", "page up")
        .keys(&["pgup"])
        .modes(&[M, H, C, L]),
    spec(Action::PageDown, "page_down", "page down")
        .keys(&["pgdn"])
        .modes(&[M, H, C, L]),
    spec(Action::Top, "top", "top")
        .keys(&["g", "home"])
        .modes(&[M, H, C, L]),
    spec(Action::Bottom, "bottom", "bottom")
        .keys(&["G", "end"])
        .modes(&[M, H, C, L]),
    spec(Action::Filter, "filter", "filter")
        .keys(&["/"])
        .hint(3),
    spec(Action::Sort, "sort", "sort").keys(&["s"]).hint(19),
    spec(Action::ReverseSort, "reverse_sort", "reverse")
        .keys(&["S"])
        .hint(20),
    spec(Action::FocusNext, "focus_next", "pane")
        .keys(&["tab"])
        .hint(21),
    spec(Action::Detail, "detail", "detail")
        .keys(&["enter"])
        .hint(4),
    spec(Action::Back, "back", "back").keys(&["esc"]),
    spec(Action::Help, "help", "help")
        .keys(&["?"])
        .modes(&[M, H])
        .hint(1),
    spec(Action::Quit, "quit", "quit")
        .keys(&["q"])
        .asks(Asks::WhileRunning)
        .hint(2),
    spec(Action::Start, "start", "start")
        .keys(&["u"])
        .vm()
        .hint(5),
    spec(Action::Shutdown, "shutdown", "shutdown")
        .keys(&["d"])
        .vm()
        .asks(Asks::Always)
        .hint(6),
    spec(Action::Destroy, "destroy", "destroy")
        .keys(&["D"])
        .vm()
        .asks(Asks::Always)
        .hint(7),
    spec(Action::SuspendResume, "suspend_resume", "pause/resume")
        .keys(&["p"])
        .vm()
        .hint(8),
    spec(Action::Reboot, "reboot", "reboot")
        .keys(&["R"])
        .vm()
        .asks(Asks::Always)
        .hint(9),
    spec(Action::ManagedSave, "managed_save", "save")
        .keys(&["m"])
        .vm()
        .asks(Asks::Always)
        .hint(10),
    spec(Action::ExtendTtl, "extend_ttl", "+ttl")
        .keys(&["+"])
        .vm()
        .hint(11),
    spec(Action::ToggleMode, "toggle_mode", "mode")
        .keys(&["t"])
        .vm()
        .asks(Asks::ToTemporary)
        .hint(13),
    spec(Action::EditTtl, "edit_ttl", "ttl")
        .keys(&["e"])
        .vm()
        .hint(12),
    spec(Action::Cleanup, "cleanup", "clean")
        .keys(&["c"])
        .vm()
        .asks(Asks::Always)
        .hint(14),
    spec(Action::CleanupRound, "cleanup_round", "round")
        .keys(&["C"])
        .mutating()
        .asks(Asks::Always)
        .hint(15),
    spec(Action::ConfirmCleanups, "confirm_cleanups", "confirm")
        .keys(&["y"])
        .mutating()
        .asks(Asks::Always)
        .hint(16),
    spec(Action::Autostart, "autostart", "autostart")
        .keys(&["a"])
        .mutating()
        .asks(Asks::Always)
        .hint(17),
    spec(Action::Recover, "recover", "recover")
        .keys(&["r"])
        .vm()
        .asks(Asks::Always)
        .hint(18),
    spec(Action::Alerts, "alerts", "alerts")
        .keys(&["A"])
        .modes(&[M, L])
        .hint(22),
    spec(Action::CommandLine, "command_line", "command")
        .keys(&[":"])
        .hint(24),
    spec(Action::Complete, "complete", "complete")
        .keys(&["tab"])
        .modes(&[K])
        .hint(3),
    spec(Action::Mark, "mark", "mark").keys(&["space"]).hint(23),
    spec(Action::MarkAll, "mark_all", "mark shown").keys(&["*"]),
    spec(Action::AckAlert, "ack_alert", "acknowledge")
        .keys(&["x"])
        .modes(&[L])
        .mutating()
        .hint(1),
    spec(Action::AlertsOfVm, "alerts_of_vm", "this VM / all")
        .keys(&["v"])
        .modes(&[L])
        .hint(2),
    spec(Action::CloseHelp, "close_help", "close")
        .keys(&["esc", "q", "enter"])
        .modes(&[H, L])
        .hint(3),
    spec(Action::Yes, "yes", "yes, do it")
        .keys(&["y", "Y"])
        .modes(&[C])
        .hint(1),
    spec(Action::No, "no", "no")
        .keys(&["n", "N", "esc", "q"])
        .modes(&[C])
        .hint(2),
    spec(Action::KeepFilter, "keep_filter", "keep")
        .keys(&["enter"])
        .modes(&[F])
        .hint(1),
    spec(Action::ClearFilter, "clear_filter", "clear")
        .keys(&["esc"])
        .modes(&[F])
        .hint(2),
    spec(Action::Submit, "submit", "ok")
        .keys(&["enter"])
        .modes(&[I, K])
        .hint(1),
    spec(Action::Cancel, "cancel", "cancel")
        .keys(&["esc"])
        .modes(&[I, K])
        .hint(2),
    spec(Action::Erase, "erase", "erase")
        .keys(&["backspace"])
        .modes(&[I, F, K]),
];

impl Action {
    /// Every action, in help order.
    pub fn all() -> impl Iterator<Item = Action> {
        SPECS.iter().map(|s| s.action)
    }

    /// Its row of [`SPECS`].
    pub fn spec(self) -> &'static Spec {
        &SPECS[self as usize]
    }

    /// The config file's name for it.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Parse a config name.
    pub fn from_name(name: &str) -> Option<Action> {
        SPECS.iter().find(|s| s.name == name).map(|s| s.action)
    }

    /// A short label for the hints bar and the help overlay.
    pub fn label(self) -> &'static str {
        self.spec().label
    }

    /// True for actions that change a VM: removed from the keymap under `--readonly`.
    pub fn is_mutating(self) -> bool {
        self.spec().mutating
    }

    /// When it asks first.
    pub fn asks(self) -> Asks {
        self.spec().asks
    }
}

/// The actions with a place in `mode`'s hints bar or footer, in that order.
pub fn hints(mode: Mode) -> Vec<Action> {
    let mut v: Vec<&Spec> = SPECS
        .iter()
        .filter(|s| s.hint.is_some() && s.works_in(mode))
        .collect();
    v.sort_by_key(|s| s.hint);
    v.into_iter().map(|s| s.action).collect()
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
