//! The `:` command line: `:start web-1`, `:extend ci-7 4h`, `:host hv2`, `:sort ttl`.
//! Pure: [`parse`] turns a line into a [`Line`] with the same action table as the keys
//! (a verb is an action's config name, or a short alias), and [`complete`] offers the
//! words that fit where the cursor is (verbs, VM names, hosts, sort keys).

use super::action::Action;
use super::sort::SortKey;

/// The command line being typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Typing {
    pub text: String,
    /// Why the last Enter did not run it, or the completions Tab found.
    pub note: Option<String>,
}

/// What a command line asks.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A VM action (on `vm` when named, else on the selected VM or the marks); `hours`
    /// for `extend`.
    Vm {
        action: Action,
        vm: Option<String>,
        hours: Option<f64>,
    },
    /// An action of the whole dashboard (`round`, `autostart`, `alerts`, `help`,
    /// `quit`).
    Other(Action),
    /// Show one host's VMs (`host:NAME` in the filter); `None`: every host again.
    Host(Option<String>),
    Sort(SortKey),
    /// Set the filter (empty: clear it).
    Filter(String),
}

/// Short verbs beside the actions' config names.
const ALIASES: &[(&str, Action)] = &[
    ("extend", Action::ExtendTtl),
    ("pause", Action::SuspendResume),
    ("resume", Action::SuspendResume),
    ("save", Action::ManagedSave),
    ("mode", Action::ToggleMode),
    ("ttl", Action::EditTtl),
    ("clean", Action::Cleanup),
    ("round", Action::CleanupRound),
    ("q", Action::Quit),
];

/// The verbs that are not actions.
const WORDS: &[&str] = &["host", "sort", "filter"];

/// Every verb, for completion: the actions a person may run by name, the aliases, and
/// `host`, `sort`, `filter`.
pub fn verbs() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Action::all()
        .filter(|a| runnable(*a))
        .map(Action::name)
        .chain(ALIASES.iter().map(|(n, _)| *n))
        .chain(WORDS.iter().copied())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// An action the command line runs: one on a VM, or one of the dashboard's own.
fn runnable(a: Action) -> bool {
    a.spec().on_vm
        || matches!(
            a,
            Action::CleanupRound
                | Action::ConfirmCleanups
                | Action::Autostart
                | Action::Alerts
                | Action::Help
                | Action::Quit
        )
}

fn verb(word: &str) -> Option<Action> {
    ALIASES
        .iter()
        .find(|(n, _)| *n == word)
        .map(|(_, a)| *a)
        .or_else(|| Action::from_name(word).filter(|a| runnable(*a)))
}

/// `4h`, `30m`, `2d`, `1.5` (hours).
pub fn hours(text: &str) -> Result<f64, String> {
    let (num, scale) = match text.chars().last() {
        Some('h') => (&text[..text.len() - 1], 1.0),
        Some('m') => (&text[..text.len() - 1], 1.0 / 60.0),
        Some('d') => (&text[..text.len() - 1], 24.0),
        _ => (text, 1.0),
    };
    match num.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 && n * scale <= 24.0 * 3650.0 => Ok(n * scale),
        _ => Err(format!("{text:?} is not a duration (4h, 30m, 2d)")),
    }
}

/// Parse a command line (without its `:`). Errors say what was expected.
pub fn parse(text: &str) -> Result<Line, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some((&first, rest)) = words.split_first() else {
        return Err("type a command: start NAME, extend NAME 4h, host NAME, sort ttl".into());
    };
    match first {
        "host" => {
            return match rest {
                [] => Ok(Line::Host(None)),
                [h] => Ok(Line::Host(Some((*h).to_string()))),
                _ => Err("host takes one name".into()),
            }
        }
        "sort" => {
            let [key] = rest else {
                return Err("sort takes one column: name, state, mode, ttl, …".into());
            };
            return SortKey::ALL
                .into_iter()
                .find(|k| k.label() == *key)
                .map(Line::Sort)
                .ok_or_else(|| format!("no column {key:?} to sort by"));
        }
        "filter" => return Ok(Line::Filter(rest.join(" "))),
        _ => {}
    }
    let action =
        verb(first).ok_or_else(|| format!("unknown command {first:?} (Tab lists them)"))?;
    if !action.spec().on_vm {
        return match rest {
            [] => Ok(Line::Other(action)),
            _ => Err(format!("{first} takes no argument")),
        };
    }
    let (vm, extra) = match rest {
        [] => (None, None),
        [vm] => (Some((*vm).to_string()), None),
        [vm, x] => (Some((*vm).to_string()), Some(*x)),
        _ => return Err(format!("{first} takes a VM name{}", extend_hint(action))),
    };
    let hours = match (action, extra) {
        (Action::ExtendTtl, Some(x)) => Some(hours(x)?),
        (_, Some(x)) => return Err(format!("{first} takes only a VM name, not {x:?}")),
        _ => None,
    };
    Ok(Line::Vm { action, vm, hours })
}

fn extend_hint(a: Action) -> &'static str {
    if a == Action::ExtendTtl {
        " and a duration"
    } else {
        ""
    }
}

/// The completions of the line's last word: verbs for the first word, then VM names
/// (`names`), host names (after `host`), sort columns (after `sort`). Sorted, distinct.
pub fn complete(text: &str, names: &[String], hosts: &[String]) -> Vec<String> {
    let ends_in_space = text.ends_with(' ') || text.is_empty();
    let words: Vec<&str> = text.split_whitespace().collect();
    let (index, partial) = if ends_in_space {
        (words.len(), "")
    } else {
        (
            words.len().saturating_sub(1),
            words.last().copied().unwrap_or(""),
        )
    };
    let pool: Vec<String> = match (index, words.first().copied()) {
        (0, _) => verbs().into_iter().map(String::from).collect(),
        (1, Some("host")) => hosts.to_vec(),
        (1, Some("sort")) => SortKey::ALL.iter().map(|k| k.label().to_string()).collect(),
        (1, Some(v)) if verb(v).is_some_and(|a| a.spec().on_vm) => names.to_vec(),
        _ => Vec::new(),
    };
    let mut out: Vec<String> = pool
        .into_iter()
        .filter(|w| w.starts_with(partial))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The line with its last word completed as far as every completion agrees (the whole
/// word, and a space, when there is one).
pub fn apply_completion(text: &str, completions: &[String]) -> String {
    let Some(first) = completions.first() else {
        return text.to_string();
    };
    let common = completions.iter().fold(first.as_str(), |acc, c| {
        let n = acc
            .char_indices()
            .zip(c.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8());
        &acc[..n]
    });
    // Everything up to the word being completed.
    let stem = text.rfind(' ').map_or("", |i| &text[..=i]);
    let mut out = format!("{stem}{common}");
    if completions.len() == 1 {
        out.push(' ');
    }
    out
}

#[cfg(test)]
#[path = "command_line_tests.rs"]
mod tests;
