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

#[test]
fn a_failed_cleanup_says_so_while_it_is_retried_and_running_while_it_runs() {
    use crate::lifecycle::cleanup::{LastFailure, VmCleanupLine, VmCleanupState};
    use crate::tui::present::cleanup_line_text;
    let mut l = VmCleanupLine {
        vm_name: "ci-7".into(),
        vm_id: "u".into(),
        expires_at: 0,
        state: VmCleanupState::Planned,
        retry_at: None,
        last_failure: Some(LastFailure {
            attempts: 2,
            error: "undefine: busy".into(),
        }),
    };
    assert_eq!(
        cleanup_line_text(&l),
        "FAILED 2×: undefine: busy · retried in this round"
    );
    l.state = VmCleanupState::AwaitingConfirmation;
    assert_eq!(
        cleanup_line_text(&l),
        "FAILED 2×: undefine: busy · retry awaits confirmation (y)"
    );
    l.last_failure = None;
    assert_eq!(cleanup_line_text(&l), "awaiting confirmation (y)");

    // The CLEANUP column: FAILED after a failure, running while the cleanup runs.
    let mut s = crate::tui::tests::state();
    let v = named(&s, "pr-preview-482");
    let row = |s: &mut crate::tui::state::State| {
        screen(s, 160, 45)
            .lines()
            .find(|l| l.contains("pr-preview-482"))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row(&mut s).contains(" due "), "{}", row(&mut s));
    if let Some(c) = s.cleanup.as_mut() {
        for l in c.lines.iter_mut().filter(|l| l.vm_id == v.uuid) {
            l.state = VmCleanupState::Failed {
                attempts: 1,
                error: "busy".into(),
            };
        }
    }
    assert!(row(&mut s).contains(" FAILED "), "{}", row(&mut s));
    crate::tui::update::update(
        &mut s,
        crate::tui::update::Msg::Pending {
            vm_id: v.key.clone(),
            vm_name: "pr-preview-482".into(),
            action: "cleanup".into(),
            text: "clean up pr-preview-482".into(),
        },
    );
    assert!(row(&mut s).contains(" running "), "{}", row(&mut s));
}

#[test]
fn the_pane_says_when_the_next_round_falls_outside_the_window() {
    let mut s = crate::tui::tests::state();
    let now = crate::tui::tests::now().timestamp();
    if let Some(c) = s.cleanup.as_mut() {
        c.next_round_at = Some(now + 1800);
        c.round_runs_at = Some(now + 14 * 3600);
    }
    let text = screen(&mut s, 160, 45);
    // The pane's lines, joined (the note wraps).
    let pane: String = text
        .lines()
        .filter_map(|l| l.split('│').nth(3))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        pane.contains("next round in 30m (outside the window: cleanup at 02:00, in 14h00m)"),
        "{pane}"
    );
    // A round inside the window says nothing more.
    if let Some(c) = s.cleanup.as_mut() {
        c.round_runs_at = c.next_round_at;
    }
    assert!(!screen(&mut s, 160, 45).contains("outside the window"));
}

#[test]
fn c_on_a_vm_awaiting_confirmation_asks_it_and_says_when_it_runs() {
    use crate::lifecycle::cleanup::{plan_round, Clock, RoundInputs, RoundRequest};
    use crate::tui::state::{Popup, Then};
    use crate::tui::update::{update, Msg};
    let mut s = crate::tui::tests::state();
    let policy = crate::model::VmCleanupPolicy {
        require_confirmation: true,
        cleanup_in_window_only: false,
        ..Default::default()
    };
    let mut view = crate::tui::tests::cleanup_view(&s.vms.clone(), &policy);
    view.window_only = false;
    update(&mut s, Msg::Cleanup(view));
    let v = named(&s, "pr-preview-482");
    let request = RoundRequest {
        manual: true,
        ignore_window: false,
        only: Some([v.uuid.clone()].into()),
    };
    let facts: Vec<_> = s.vms.iter().map(crate::poll::Vm::facts).collect();
    let clock = Clock {
        now: crate::tui::tests::now().timestamp(),
        local_minute: 12 * 60,
    };
    let plan = plan_round(&facts, &policy, &RoundInputs::default(), &request, clock);
    assert!(plan.commands.is_empty(), "parked, not planned");
    update(
        &mut s,
        Msg::CleanupPrepared {
            title: "Clean up pr-preview-482 now?".into(),
            plan,
            request,
        },
    );
    let Some(Popup::Confirm(c)) = &s.popup else {
        panic!(
            "c asks the confirmation, not 'nothing is due': {:?}",
            s.flash
        )
    };
    assert!(matches!(&c.then, Then::ConfirmParked(v) if v.len() == 1));
    assert!(
        c.lines[0].contains("a round starts now and cleans them up"),
        "{:?}",
        c.lines
    );

    // With the window closed, the dialog says when they really run.
    let mut s = crate::tui::tests::state();
    let mut view = crate::tui::tests::cleanup_view(&s.vms.clone(), &policy);
    view.window_only = true;
    view.window_opens_in_minutes = 14 * 60;
    update(&mut s, Msg::Cleanup(view));
    crate::tui::tests::press(&mut s, "y");
    let Some(Popup::Confirm(c)) = &s.popup else {
        panic!("y lists the parked cleanups")
    };
    assert!(
        c.lines[0].contains("when the window opens (02:00, in 14h00m)"),
        "{:?}",
        c.lines
    );
}

/// The VM of the demo fleet named `name`.
fn named(s: &crate::tui::state::State, name: &str) -> crate::poll::Vm {
    s.vms
        .iter()
        .find(|v| v.snapshot.vm_name == name)
        .cloned()
        .unwrap_or_else(|| panic!("no VM {name}"))
}
