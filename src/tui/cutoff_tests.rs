//! Nothing important is cut off at 80×24: a failure's VM, `engine:` and reason, the
//! header's error, a long confirmation's yes/no line, an alert (issue 14, point 1).

use crate::tui::state::ActivityStatus;
use crate::tui::tests::{press, screen, select, stale, state};
use crate::tui::update::{finished_text, update, Msg};

/// The screen's lines, each trimmed of the frame's quotes.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim_matches('"').to_string())
        .collect()
}

#[test]
fn an_engine_failure_keeps_its_vm_prefix_and_whole_reason_at_80x24() {
    let mut s = state();
    let uuid = s
        .vms
        .iter()
        .find(|v| v.snapshot.vm_name == "pr-preview-482")
        .unwrap()
        .uuid
        .clone();
    update(
        &mut s,
        Msg::Pending {
            vm_id: uuid.clone(),
            vm_name: "pr-preview-482".into(),
            action: "cleanup".into(),
            text: "engine: clean up pr-preview-482 — expired 1h ago".into(),
        },
    );
    update(
        &mut s,
        Msg::ActionFinished {
            vm_id: uuid,
            action: "cleanup".into(),
            status: ActivityStatus::Failed,
            text: "error: destroy: Requested operation is not valid: domain is not running".into(),
        },
    );
    let text = screen(&mut s, 80, 24);
    insta::assert_snapshot!(text);
    let pane = |text: &str| {
        lines(text)
            .iter()
            .skip(19)
            .take(3)
            .filter_map(|l| l.split('│').nth(1))
            .map(|l| l.trim().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        pane(&text).contains("FAILED  engine: clean up pr-preview-482: error:"),
        "{text}"
    );
    // The rest of the reason is a scroll away (tab to the pane, down), never cut.
    update(
        &mut s,
        crate::tui::tests::key(crossterm::event::KeyCode::Tab),
    );
    update(
        &mut s,
        crate::tui::tests::key(crossterm::event::KeyCode::Down),
    );
    update(
        &mut s,
        crate::tui::tests::key(crossterm::event::KeyCode::Down),
    );
    let text = screen(&mut s, 80, 24);
    assert!(pane(&text).contains("domain is not running"), "{text}");
}

#[test]
fn results_keep_what_was_asked() {
    let cases = [
        // (pending text, VM, result, line)
        ("shutdown db-1", "db-1", "shut down db-1", "shut down db-1"),
        (
            "destroy ci-7",
            "ci-7",
            "error: libvirt: gone",
            "destroy ci-7: error: libvirt: gone",
        ),
        (
            "engine: clean up ci-7 — expired",
            "ci-7",
            "error: undefine: busy",
            "engine: clean up ci-7: error: undefine: busy",
        ),
        (
            "engine: clean up ci-7 — expired",
            "ci-7",
            "cleaned up ci-7 (2 volumes)",
            "engine: cleaned up ci-7 (2 volumes)",
        ),
        (
            "start web on hv2",
            "web",
            "error: x",
            "start web on hv2: error: x",
        ),
        ("", "web", "started web", "started web"),
    ];
    for (asked, vm, result, want) in cases {
        assert_eq!(
            finished_text(asked, vm, result),
            want,
            "{asked:?} + {result:?}"
        );
    }
}

#[test]
fn the_header_error_does_not_repeat_the_uri_and_stale_stays_whole_at_80x24() {
    let mut s = stale("cannot connect to qemu:///system: Connection reset by peer");
    let text = screen(&mut s, 80, 24);
    insta::assert_snapshot!(text);
    let first = &lines(&text)[0];
    assert!(first.contains(" STALE "), "{first}");
    assert!(
        first.contains("cannot connect: Connection reset by peer"),
        "{first}"
    );
    assert_eq!(first.matches("qemu:///system").count(), 1, "{first}");
}

#[test]
fn a_long_confirmation_keeps_its_yes_no_line_and_scrolls() {
    let mut s = state();
    let plan: Vec<String> = (0..40)
        .map(|i| format!("  {}. start vm-{i:02} (after its dependencies, then wait 30 s for it to answer on 127.0.0.1:22)", i + 1))
        .collect();
    update(&mut s, Msg::AutostartPrepared(Ok(plan)));
    let text = screen(&mut s, 80, 24);
    insta::assert_snapshot!(text);
    assert!(text.contains("y yes, do it"), "{text}");
    assert!(text.contains("1. start vm-00"), "{text}");
    assert!(!text.contains("vm-39"), "{text}");
    // The end of the plan is a key away, and the yes/no line is still there.
    press(&mut s, "G");
    let text = screen(&mut s, 80, 24);
    assert!(text.contains("40. start vm-39"), "{text}");
    assert!(text.contains("y yes, do it"), "{text}");
    // Scrolling is not an answer: the popup is still open.
    assert!(s.popup.is_some());
    press(&mut s, "n");
    assert!(s.popup.is_none());
}

#[test]
fn an_alert_wraps_in_the_cleanup_pane_at_80x24() {
    let mut s = state();
    select(&mut s, "app-1");
    let text = screen(&mut s, 80, 24);
    let pane: Vec<String> = lines(&text)
        .iter()
        .filter_map(|l| l.split('│').nth(3).map(|p| p.trim().to_string()))
        .collect();
    let alert = pane
        .iter()
        .position(|l| l.starts_with("ALERT"))
        .expect("alert shown");
    assert_eq!(
        format!("{} {}", pane[alert], pane[alert + 1]),
        "ALERT 12:00 app-1 restart: gave up after 5 restarts"
    );
}
