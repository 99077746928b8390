//! The keymap: one table from keys to actions that drives dispatch, the hints bar and
//! the help overlay (its reverse map), so they can never disagree.
//!
//! Defaults come from the spec table ([`super::action::SPECS`]); each mode is its own
//! layer. The config file's `[keys]` table replaces an action's keys
//! (`destroy = ["X"]`, `reboot = []` unbinds). A bad entry is an error naming it, found
//! before the terminal is touched. Under `--readonly` every mutating action is removed.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, Mode, SPECS};

/// A key as the keymap sees it: the code plus Ctrl/Alt (Shift is in the character).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    /// A plain key.
    pub const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }

    /// From a terminal key event, normalised (Shift folded into the character).
    pub fn from_event(e: &KeyEvent) -> Key {
        Key {
            code: e.code,
            ctrl: e.modifiers.contains(KeyModifiers::CONTROL),
            alt: e.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Parse `j`, `G`, `ctrl-c`, `alt-x`, `enter`, `pgup`, `f5`, `space`, `+`.
    pub fn parse(s: &str) -> Result<Key, String> {
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
        Ok(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
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
            other => write!(f, "{other:?}"),
        }
    }
}

/// The built-in bindings: the keys column of [`SPECS`].
pub fn default_bindings() -> Vec<(Action, Vec<&'static str>)> {
    SPECS.iter().map(|s| (s.action, s.keys.to_vec())).collect()
}

/// Ctrl-C always quits, whatever the config says: a way out must not be configurable away.
const CTRL_C: Key = Key {
    code: KeyCode::Char('c'),
    ctrl: true,
    alt: false,
};

/// Keys → actions per mode (each mode is its own layer: `q` quits the table and
/// cancels a confirmation), and actions → keys for hints, footers and help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    by_key: HashMap<(Mode, Key), Action>,
    by_action: BTreeMap<Action, Vec<Key>>,
}

impl Keymap {
    /// The defaults with `overrides` (the config's `[keys]`) applied; mutating actions
    /// dropped when `readonly`. Errors name the entry: `keys.destroyy: unknown action`.
    /// Two actions may share a key only when they never work in the same mode.
    pub fn build(
        overrides: &BTreeMap<String, Vec<String>>,
        readonly: bool,
    ) -> Result<Keymap, String> {
        let mut table: BTreeMap<Action, Vec<Key>> = BTreeMap::new();
        for (action, keys) in default_bindings() {
            let keys = keys
                .iter()
                .map(|k| Key::parse(k))
                .collect::<Result<Vec<_>, _>>()?;
            table.insert(action, keys);
        }
        for (name, keys) in overrides {
            let action = Action::from_name(name).ok_or_else(|| {
                let known: Vec<&str> = Action::all().map(|a| a.name()).collect();
                format!("keys.{name}: unknown action (known: {})", known.join(", "))
            })?;
            let parsed = keys
                .iter()
                .map(|k| Key::parse(k).map_err(|e| format!("keys.{name}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            table.insert(action, parsed);
        }
        if readonly {
            table.retain(|a, _| !a.is_mutating());
        }
        let mut by_key = HashMap::new();
        for (action, keys) in &table {
            for key in keys {
                if *key == CTRL_C && *action != Action::Quit {
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
        by_key.insert((Mode::Main, CTRL_C), Action::Quit);
        Ok(Keymap {
            by_key,
            by_action: table,
        })
    }

    /// The action a key is bound to in `mode`.
    pub fn action(&self, mode: Mode, key: Key) -> Option<Action> {
        self.by_key.get(&(mode, key)).copied()
    }

    /// The keys bound to an action, in config order.
    pub fn keys(&self, action: Action) -> &[Key] {
        self.by_action.get(&action).map_or(&[], Vec::as_slice)
    }

    /// `k/↑` for display.
    pub fn keys_text(&self, action: Action) -> String {
        self.keys(action)
            .iter()
            .map(Key::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The keys of a popup's footer, `n / esc`: a shifted letter whose plain letter is
    /// also bound (`N` beside `n`) is left out.
    pub fn footer_keys(&self, action: Action) -> String {
        let keys = self.keys(action);
        keys.iter()
            .filter(|k| match k.code {
                KeyCode::Char(c) if c.is_ascii_uppercase() => !keys
                    .iter()
                    .any(|o| o.code == KeyCode::Char(c.to_ascii_lowercase())),
                _ => true,
            })
            .map(Key::to_string)
            .collect::<Vec<_>>()
            .join(" / ")
    }

    /// Bound actions in help order.
    pub fn actions(&self) -> impl Iterator<Item = Action> + '_ {
        Action::all().filter(|a| !self.keys(*a).is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> BTreeMap<String, Vec<String>> {
        BTreeMap::new()
    }

    #[test]
    fn parse_and_display() {
        for (text, shown) in [
            ("j", "j"),
            ("G", "G"),
            ("ctrl-c", "ctrl-c"),
            ("Ctrl-X", "ctrl-x"),
            ("alt-x", "alt-x"),
            ("enter", "enter"),
            ("pgdn", "pgdn"),
            ("PageUp", "pgup"),
            ("f5", "f5"),
            ("space", "space"),
            ("+", "+"),
            ("shift-tab", "shift-tab"),
        ] {
            assert_eq!(Key::parse(text).unwrap().to_string(), shown, "{text}");
        }
        for bad in ["", "ctrl-", "f13", "f0", "hello", " ", "ctrl-hello"] {
            assert!(Key::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn defaults_cover_every_action_without_conflict() {
        let k = Keymap::build(&none(), false).unwrap();
        for a in Action::all() {
            assert!(!k.keys(a).is_empty(), "{a:?} unbound");
        }
        assert_eq!(
            k.action(Mode::Main, Key::parse("D").unwrap()),
            Some(Action::Destroy)
        );
        assert_eq!(k.action(Mode::Main, CTRL_C), Some(Action::Quit));
        // Layers: q quits the table and cancels a confirmation.
        let q = Key::parse("q").unwrap();
        assert_eq!(k.action(Mode::Main, q), Some(Action::Quit));
        assert_eq!(k.action(Mode::Confirm, q), Some(Action::No));
        assert_eq!(k.action(Mode::Filter, q), None, "typed into the filter");
    }

    #[test]
    fn readonly_drops_mutating_actions() {
        let k = Keymap::build(&none(), true).unwrap();
        for a in Action::all() {
            assert_eq!(k.keys(a).is_empty(), a.is_mutating(), "{a:?}");
        }
        assert_eq!(k.action(Mode::Main, Key::parse("D").unwrap()), None);
    }

    #[test]
    fn overrides_replace_and_errors_name_the_entry() {
        let mut o = none();
        o.insert("destroy".into(), vec!["X".into()]);
        o.insert("reboot".into(), vec![]);
        let k = Keymap::build(&o, false).unwrap();
        assert_eq!(
            k.action(Mode::Main, Key::parse("X").unwrap()),
            Some(Action::Destroy)
        );
        assert_eq!(k.action(Mode::Main, Key::parse("D").unwrap()), None);
        assert!(k.keys(Action::Reboot).is_empty());

        let err = |name: &str, keys: &[&str]| {
            let mut o = none();
            o.insert(name.into(), keys.iter().map(|s| s.to_string()).collect());
            Keymap::build(&o, false).unwrap_err()
        };
        assert!(err("destroyy", &["x"]).starts_with("keys.destroyy: unknown action"));
        assert!(err("destroy", &["ctrl-"]).starts_with("keys.destroy: \"ctrl-\" is not a key"));
        assert_eq!(
            err("destroy", &["j"]),
            "keys.destroy: j is already bound to down"
        );
        assert_eq!(
            err("bottom", &["D"]),
            "keys.bottom: D is already bound to destroy"
        );
        assert_eq!(
            err("start", &["ctrl-c"]),
            "keys.start: ctrl-c is reserved for quit"
        );
    }
}
