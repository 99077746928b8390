//! The `:` command line in the dashboard (issue 14, point 5): the same action table as
//! the keys, completion with Tab, jumps, and a filter that also matches IPs and UUIDs.

use crossterm::event::KeyCode;

use crate::tui::state::Popup;
use crate::tui::tests::{key, press, screen, state};
use crate::tui::update::{update, Effect};

/// Type `text` on the command line (opened with `:`) and press Enter.
fn run(s: &mut crate::tui::state::State, text: &str) -> Vec<Effect> {
    press(s, ":");
    let mut out = press(s, text);
    out.extend(update(s, key(KeyCode::Enter)).effects);
    out
}

#[test]
fn a_line_runs_the_same_action_as_its_key_on_the_named_vm() {
    let mut s = state();
    // `destroy` asks first, as `D` does, on the VM named.
    assert!(run(&mut s, "destroy db-1").is_empty());
    let Some(Popup::Confirm(c)) = &s.popup else {
        panic!("destroy asks first: {:?}", s.flash)
    };
    assert_eq!(c.title, "DESTROY db-1?");
    assert_eq!(s.selected_vm().unwrap().snapshot.vm_name, "db-1");
    update(&mut s, key(KeyCode::Esc));

    // `start` runs at once, as `u` does.
    let effects = run(&mut s, "start legacy-mail");
    assert!(
        matches!(effects.as_slice(), [Effect::Execute(0, c)] if c.vm_name == "legacy-mail"),
        "{effects:?}"
    );
}

#[test]
fn extend_takes_a_duration() {
    let mut s = state();
    let effects = run(&mut s, "extend ci-runner-17 4h");
    match effects.as_slice() {
        [Effect::Execute(0, c)] => {
            assert_eq!(c.vm_name, "ci-runner-17");
            assert_eq!(c.op, crate::lifecycle::Op::ExtendTtl { hours: 4.0 });
        }
        other => panic!("{other:?}"),
    }
    // A permanent VM has no TTL: said in one line, nothing runs.
    assert!(run(&mut s, "extend db-1 4h").is_empty());
    let flash = s.flash.as_ref().map(|f| f.0.clone()).unwrap_or_default();
    assert!(flash.contains("permanent"), "{flash}");
}

#[test]
fn a_bad_line_stays_open_and_says_why() {
    let mut s = state();
    run(&mut s, "frobnicate db-1");
    let line = s.command.clone().expect("still open");
    assert!(line.note.unwrap().contains("unknown command"));
    let text = screen(&mut s, 100, 30);
    assert!(text.contains(":frobnicate db-1"), "{text}");
    // Esc closes it.
    update(&mut s, key(KeyCode::Esc));
    assert!(s.command.is_none());
    // An unknown VM: a flash, nothing else.
    assert!(run(&mut s, "start nosuchvm").is_empty());
    assert!(s.flash.as_ref().unwrap().0.contains("no VM named nosuchvm"));
}

#[test]
fn tab_completes_verbs_and_names() {
    let mut s = state();
    press(&mut s, ":des");
    update(&mut s, key(KeyCode::Tab));
    assert_eq!(s.command.as_ref().unwrap().text, "destroy ");
    press(&mut s, "ci");
    update(&mut s, key(KeyCode::Tab));
    assert_eq!(s.command.as_ref().unwrap().text, "destroy ci-runner-17 ");
    // Backspace erases.
    update(&mut s, key(KeyCode::Backspace));
    assert_eq!(s.command.as_ref().unwrap().text, "destroy ci-runner-17");
}

#[test]
fn sort_host_and_filter_lines() {
    let mut s = state();
    run(&mut s, "sort ttl");
    assert_eq!(s.sort, crate::tui::state::SortKey::Ttl);
    run(&mut s, "filter temp");
    assert_eq!(s.rows.len(), 3, "the temporary VMs");
    run(&mut s, "filter");
    assert_eq!(s.rows.len(), s.vms.len());
}

#[test]
fn the_filter_also_matches_addresses_and_uuids() {
    let mut s = state();
    press(&mut s, "/10.0.0.3");
    update(&mut s, key(KeyCode::Enter));
    let names: Vec<String> = s
        .rows
        .iter()
        .map(|&i| s.vms[i].snapshot.vm_name.clone())
        .collect();
    assert_eq!(names, ["ci-runner-17"]);
    update(&mut s, key(KeyCode::Esc));
    press(&mut s, "/00000000-0000-4000-8000-000000000001");
    let names: Vec<String> = s
        .rows
        .iter()
        .map(|&i| s.vms[i].snapshot.vm_name.clone())
        .collect();
    assert_eq!(names, ["db-1"]);
}
