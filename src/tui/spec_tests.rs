//! Point 4 of issue 10: the spec table drives asking, the hints bar and help.

use crossterm::event::KeyCode;

use super::action::{Action, Asks, Mode};
use super::keymap::Keymap;
use super::plan;
use super::state::{Popup, State};
use super::tests::{cleanup_view, fleet, key, now, press, screen, select, state, state_with};
use super::update::{apply, update, Effect, Msg};
use crate::lifecycle::cleanup::{plan_round, Clock, RoundInputs};
use crate::model::{PersistenceMode, VmCleanupPolicy};
use crate::poll::Vm;

/// Answer the prepare effects as the services would (a round with something to do, an
/// autostart order, a recovery plan); true when an effect ran something at once.
fn serve(s: &mut State, effects: Vec<Effect>) -> bool {
    let mut ran = false;
    for e in effects {
        let msg = match e {
            Effect::PrepareCleanup { title, request } => {
                let facts: Vec<_> = s.vms.iter().map(Vm::facts).collect();
                let policy = VmCleanupPolicy {
                    cleanup_in_window_only: false,
                    ..Default::default()
                };
                let clock = Clock {
                    now: now().timestamp(),
                    local_minute: 12 * 60,
                };
                let plan = plan_round(&facts, &policy, &RoundInputs::default(), &request, clock);
                assert!(!plan.commands.is_empty(), "{title}: something to clean");
                Msg::CleanupPrepared {
                    title,
                    plan,
                    request,
                }
            }
            Effect::PrepareAutostart => Msg::AutostartPrepared(Ok(vec!["1. db-1".into()])),
            Effect::PrepareRecover { vm_id, vm_name } => Msg::RecoverPrepared {
                vm_id,
                vm_name,
                lines: Ok(vec!["start it".into()]),
            },
            _ => {
                ran = true;
                continue;
            }
        };
        let next = update(s, msg).effects;
        ran |= serve(s, next);
    }
    ran
}

/// A state where every action of the main mode has something to act on: parked
/// cleanups for `y`.
fn busy_state() -> State {
    let mut s = state();
    let policy = VmCleanupPolicy {
        require_confirmation: true,
        ..Default::default()
    };
    let view = cleanup_view(&s.vms.clone(), &policy);
    update(&mut s, Msg::Cleanup(view));
    s
}

/// Iterate the table: every action of the main mode, on every VM of the fleet. Where
/// it applies, it opens a confirmation exactly when its spec asks, and runs nothing
/// before the yes.
#[test]
fn every_action_asks_exactly_when_its_spec_says() {
    let names: Vec<String> = fleet().iter().map(|v| v.snapshot.vm_name.clone()).collect();
    for a in Action::all().filter(|a| a.spec().works_in(Mode::Main)) {
        let mut applied = 0;
        for name in &names {
            let mut s = busy_state();
            select(&mut s, name);
            let vm = s.selected_vm().cloned().unwrap();
            if a.spec().on_vm && plan::check(&s, &vm, a).is_err() {
                continue;
            }
            applied += 1;
            let effects = apply(&mut s, a);
            let ran = serve(&mut s, effects);
            let asked = matches!(s.popup, Some(Popup::Confirm(_)));
            let expected = match a.asks() {
                Asks::Never => false,
                Asks::Always => true,
                Asks::ToTemporary => {
                    vm.persistence().map(|p| p.mode) == Some(PersistenceMode::Permanent)
                }
                Asks::WhileRunning => false, // nothing runs here; see below
            };
            assert_eq!(asked, expected, "{a:?} on {name}");
            if asked {
                assert!(!ran, "{a:?} on {name}: ran before the yes");
                let yes = press(&mut s, "y");
                assert!(
                    !yes.is_empty() || s.should_quit,
                    "{a:?} on {name}: the yes does something"
                );
            }
            if !a.spec().on_vm {
                break; // once is enough
            }
        }
        assert!(applied > 0, "{a:?}: no VM of the fleet to try it on");
    }
    // The table itself: whatever stops, removes or hands over a VM asks first.
    for a in [
        Action::Shutdown,
        Action::Destroy,
        Action::Reboot,
        Action::ManagedSave,
        Action::Cleanup,
        Action::CleanupRound,
        Action::ConfirmCleanups,
        Action::Autostart,
        Action::Recover,
    ] {
        assert_eq!(a.asks(), Asks::Always, "{a:?}");
    }
    assert_eq!(Action::ToggleMode.asks(), Asks::ToTemporary);
    // Quit asks only while an action of this dashboard runs.
    let mut s = state();
    select(&mut s, "db-1");
    press(&mut s, "p");
    apply(&mut s, Action::Quit);
    assert!(matches!(s.popup, Some(Popup::Confirm(_))));
    assert!(!s.should_quit);
}

/// The bottom line of a 250-column screen: the whole hints bar.
fn hints_line(s: &mut State) -> String {
    let text = screen(s, 250, 30);
    text.lines().last().unwrap_or_default().to_string()
}

#[test]
fn the_hints_bar_shows_what_applies_to_the_selected_vm() {
    let mut s = state();
    select(&mut s, "db-1"); // running, permanent
    let running = hints_line(&mut s);
    assert!(!running.contains(" start "), "{running}");
    assert!(running.contains("d shutdown") && running.contains("D destroy"));
    assert!(!running.contains("+ +ttl") && !running.contains("c clean"));
    assert!(running.contains("t mode"));
    select(&mut s, "legacy-mail"); // stopped, permanent
    let stopped = hints_line(&mut s);
    assert!(stopped.contains("u start"), "{stopped}");
    for gone in ["shutdown", "destroy", "pause", "reboot", "save"] {
        assert!(!stopped.contains(gone), "{gone}: {stopped}");
    }
    select(&mut s, "pr-preview-482"); // stopped, temporary, expired
    let expired = hints_line(&mut s);
    assert!(expired.contains("c clean") && expired.contains("+ +ttl") && expired.contains("e ttl"));
    select(&mut s, "broken-policy"); // invalid policy
    let broken = hints_line(&mut s);
    assert!(!broken.contains("t mode") && !broken.contains("e ttl"));
    // Nothing parked: no "confirm"; parked cleanups: there it is.
    assert!(!broken.contains("y confirm"));
    assert!(hints_line(&mut busy_state()).contains("y confirm"));
    // No VM: no VM actions at all.
    let mut empty = state_with(Vec::new(), false);
    let none = hints_line(&mut empty);
    assert!(
        !none.contains("u start") && !none.contains("recover"),
        "{none}"
    );
    assert!(none.contains("? help") && none.contains("C round"));
    insta::assert_snapshot!(stopped);
}

#[test]
fn the_help_overlay_scrolls_to_its_last_entry_at_80x24() {
    let mut s = state();
    press(&mut s, "?");
    let last = super::keymap::Keymap::build(&Default::default(), false)
        .unwrap()
        .actions()
        .last()
        .unwrap();
    let top = screen(&mut s, 80, 24);
    assert!(
        !top.contains("recover") && !top.contains(last.name()),
        "{top}"
    );
    press(&mut s, "G");
    let bottom = screen(&mut s, 80, 24);
    assert!(bottom.contains(last.name()), "{bottom}");
    assert!(bottom.contains("Filter: words match names"), "{bottom}");
    // Page by page from the top reaches it as well, and every action is seen on the way.
    press(&mut s, "g");
    let mut seen = screen(&mut s, 80, 24);
    for _ in 0..5 {
        update(&mut s, key(KeyCode::PageDown));
        seen.push_str(&screen(&mut s, 80, 24));
    }
    for a in Action::all() {
        assert!(seen.contains(a.name()), "{a:?} never shown");
    }
    // Scrolling stops at the last line: one up moves at once.
    let at_end = s.help_scroll;
    press(&mut s, "jjj");
    assert_eq!(s.help_scroll, at_end);
    press(&mut s, "k");
    assert_eq!(s.help_scroll, at_end - 1);
    assert_eq!(s.popup, Some(Popup::Help), "scrolling keeps it open");
}

#[test]
fn help_rebound_to_f1_opens_and_closes_with_f1() {
    let mut keys = std::collections::BTreeMap::new();
    keys.insert("help".to_string(), vec!["f1".to_string()]);
    let mut s = state();
    s.keymap = Keymap::build(&keys, false).unwrap();
    update(&mut s, key(KeyCode::F(1)));
    assert_eq!(s.popup, Some(Popup::Help));
    assert!(screen(&mut s, 100, 40).contains("f1 close"));
    press(&mut s, "?");
    assert_eq!(s.popup, Some(Popup::Help), "? is no longer the help key");
    update(&mut s, key(KeyCode::F(1)));
    assert_eq!(s.popup, None, "the help key closes it");
    update(&mut s, key(KeyCode::F(1)));
    update(&mut s, key(KeyCode::Esc));
    assert_eq!(s.popup, None, "esc still closes it");
}

#[test]
fn popup_keys_come_from_the_table() {
    let mut keys = std::collections::BTreeMap::new();
    keys.insert("yes".to_string(), vec!["Y".to_string()]);
    let mut s = state();
    s.keymap = Keymap::build(&keys, false).unwrap();
    select(&mut s, "db-1");
    press(&mut s, "D");
    assert!(screen(&mut s, 100, 30).contains("Y yes, do it"));
    assert!(press(&mut s, "y").is_empty(), "y is no longer yes");
    assert!(matches!(s.popup, Some(Popup::Confirm(_))));
    assert!(matches!(
        press(&mut s, "Y").as_slice(),
        [Effect::Execute(0, _)]
    ));
}
