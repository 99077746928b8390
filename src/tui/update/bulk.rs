//! Marks and bulk actions: `Space` marks the selected row, `*` marks every row shown
//! (after a filter; again to unmark them), and a VM action with marks applies to every
//! marked VM after one confirmation that lists them all (count, names, what happens,
//! and which are left out and why). Each VM's command then goes through its host's
//! executor, with its re-checks, its concurrency and its own result line.

use super::act::{gate, refuse};
use super::Effect;
use crate::tui::action::Action;
use crate::tui::plan::{self, Plan};
use crate::tui::state::{State, Then};

/// `Space`: mark or unmark the selected VM, and move to the next row.
pub(super) fn toggle(s: &mut State) {
    let Some(key) = s.selected_vm().map(|v| v.key.clone()) else {
        return;
    };
    if !s.marks.remove(&key) {
        s.marks.insert(key);
    }
    let next = s.selected_row() + 1;
    if next < s.rows.len() {
        s.select_row(next);
    }
}

/// `*`: mark every row shown; when they all are already, unmark them.
pub(super) fn toggle_all(s: &mut State) {
    let shown: Vec<_> = s
        .rows
        .iter()
        .filter_map(|&i| s.vms.get(i))
        .map(|v| v.key.clone())
        .collect();
    if !shown.is_empty() && shown.iter().all(|k| s.marks.contains(k)) {
        for k in &shown {
            s.marks.remove(k);
        }
    } else {
        s.marks.extend(shown);
    }
}

/// A VM action on the marked VMs: one confirmation, then one command per VM that it
/// applies to.
pub(super) fn action(s: &mut State, a: Action) -> Vec<Effect> {
    let marked: Vec<_> = s.marked().into_iter().cloned().collect();
    let mut run = Vec::new();
    let mut lines = Vec::new();
    let mut left_out = Vec::new();
    for vm in &marked {
        let name = crate::format::escape(&vm.snapshot.vm_name).into_owned();
        let on = if s.many_hosts() {
            format!(" on {}", s.host_name(vm.host))
        } else {
            String::new()
        };
        match plan::check(s, vm, a) {
            Ok(Plan::Run(op)) => {
                lines.push(format!("  {name}{on} ({}): {}", vm.uuid, op.describe()));
                run.push((vm.host, plan::command(vm, op)));
            }
            Ok(_) => left_out.push(format!("  {name}{on}: one VM at a time only")),
            Err(why) => left_out.push(format!("  {name}{on}: {why}")),
        }
    }
    if run.is_empty() {
        let why = left_out
            .first()
            .map(|l| l.trim().to_string())
            .unwrap_or_else(|| "no marked VM is left".into());
        return refuse(
            s,
            format!(
                "{} applies to none of the {} marked VMs ({why})",
                a.label(),
                marked.len()
            ),
        );
    }
    let mut text = vec![format!("{} of the {} marked VMs:", run.len(), marked.len())];
    text.extend(lines);
    if !left_out.is_empty() {
        text.push(format!("Left out ({}):", left_out.len()));
        text.extend(left_out);
    }
    text.push("Each runs through the executor, re-checked right before it acts.".into());
    let title = format!("{} {} VMs?", a.label().to_uppercase(), run.len());
    gate(s, true, title, text, Then::ExecuteMany(run))
}
