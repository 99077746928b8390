//! What the poller is told is in view, and how awaited and stale figures look.

use crossterm::event::KeyCode;

use super::state::State;
use super::tests::{key, now, permanent, screen, state_with, vm};
use super::update::update;
use super::visible::in_view;
use crate::model::VmState;
use crate::poll::{Age, Vm};

/// Forty running VMs `vm-00`…`vm-39`.
fn many() -> Vec<Vm> {
    (0..40)
        .map(|i| vm(i + 1, &format!("vm-{i:02}"), VmState::Running, permanent()))
        .collect()
}

fn names(s: &State, uuids: &[crate::model::Uuid]) -> Vec<String> {
    uuids
        .iter()
        .map(|u| {
            s.vms
                .iter()
                .find(|v| &v.uuid == u)
                .map(|v| v.snapshot.vm_name.clone())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn the_rows_on_screen_are_in_view_and_scrolling_brings_new_ones() {
    let mut s = state_with(many(), false);
    update(&mut s, super::update::Msg::Resize(100, 24));
    let v = in_view(&s);
    let shown = names(&s, &v.rows);
    let rows = super::layout::table_viewport(s.size, s.show_detail, s.strip_lines()) as usize;
    assert_eq!(shown.len(), rows, "{shown:?}");
    assert_eq!(shown.first().map(String::as_str), Some("vm-00"));
    assert_eq!(v.focus.as_ref(), v.rows.first());
    // Scroll one page past the bottom: the new rows are in view, the top ones are not.
    for _ in 0..rows + 3 {
        update(&mut s, key(KeyCode::Down));
    }
    let after = names(&s, &in_view(&s).rows);
    assert!(after.contains(&format!("vm-{:02}", rows + 3)), "{after:?}");
    assert!(!after.contains(&"vm-00".to_string()), "{after:?}");
    // A filter changes the rows, and so what is in view.
    for c in "/vm-3".chars() {
        update(&mut s, super::tests::ch(c));
    }
    update(&mut s, key(KeyCode::Enter));
    let filtered = names(&s, &in_view(&s).rows);
    assert!(
        filtered.iter().all(|n| n.starts_with("vm-3")),
        "{filtered:?}"
    );
    assert_eq!(filtered.len(), 10);
}

#[test]
fn awaited_and_stale_figures_and_unread_policies_are_marked() {
    let mut vms = many();
    vms.truncate(3);
    let later = now() + chrono::Duration::seconds(60);
    // vm-00: figures 60 s past their cadence; vm-01: awaited; vm-02: XML not read.
    vms[0].snapshot.ip_addresses = vec!["10.0.0.5".to_string()].into();
    vms[0].freshness.cpu = Age::Until(now());
    vms[0].freshness.memory = Age::Until(now());
    vms[0].freshness.disk = Age::Until(later);
    vms[0].freshness.addresses = Age::Until(now());
    vms[0].snapshot.disk_usage_gb = Some(1.5);
    vms[1].snapshot.cpu_usage_percent = None;
    vms[1].freshness.cpu = Age::Pending;
    vms[1].freshness.memory = Age::Pending;
    vms[1].snapshot.memory_usage_mb = None;
    vms[2].pending = true;
    let mut s = state_with(vms, false);
    update(
        &mut s,
        super::update::Msg::Tick(now() + chrono::Duration::seconds(1)),
    );
    let text = screen(&mut s, 150, 20);
    insta::assert_snapshot!(text);
    let row = |name: &str| {
        text.lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("vm-00").contains("~"), "stale: {}", row("vm-00"));
    assert!(text.contains("~10.0.0.5"), "the detail pane's addresses");
    assert!(!row("vm-00").contains("~1.5G"), "disk not stale yet");
    assert!(row("vm-01").contains('…'), "awaited: {}", row("vm-01"));
    assert!(
        row("vm-02").contains('…'),
        "policy not read: {}",
        row("vm-02")
    );
}
