//! The keymap: one table from keys to actions that drives dispatch, the hints bar and
//! the help overlay (its reverse map), so they can never disagree.
//!
//! Built from the config's `[keys]` table as [`crate::keys::resolve`] applies it to the
//! spec table's defaults (each key a parsed [`KeyChord`]); each mode is its own layer. A
//! bad entry is a config error naming it, found before the terminal is touched. Under
//! `--readonly` every mutating action is removed.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, Mode};
use crate::keys::{self, KeyChord};

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

/// Keys → actions per mode (each mode is its own layer: `q` quits the table and
/// cancels a confirmation), and actions → keys for hints, footers and help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    by_key: HashMap<(Mode, Key), Action>,
    by_action: BTreeMap<Action, Vec<Key>>,
    /// Under `--readonly`: the keys of the mutating actions taken out, by mode, so
    /// pressing one can say why nothing happens.
    refused: HashMap<(Mode, Key), Action>,
}

impl Keymap {
    /// The defaults with `overrides` (the config's `[keys]`) applied; mutating actions
    /// dropped when `readonly`. Errors name the entry: `keys.destroyy: unknown action`.
    /// Two actions may share a key only when they never work in the same mode.
    pub fn build(
        overrides: &BTreeMap<String, Vec<String>>,
        readonly: bool,
    ) -> Result<Keymap, String> {
        Keymap::from_bindings(&keys::resolve(overrides)?, readonly)
    }

    /// The keymap of resolved bindings ([`keys::resolve`] checked them: no key bound
    /// twice in one mode, ctrl-c free).
    pub fn from_bindings(bindings: &keys::Bindings, readonly: bool) -> Result<Keymap, String> {
        let mut table: BTreeMap<Action, Vec<Key>> = BTreeMap::new();
        let mut refused = HashMap::new();
        for (action, chords) in bindings {
            if readonly && action.is_mutating() {
                for mode in action.spec().modes {
                    refused.extend(
                        chords
                            .iter()
                            .map(|c| ((*mode, Key::from_chord(*c)), *action)),
                    );
                }
                continue;
            }
            table.insert(
                *action,
                chords.iter().copied().map(Key::from_chord).collect(),
            );
        }
        let mut by_key = HashMap::new();
        for (action, keys) in &table {
            for key in keys {
                for mode in action.spec().modes {
                    if let Some(other) = by_key.insert((*mode, *key), *action) {
                        if other != *action {
                            return Err(format!(
                                "keys.{}: {key} is already bound to {}",
                                action.name(),
                                other.name()
                            ));
                        }
                    }
                }
            }
        }
        by_key.insert((Mode::Main, CTRL_C), Action::Quit);
        refused.retain(|k, _| !by_key.contains_key(k));
        Ok(Keymap {
            by_key,
            by_action: table,
            refused,
        })
    }

    /// The action a key is bound to in `mode`.
    pub fn action(&self, mode: Mode, key: Key) -> Option<Action> {
        self.by_key.get(&(mode, key)).copied()
    }

    /// The mutating action `key` would run in `mode`, had `--readonly` not taken it
    /// out.
    pub fn refused(&self, mode: Mode, key: Key) -> Option<Action> {
        self.refused.get(&(mode, key)).copied()
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
#[path = "keymap_tests.rs"]
mod tests;
