//! Marks and bulk actions (issue 14, point 4): `Space` marks, `*` marks every row shown,
//! a VM action applies to every marked VM after one confirmation listing them all, and
//! each VM gets its own command and result line.

use crossterm::event::KeyCode;

use crate::tui::state::{ActivityStatus, Popup, Then};
use crate::tui::tests::{key, press, screen, select, state};
use crate::tui::update::{update, Effect};

fn space(s: &mut crate::tui::state::State) {
    update(s, key(KeyCode::Char(' ')));
}

fn names(s: &crate::tui::state::State) -> Vec<String> {
    s.marked()
        .iter()
        .map(|v| v.snapshot.vm_name.clone())
        .collect()
}

#[test]
fn space_marks_and_moves_on_star_marks_what_is_shown_esc_clears() {
    let mut s = state();
    select(&mut s, "app-1");
    space(&mut s);
    assert_eq!(names(&s), ["app-1"]);
    assert_eq!(s.selected_vm().unwrap().snapshot.vm_name, "broken-policy");
    space(&mut s);
    assert_eq!(names(&s), ["app-1", "broken-policy"]);
    // Space again on a marked VM unmarks it.
    select(&mut s, "app-1");
    space(&mut s);
    assert_eq!(names(&s), ["broken-policy"]);
    update(&mut s, key(KeyCode::Esc));
    assert!(s.marks.is_empty());

    // `*` after a filter marks the rows shown only; again unmarks them.
    press(&mut s, "/ci");
    update(&mut s, key(KeyCode::Enter));
    press(&mut s, "*");
    assert_eq!(names(&s), ["ci-runner-17"]);
    let text = screen(&mut s, 100, 30);
    assert!(text.contains("● ci-runner-17"), "{text}");
    assert!(text.contains("1 marked"), "{text}");
    press(&mut s, "*");
    assert!(s.marks.is_empty());
}

#[test]
fn one_confirmation_lists_every_marked_vm_then_one_command_each() {
    let mut s = state();
    for name in ["app-1", "ci-runner-17", "db-1", "legacy-mail"] {
        select(&mut s, name);
        space(&mut s);
    }
    // Shutdown applies to the three running ones; the stopped one is left out, saying why.
    assert!(press(&mut s, "d").is_empty(), "asks first");
    let Some(Popup::Confirm(c)) = &s.popup else {
        panic!("one confirmation: {:?}", s.flash)
    };
    assert_eq!(c.title, "SHUTDOWN 3 VMs?");
    let text = c.lines.join("\n");
    assert!(text.starts_with("3 of the 4 marked VMs:"), "{text}");
    for name in ["app-1", "ci-runner-17", "db-1"] {
        assert!(text.contains(&format!("  {name} (")), "{text}");
    }
    assert!(text.contains("Left out (1):\n  legacy-mail:"), "{text}");
    assert!(matches!(&c.then, Then::ExecuteMany(cmds) if cmds.len() == 3));
    insta::assert_snapshot!(screen(&mut s, 80, 24));

    let effects = press(&mut s, "y");
    let executed: Vec<String> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Execute(0, c) => Some(c.vm_name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(executed, ["app-1", "ci-runner-17", "db-1"]);
    // One pending line per VM; the marks are spent.
    let pending = s
        .activity
        .iter()
        .filter(|a| a.status == ActivityStatus::Pending)
        .count();
    assert_eq!(pending, 3);
    assert!(s.marks.is_empty());
}

#[test]
fn an_action_that_applies_to_no_marked_vm_is_refused_and_no_means_nothing() {
    let mut s = state();
    for name in ["app-1", "db-1"] {
        select(&mut s, name);
        space(&mut s);
    }
    // Start on two running VMs: nothing to do, said in one line.
    assert!(press(&mut s, "u").is_empty());
    assert!(s.popup.is_none());
    let flash = s.flash.as_ref().map(|f| f.0.clone()).unwrap_or_default();
    assert!(flash.contains("none of the 2 marked VMs"), "{flash}");
    // Even a key that does not ask for one VM asks for several; no cancels.
    press(&mut s, "p");
    assert!(matches!(s.popup, Some(Popup::Confirm(_))));
    assert!(press(&mut s, "n").is_empty());
    assert_eq!(s.marks.len(), 2, "a no keeps the marks");
}

#[test]
fn a_marked_vm_that_is_gone_is_not_acted_on() {
    let mut s = state();
    select(&mut s, "app-1");
    space(&mut s);
    let gone = s
        .vms
        .iter()
        .find(|v| v.snapshot.vm_name == "db-1")
        .unwrap()
        .key
        .clone();
    s.marks.insert(gone);
    let vms: Vec<_> = s
        .vms
        .iter()
        .filter(|v| v.snapshot.vm_name != "db-1")
        .cloned()
        .collect();
    update(
        &mut s,
        crate::tui::tests::snap(vms, crate::tui::tests::now()),
    );
    assert_eq!(names(&s), ["app-1"]);
}
