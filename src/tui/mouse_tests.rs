//! The mouse (issue 14, point 9): a click selects the row under it and focuses its
//! pane, the wheel scrolls the pane under the pointer, popups keep the keyboard.

use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use crate::tui::state::{Pane, Popup};
use crate::tui::tests::{press, screen, state};
use crate::tui::update::{update, Msg};

fn mouse(kind: MouseEventKind, column: u16, row: u16) -> Msg {
    Msg::Mouse(MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

fn click(column: u16, row: u16) -> Msg {
    mouse(MouseEventKind::Down(MouseButton::Left), column, row)
}

#[test]
fn a_click_selects_the_row_under_it() {
    let mut s = state();
    let text = screen(&mut s, 100, 30);
    // The screen line of db-1's row.
    let line = text.lines().position(|l| l.contains("db-1")).unwrap() as u16;
    update(&mut s, click(10, line));
    assert_eq!(s.selected_vm().unwrap().snapshot.vm_name, "db-1");
    assert_eq!(s.focus, Pane::Table);
    // A click on the header row or below the last row selects nothing else.
    let header = text.lines().position(|l| l.contains("NAME")).unwrap() as u16;
    update(&mut s, click(10, header));
    assert_eq!(s.selected_vm().unwrap().snapshot.vm_name, "db-1");
}

#[test]
fn a_click_on_a_pane_focuses_it_and_the_wheel_scrolls_the_pane_under_the_pointer() {
    let mut s = state();
    let text = screen(&mut s, 100, 30);
    let activity = text.lines().position(|l| l.contains("activity")).unwrap() as u16;
    update(&mut s, click(5, activity + 1));
    assert_eq!(s.focus, Pane::Activity);
    // The wheel over the table moves the selection, and the table has the keyboard.
    let first = s.selected_vm().unwrap().snapshot.vm_name.clone();
    update(&mut s, mouse(MouseEventKind::ScrollDown, 10, 6));
    assert_eq!(s.focus, Pane::Table);
    assert_ne!(s.selected_vm().unwrap().snapshot.vm_name, first);
    update(&mut s, mouse(MouseEventKind::ScrollUp, 10, 6));
    assert_eq!(s.selected_vm().unwrap().snapshot.vm_name, first);
}

#[test]
fn a_popup_keeps_the_keyboard() {
    let mut s = state();
    screen(&mut s, 100, 30);
    press(&mut s, "D");
    assert!(matches!(s.popup, Some(Popup::Confirm(_))));
    let before = s.selected_vm().unwrap().key.clone();
    update(&mut s, click(10, 8));
    assert!(
        matches!(s.popup, Some(Popup::Confirm(_))),
        "a click is no answer"
    );
    assert_eq!(s.selected_vm().unwrap().key, before);
    // The wheel scrolls the help, within its length.
    update(
        &mut s,
        crate::tui::tests::key(crossterm::event::KeyCode::Esc),
    );
    press(&mut s, "?");
    for _ in 0..100 {
        update(&mut s, mouse(MouseEventKind::ScrollDown, 40, 10));
    }
    let lines = crate::tui::present::help_lines(&s.keymap, s.readonly).len();
    assert_eq!(
        s.help_scroll,
        crate::tui::layout::help_max_scroll(s.size, lines)
    );
}
