//! The alerts view: read, scroll, filter by VM, acknowledge (issue 14, point 3).

use crate::engine::state_files::Alert;
use crate::tui::state::Popup;
use crate::tui::tests::{fleet, now, press, screen, select, state, state_with};
use crate::tui::update::{update, Effect, Msg};

fn alert(minutes_ago: i64, vm: &str, n: u32, action: &str, error: &str) -> Alert {
    Alert {
        time: now() - chrono::Duration::minutes(minutes_ago),
        vm_name: vm.into(),
        vm_id: format!("00000000-0000-4000-8000-{n:012}").into(),
        action: action.into(),
        error: error.into(),
    }
}

/// The demo fleet with three alerts, newest first.
fn alerted(readonly: bool) -> crate::tui::state::State {
    let mut s = if readonly {
        state_with(fleet(), true)
    } else {
        state()
    };
    let mut view = s.cleanup.clone().expect("a cleanup view");
    view.alerts = vec![
        alert(1, "app-1", 2, "restart", "gave up after 5 restarts"),
        alert(30, "pr-preview-482", 4, "cleanup", "undefine: Requested operation is not valid: domain has a managed save image, and a very long reason that wraps"),
        alert(90, "app-1", 2, "disk_full", "vda: I/O error (ENOSPC)"),
    ];
    update(&mut s, Msg::Cleanup(view));
    s
}

#[test]
fn a_opens_the_alerts_newest_first_and_x_acknowledges_the_one_under_the_cursor() {
    let mut s = alerted(false);
    press(&mut s, "A");
    assert_eq!(s.popup, Some(Popup::Alerts));
    insta::assert_snapshot!(screen(&mut s, 80, 24));
    press(&mut s, "j");
    let effects = press(&mut s, "x");
    match effects.as_slice() {
        [Effect::AckAlert(a)] => assert_eq!(a.vm_name, "pr-preview-482"),
        other => panic!("x acknowledges the alert under the cursor: {other:?}"),
    }
    // The cursor stops at the ends.
    press(&mut s, "jjjjj");
    assert_eq!(s.alerts_cursor, 2);
    press(&mut s, "g");
    assert_eq!(s.alerts_cursor, 0);
    // esc closes it.
    update(
        &mut s,
        crate::tui::tests::key(crossterm::event::KeyCode::Esc),
    );
    assert_eq!(s.popup, None);
}

#[test]
fn v_shows_only_the_selected_vms_alerts() {
    let mut s = alerted(false);
    select(&mut s, "app-1");
    press(&mut s, "Av");
    let shown: Vec<&str> = s.alerts_shown().iter().map(|a| a.action.as_str()).collect();
    assert_eq!(shown, ["restart", "disk_full"]);
    let text = screen(&mut s, 100, 30);
    assert!(text.contains("alerts of app-1 (2)"), "{text}");
    assert!(!text.contains("pr-preview-482 cleanup"), "{text}");
    press(&mut s, "v");
    assert_eq!(s.alerts_shown().len(), 3);
}

#[test]
fn readonly_says_why_x_does_nothing() {
    let mut s = alerted(true);
    press(&mut s, "A");
    assert!(press(&mut s, "x").is_empty());
    let flash = s.flash.as_ref().map(|f| f.0.clone()).unwrap_or_default();
    assert!(flash.contains("read-only"), "{flash}");
    assert!(flash.contains("acknowledge"), "{flash}");
}

#[test]
fn the_pane_points_to_the_view_when_alerts_do_not_fit() {
    let mut s = alerted(false);
    let mut view = s.cleanup.clone().unwrap();
    view.alerts = (0..8)
        .map(|i| alert(i, "app-1", 2, "restart", "x"))
        .collect();
    update(&mut s, Msg::Cleanup(view));
    let text = screen(&mut s, 160, 45);
    assert!(text.contains("… 3 more alerts (A)"), "{text}");
}
