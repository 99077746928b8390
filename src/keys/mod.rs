//! The dashboard's key vocabulary, below both the config and the TUI: the action spec
//! table ([`spec::SPECS`]: every action's name, label, default keys, modes, whether it
//! changes a VM, whether it asks first, its place in the hints bar), the key syntax of
//! the config's `[keys]` section ([`KeyChord`]), and [`resolve`], which applies the
//! config's entries to the defaults and checks them.
//!
//! ```toml
//! [keys]
//! destroy = ["X"]      # replaces destroy's keys
//! reboot = []          # unbinds reboot
//! help = ["?", "f1"]
//! ```
//!
//! A bad entry is an error naming it (`keys.destroyy: unknown action`), found when the
//! config loads, for every command. The dashboard builds its keymap (keys → actions per
//! mode) from [`resolve`]'s table and maps terminal events to [`KeyChord`]s. Pure data:
//! no terminal library here.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// A key without modifiers: what the config can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCode {
    /// A printable character (Shift is in the character: `G`, `+`).
    Char(char),
    Enter,
    Tab,
    /// Shift-Tab.
    BackTab,
    Esc,
    Backspace,
    Delete,
    Insert,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    /// F1 to F12.
    F(u8),
}

/// A key as the config names it: the code plus Ctrl/Alt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyChord {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl KeyChord {
    /// Ctrl-C always quits, whatever the config says: a way out must not be
    /// configurable away.
    pub const CTRL_C: KeyChord = KeyChord {
        code: KeyCode::Char('c'),
        ctrl: true,
        alt: false,
    };

    /// A plain key.
    pub const fn plain(code: KeyCode) -> KeyChord {
        KeyChord {
            code,
            ctrl: false,
            alt: false,
        }
    }

    /// Parse `j`, `G`, `ctrl-c`, `alt-x`, `enter`, `pgup`, `f5`, `space`, `+`.
    pub fn parse(s: &str) -> Result<KeyChord, String> {
        let bad = || {
            format!("{s:?} is not a key (examples: \"j\", \"G\", \"ctrl-c\", \"enter\", \"pgdn\", \"f5\")")
        };
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if lower.starts_with("ctrl-") && rest.len() > 5 {
                ctrl = true;
                rest = &rest[5..];
            } else if lower.starts_with("alt-") && rest.len() > 4 {
                alt = true;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_control() && c != ' ' => {
                // Ctrl combinations arrive lower-case from terminals.
                KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c })
            }
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "tab" => KeyCode::Tab,
                "backtab" | "shift-tab" => KeyCode::BackTab,
                "esc" | "escape" => KeyCode::Esc,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "insert" | "ins" => KeyCode::Insert,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pgdown" | "pagedown" => KeyCode::PageDown,
                f if f.starts_with('f') => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=12) => KeyCode::F(n),
                    _ => return Err(bad()),
                },
                _ => return Err(bad()),
            },
        };
        Ok(KeyChord { code, ctrl, alt })
    }
}

impl fmt::Display for KeyChord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        fmt::Display::fmt(&self.code, f)
    }
}

impl fmt::Display for KeyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("del"),
            KeyCode::Insert => f.write_str("ins"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::F(n) => write!(f, "f{n}"),
        }
    }
}

pub mod spec;

use spec::{Action, SPECS};

/// Each action's keys, in [`SPECS`] order: the defaults with the config's `[keys]`
/// applied. Ctrl-C is not in it; it always quits.
pub type Bindings = Vec<(Action, Vec<KeyChord>)>;

/// The defaults with `overrides` applied. Two actions may share a key only when they
/// never work in the same mode (`q` quits the table and cancels a confirmation).
/// Errors name the entry: `keys.destroyy: unknown action`, `keys.destroy: j is already
/// bound to down`, `keys.start: ctrl-c is reserved for quit`.
pub fn resolve(overrides: &BTreeMap<String, Vec<String>>) -> Result<Bindings, String> {
    let mut table: Bindings = Vec::with_capacity(SPECS.len());
    for s in SPECS {
        let keys = s
            .keys
            .iter()
            .map(|k| KeyChord::parse(k))
            .collect::<Result<Vec<_>, _>>()?;
        table.push((s.action, keys));
    }
    for (name, keys) in overrides {
        let Some(slot) = table.iter_mut().find(|(a, _)| a.name() == name) else {
            let known: Vec<&str> = SPECS.iter().map(|s| s.name).collect();
            return Err(format!(
                "keys.{name}: unknown action (known: {})",
                known.join(", ")
            ));
        };
        slot.1 = keys
            .iter()
            .map(|k| KeyChord::parse(k).map_err(|e| format!("keys.{name}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
    }
    let mut by_key: HashMap<(spec::Mode, KeyChord), Action> = HashMap::new();
    for (action, keys) in &table {
        for key in keys {
            if *key == KeyChord::CTRL_C && *action != Action::Quit {
                return Err(format!(
                    "keys.{}: ctrl-c is reserved for quit",
                    action.name()
                ));
            }
            for mode in action.spec().modes {
                let Some(other) = by_key.insert((*mode, *key), *action) else {
                    continue;
                };
                if other != *action {
                    // Name the entry the config wrote, not the default it collides with.
                    let (bad, good) = if overrides.contains_key(action.name()) {
                        (*action, other)
                    } else {
                        (other, *action)
                    };
                    return Err(format!(
                        "keys.{}: {key} is already bound to {}",
                        bad.name(),
                        good.name()
                    ));
                }
            }
        }
    }
    Ok(table)
}

#[cfg(test)]
mod tests;
