//! `q` asks first while actions of this dashboard still run; Ctrl-C quits, Ctrl-Z suspends.

use crossterm::event::KeyCode;

use super::state::{ActivityStatus, Popup, Then};
use super::tests::{key, press, select, state};
use super::update::{update, Msg};

#[test]
fn q_quits_at_once_when_nothing_runs() {
    let mut s = state();
    press(&mut s, "q");
    assert!(s.should_quit);
    assert_eq!(s.popup, None);
}

#[test]
fn q_asks_first_while_an_action_runs() {
    let mut s = state();
    select(&mut s, "ci-runner-17");
    press(&mut s, "p");
    assert_eq!(s.running_actions(), 1);
    press(&mut s, "q");
    assert!(!s.should_quit, "a running action: q must ask");
    let Some(Popup::Confirm(c)) = &s.popup else {
        panic!("no confirmation: {:?}", s.popup);
    };
    assert_eq!(c.title, "1 action(s) still running: quit anyway?");
    assert_eq!(c.then, Then::Quit);
    // n (or q, Esc) keeps the dashboard open.
    press(&mut s, "n");
    assert!(!s.should_quit);
    assert_eq!(s.popup, None);
    press(&mut s, "q");
    press(&mut s, "q");
    assert!(!s.should_quit, "q in the popup cancels");
    press(&mut s, "q");
    update(&mut s, key(KeyCode::Esc));
    assert!(!s.should_quit);
    // y quits.
    press(&mut s, "q");
    press(&mut s, "y");
    assert!(s.should_quit);
}

#[test]
fn q_quits_at_once_once_the_action_finished() {
    let mut s = state();
    select(&mut s, "ci-runner-17");
    press(&mut s, "p");
    let id = s.selected_id().unwrap().to_string();
    update(
        &mut s,
        Msg::ActionFinished {
            vm_id: id.into(),
            action: "suspend".into(),
            status: ActivityStatus::Ok,
            text: "paused".into(),
        },
    );
    assert_eq!(s.running_actions(), 0);
    press(&mut s, "q");
    assert!(s.should_quit);
}

#[test]
fn ctrl_c_still_quits_at_once() {
    let mut s = state();
    select(&mut s, "ci-runner-17");
    press(&mut s, "p");
    update(
        &mut s,
        Msg::Key(crossterm::event::KeyEvent::new(
            KeyCode::Char('c'),
            crossterm::event::KeyModifiers::CONTROL,
        )),
    );
    assert!(s.should_quit);
}

#[test]
fn ctrl_z_suspends_even_from_a_popup() {
    let mut s = state();
    press(&mut s, "?");
    let effects = update(
        &mut s,
        Msg::Key(crossterm::event::KeyEvent::new(
            KeyCode::Char('z'),
            crossterm::event::KeyModifiers::CONTROL,
        )),
    );
    assert_eq!(effects.effects, vec![super::update::Effect::Suspend]);
    assert_eq!(s.popup, Some(Popup::Help), "the popup is still there on fg");
    assert!(!s.should_quit);
}
