//! The keymap: one table from keys to actions that drives dispatch, the hints bar and
//! the help overlay (its reverse map), so they can never disagree.
//!
//! Built from the config's `[keys]` table as [`crate::config::keys`] resolves it (the
//! defaults with the config's entries applied, each key a parsed [`KeyChord`]); a bad
//! entry is a config error naming it, found before the terminal is touched. Under
//! `--readonly` every mutating action is removed.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use crate::config::keys::{self, KeyChord};

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

    /// Parse `j`, `G`, `ctrl-c`, `alt-x`, `enter`, `pgup`, `f5`, `space`, `+` (the
    /// config's syntax, [`KeyChord::parse`]).
    pub fn parse(s: &str) -> Result<Key, String> {
        KeyChord::parse(s).map(Key::from_chord)
    }

    /// The terminal key a config chord names.
    pub const fn from_chord(c: KeyChord) -> Key {
        use keys::KeyCode as C;
        let code = match c.code {
            C::Char(ch) => KeyCode::Char(ch),
            C::Enter => KeyCode::Enter,
            C::Tab => KeyCode::Tab,
            C::BackTab => KeyCode::BackTab,
            C::Esc => KeyCode::Esc,
            C::Backspace => KeyCode::Backspace,
            C::Delete => KeyCode::Delete,
            C::Insert => KeyCode::Insert,
            C::Up => KeyCode::Up,
            C::Down => KeyCode::Down,
            C::Left => KeyCode::Left,
            C::Right => KeyCode::Right,
            C::Home => KeyCode::Home,
            C::End => KeyCode::End,
            C::PageUp => KeyCode::PageUp,
            C::PageDown => KeyCode::PageDown,
            C::F(n) => KeyCode::F(n),
        };
        Key {
            code,
            ctrl: c.ctrl,
            alt: c.alt,
        }
    }

    /// The config chord for this key, if the config can name it.
    pub fn chord(&self) -> Option<KeyChord> {
        use keys::KeyCode as C;
        let code = match self.code {
            KeyCode::Char(ch) => C::Char(ch),
            KeyCode::Enter => C::Enter,
            KeyCode::Tab => C::Tab,
            KeyCode::BackTab => C::BackTab,
            KeyCode::Esc => C::Esc,
            KeyCode::Backspace => C::Backspace,
            KeyCode::Delete => C::Delete,
            KeyCode::Insert => C::Insert,
            KeyCode::Up => C::Up,
            KeyCode::Down => C::Down,
            KeyCode::Left => C::Left,
            KeyCode::Right => C::Right,
            KeyCode::Home => C::Home,
            KeyCode::End => C::End,
            KeyCode::PageUp => C::PageUp,
            KeyCode::PageDown => C::PageDown,
            KeyCode::F(n) => C::F(n),
            _ => return None,
        };
        Some(KeyChord {
            code,
            ctrl: self.ctrl,
            alt: self.alt,
        })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(chord) = self.chord() {
            return chord.fmt(f);
        }
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        write!(f, "{:?}", self.code)
    }
}

/// Ctrl-C always quits, whatever the config says: a way out must not be configurable away.
const CTRL_C: Key = Key::from_chord(KeyChord::CTRL_C);

/// Keys → actions, and actions → keys for hints and help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    by_key: HashMap<Key, Action>,
    by_action: BTreeMap<Action, Vec<Key>>,
}

impl Keymap {
    /// The defaults with `overrides` (the config's `[keys]`) applied; mutating actions
    /// dropped when `readonly`. Errors name the entry: `keys.destroyy: unknown action`.
    pub fn build(
        overrides: &BTreeMap<String, Vec<String>>,
        readonly: bool,
    ) -> Result<Keymap, String> {
        Keymap::from_bindings(&keys::resolve(overrides)?, readonly)
    }

    /// The keymap of resolved bindings (checked: no key bound twice, ctrl-c free).
    pub fn from_bindings(bindings: &keys::Bindings, readonly: bool) -> Result<Keymap, String> {
        let mut table: BTreeMap<Action, Vec<Key>> = BTreeMap::new();
        for (name, chords) in bindings {
            let action = Action::from_name(name)
                .ok_or_else(|| format!("keys.{name}: not an action of the dashboard"))?;
            table.insert(
                action,
                chords.iter().copied().map(Key::from_chord).collect(),
            );
        }
        if readonly {
            table.retain(|a, _| !a.is_mutating());
        }
        let mut by_key = HashMap::new();
        for (action, keys) in &table {
            for key in keys {
                by_key.insert(*key, *action);
            }
        }
        by_key.insert(CTRL_C, Action::Quit);
        Ok(Keymap {
            by_key,
            by_action: table,
        })
    }

    /// The action bound to a key.
    pub fn action(&self, key: Key) -> Option<Action> {
        self.by_key.get(&key).copied()
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

    /// Bound actions in help order.
    pub fn actions(&self) -> impl Iterator<Item = Action> + '_ {
        Action::ALL
            .iter()
            .copied()
            .filter(|a| !self.keys(*a).is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> BTreeMap<String, Vec<String>> {
        BTreeMap::new()
    }

    #[test]
    fn the_config_names_every_action_in_help_order() {
        let names: Vec<&str> = keys::DEFAULTS.iter().map(|(n, _)| *n).collect();
        let actions: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
        assert_eq!(names, actions);
    }

    #[test]
    fn keys_show_as_the_config_spells_them() {
        for text in ["j", "ctrl-x", "f5", "space", "shift-tab", "pgdn"] {
            assert_eq!(Key::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Key::plain(KeyCode::Null).to_string(), "Null");
    }

    #[test]
    fn defaults_cover_every_action_without_conflict() {
        let k = Keymap::build(&none(), false).unwrap();
        for a in Action::ALL {
            assert!(!k.keys(*a).is_empty(), "{a:?} unbound");
        }
        assert_eq!(k.action(Key::parse("D").unwrap()), Some(Action::Destroy));
        assert_eq!(k.action(CTRL_C), Some(Action::Quit));
    }

    #[test]
    fn readonly_drops_mutating_actions() {
        let k = Keymap::build(&none(), true).unwrap();
        for a in Action::ALL {
            assert_eq!(k.keys(*a).is_empty(), a.is_mutating(), "{a:?}");
        }
        assert_eq!(k.action(Key::parse("D").unwrap()), None);
    }

    #[test]
    fn overrides_replace_and_errors_name_the_entry() {
        let mut o = none();
        o.insert("destroy".into(), vec!["X".into()]);
        o.insert("reboot".into(), vec![]);
        let k = Keymap::build(&o, false).unwrap();
        assert_eq!(k.action(Key::parse("X").unwrap()), Some(Action::Destroy));
        assert_eq!(k.action(Key::parse("D").unwrap()), None);
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
