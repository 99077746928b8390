//! Statuses say what is true: a stopped VM says why (issue 14, point 2).

use crate::hypervisor::{RunState, ShutoffReason, StateReason};
use crate::model::VmState;
use crate::tui::tests::{permanent, screen, select, state_with, vm};

fn stopped(n: u32, name: &str, reason: ShutoffReason) -> crate::poll::Vm {
    let mut v = vm(n, name, VmState::Stopped, permanent());
    v.reason = StateReason::Shutoff(reason);
    if matches!(reason, ShutoffReason::Crashed | ShutoffReason::Failed) {
        v.snapshot.vm_state = VmState::Error;
    }
    v
}

#[test]
fn the_stop_reason_is_in_the_table_and_the_detail_pane() {
    let vms = vec![
        stopped(1, "saved-1", ShutoffReason::Saved),
        stopped(2, "crashed-2", ShutoffReason::Crashed),
        stopped(3, "destroyed-3", ShutoffReason::Destroyed),
        stopped(4, "down-4", ShutoffReason::Shutdown),
        stopped(5, "plain-5", ShutoffReason::Unknown),
        vm(6, "web-6", VmState::Running, permanent()),
    ];
    let mut s = state_with(vms, false);
    let text = screen(&mut s, 80, 24);
    insta::assert_snapshot!(text);
    let row = |name: &str| {
        text.lines()
            .find(|l| l.contains(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("saved-1").contains(" saved "), "{text}");
    assert!(row("crashed-2").contains(" crashed "), "{text}");
    assert!(row("destroyed-3").contains(" destroyed "), "{text}");
    assert!(row("down-4").contains(" shut down "), "{text}");
    assert!(row("plain-5").contains(" stopped "), "{text}");
    assert!(row("web-6").contains(" running "), "{text}");

    select(&mut s, "saved-1");
    crate::tui::tests::press(&mut s, "\r");
    s.show_detail = true;
    let text = screen(&mut s, 120, 40);
    assert!(text.contains("saved-1  stopped: saved"), "{text}");
}

#[test]
fn stop_reasons_by_state() {
    let mut v = stopped(1, "x", ShutoffReason::Saved);
    assert_eq!(v.stop_reason(), Some("saved"));
    assert_eq!(v.state_text(), "stopped: saved");
    v.reason = StateReason::Shutoff(ShutoffReason::Unknown);
    assert_eq!(v.stop_reason(), None);
    assert_eq!(v.state_text(), "stopped");
    v.state = Some(RunState::Crashed);
    assert_eq!(v.stop_reason(), Some("crashed"));
    let running = vm(2, "y", VmState::Running, permanent());
    assert_eq!(running.stop_reason(), None);
}
