//! The `:` command line in the dashboard: typing, Tab completion, and running a line
//! through the same action table as the keys (`tui::command_line` parses it).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::act;
use super::keys::apply;
use super::Effect;
use crate::lifecycle::Op;
use crate::tui::action::Action;
use crate::tui::command_line::{apply_completion, complete, parse, Line, Typing};
use crate::tui::plan::{self, Plan};
use crate::tui::state::{State, Then};

/// Longest line the prompt takes.
const MAX_LINE: usize = 200;

/// A key while the command line is open.
pub(super) fn on_key(s: &mut State, action: Option<Action>, k: &KeyEvent) -> Vec<Effect> {
    let Some(mut line) = s.command.take() else {
        return Vec::new();
    };
    match action {
        Some(Action::Cancel) => return Vec::new(),
        Some(Action::Erase) => {
            line.text.pop();
            line.note = None;
        }
        Some(Action::Complete) => {
            let names = vm_names(s);
            let hosts: Vec<String> = s.hosts.iter().map(|h| h.name.clone()).collect();
            let found = complete(&line.text, &names, &hosts);
            line.text = apply_completion(&line.text, &found);
            line.note = match found.len() {
                0 => Some("no completion".into()),
                1 => None,
                _ => Some(found.join("  ")),
            };
        }
        Some(Action::Submit) => match parse(&line.text) {
            Ok(l) => return run(s, l),
            Err(e) => line.note = Some(e),
        },
        _ => {
            if let KeyCode::Char(c) = k.code {
                let plain = !k
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
                if plain && line.text.len() < MAX_LINE {
                    line.text.push(c);
                    line.note = None;
                }
            }
        }
    }
    s.command = Some(line);
    Vec::new()
}

/// `:` on the main screen.
pub(super) fn open(s: &mut State) {
    s.command = Some(Typing::default());
}

/// Every VM name once, for completion.
fn vm_names(s: &State) -> Vec<String> {
    let mut names: Vec<String> = s.vms.iter().map(|v| v.snapshot.vm_name.clone()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Run a parsed line: the same path as its key.
fn run(s: &mut State, l: Line) -> Vec<Effect> {
    match l {
        Line::Vm { action, vm, hours } => {
            if let Some(name) = vm {
                if let Err(why) = select_named(s, &name) {
                    return act::refuse(s, why);
                }
                // A VM named on the line is acted on alone, marks or not.
                return named(s, action, hours);
            }
            if hours.is_some() {
                return act::refuse(s, "extend with a duration needs a VM name".into());
            }
            apply(s, action)
        }
        Line::Other(a) => apply(s, a),
        Line::Host(h) => {
            let mut terms: Vec<String> = s
                .filter
                .split_whitespace()
                .filter(|t| !t.starts_with("host:"))
                .map(String::from)
                .collect();
            if let Some(h) = h {
                terms.push(format!("host:{}", h.to_lowercase()));
            }
            s.filter = terms.join(" ");
            s.refresh_rows();
            Vec::new()
        }
        Line::Sort(k) => {
            s.sort = k;
            s.refresh_rows();
            Vec::new()
        }
        Line::Filter(t) => {
            s.filter = t.to_lowercase();
            s.refresh_rows();
            Vec::new()
        }
    }
}

/// Select the VM called `name`: among the rows shown first, else anywhere (the filter
/// is cleared to show it). Two VMs of that name on two hosts: say so.
fn select_named(s: &mut State, name: &str) -> Result<(), String> {
    let all: Vec<(usize, u16)> = s
        .vms
        .iter()
        .enumerate()
        .filter(|(_, v)| v.snapshot.vm_name == name)
        .map(|(i, v)| (i, v.host))
        .collect();
    match all.as_slice() {
        [] => Err(format!("no VM named {}", crate::format::escape(name))),
        [(i, _)] => {
            if !s.rows.contains(i) {
                s.filter.clear();
                s.refresh_rows();
            }
            if let Some(row) = s.rows.iter().position(|r| r == i) {
                s.select_row(row);
            }
            Ok(())
        }
        many => {
            let hosts: Vec<&str> = many.iter().map(|(_, h)| s.host_name(*h)).collect();
            Err(format!(
                "{} is on {}: `:host NAME` first, then pick it",
                crate::format::escape(name),
                hosts.join(" and ")
            ))
        }
    }
}

/// The action on the selected VM alone; `hours` replaces `extend`'s step.
fn named(s: &mut State, action: Action, hours: Option<f64>) -> Vec<Effect> {
    let (Some(h), Some(vm)) = (hours, s.selected_vm().cloned()) else {
        let marks = std::mem::take(&mut s.marks);
        let out = apply(s, action);
        s.marks = marks;
        return out;
    };
    if s.readonly {
        return act::refuse(s, "read-only connection: actions are disabled".into());
    }
    match plan::check(s, &vm, action) {
        Ok(Plan::Run(Op::ExtendTtl { .. })) => act::then(
            s,
            Then::Execute(vm.host, plan::command(&vm, Op::ExtendTtl { hours: h })),
        ),
        Ok(_) => act::refuse(s, format!("{} takes no duration", action.name())),
        Err(why) => act::refuse(s, why),
    }
}
