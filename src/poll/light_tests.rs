//! The dashboard's light poll (`Poller::poll_rows`): another host's running count and
//! its VMs in view between full polls; nothing of its other domains is asked, nothing
//! of them is forgotten, and a moved running set asks for a full poll.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use crate::hypervisor::fake::{running, FakeHypervisor};
use crate::hypervisor::RunState;
use crate::poll::{Poller, PollerOptions, ViewOptions};

fn at_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_000_000_000 + ms).unwrap()
}

/// Six running VMs `u0`…`u5`.
fn host() -> Arc<FakeHypervisor> {
    let fake = Arc::new(FakeHypervisor::new());
    for i in 0..6 {
        fake.put(running(&format!("u{i}"), &format!("vm-{i}")));
    }
    fake
}

fn dashboard(fake: &Arc<FakeHypervisor>) -> Poller {
    dashboard_every(fake, 1)
}

/// [`dashboard`] with its figures every `every` refreshes while no VM is selected.
fn dashboard_every(fake: &Arc<FakeHypervisor>, every: u32) -> Poller {
    let mut p = Poller::new(
        fake.clone(),
        PollerOptions {
            view: Some(ViewOptions {
                refresh_ms: 2_000,
                memory_disk_ms: 15_000,
                procfs: false,
                unfocused_every: every,
            }),
            ..PollerOptions::default()
        },
    );
    p.set_view(vec!["u1".into(), "u4".into()]);
    p
}

/// The calls that reach the host, since the last clear (XML reads left out).
fn host_calls(fake: &FakeHypervisor) -> Vec<String> {
    let calls = fake
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("stats") || c == "poll" || c == "running_count")
        .collect();
    fake.clear_calls();
    calls
}

#[test]
fn a_light_poll_asks_the_running_count_and_the_rows_in_view_only() {
    let fake = host();
    let mut p = dashboard(&fake);
    assert_eq!(p.poll(at_ms(0)).unwrap().len(), 6);
    fake.clear_calls();

    let rows = p.poll_rows(at_ms(2_000), true).unwrap();
    let calls = host_calls(&fake);
    assert_eq!(calls.last().map(String::as_str), Some("running_count"));
    assert!(calls.iter().all(|c| c != "poll"), "{calls:?}");
    let stats: Vec<&String> = calls.iter().filter(|c| c.starts_with("stats")).collect();
    assert!(!stats.is_empty(), "{calls:?}");
    for c in &stats {
        assert!(c.ends_with(" u1,u4"), "only the rows in view: {c}");
    }
    let mut uuids: Vec<&str> = rows.vms.iter().map(|v| v.uuid.as_str()).collect();
    uuids.sort_unstable();
    assert_eq!(uuids, ["u1", "u4"]);
    assert!(!rows.full_due);
    // The others are not forgotten: the next full poll still knows their XML.
    fake.clear_calls();
    assert_eq!(p.poll(at_ms(4_000)).unwrap().len(), 6);
    assert!(
        fake.calls().iter().all(|c| !c.starts_with("details")),
        "{:?}",
        fake.calls()
    );
}

#[test]
fn no_row_in_view_costs_one_round_trip() {
    let fake = host();
    let mut p = dashboard(&fake);
    p.poll(at_ms(0)).unwrap();
    p.set_view(Vec::new());
    fake.clear_calls();
    let rows = p.poll_rows(at_ms(2_000), true).unwrap();
    assert_eq!(host_calls(&fake), ["running_count"]);
    assert!(rows.vms.is_empty());
    assert!(!rows.full_due);
    assert!(rows.counted);
}

#[test]
fn a_moved_running_set_asks_for_a_full_poll() {
    // A VM out of view stopped (its event missed): the count says so.
    let fake = host();
    let mut p = dashboard(&fake);
    p.poll(at_ms(0)).unwrap();
    fake.update("u2", |d| d.raw.state = Some(RunState::Shutoff));
    assert!(p.poll_rows(at_ms(2_000), true).unwrap().full_due);

    // A VM in view stopped and another started: same count, the row's state says so,
    // and the row shows its new state at once.
    let fake = host();
    let mut p = dashboard(&fake);
    p.poll(at_ms(0)).unwrap();
    fake.update("u1", |d| d.raw.state = Some(RunState::Shutoff));
    fake.put(running("u9", "vm-9"));
    let rows = p.poll_rows(at_ms(2_000), true).unwrap();
    assert!(rows.full_due);
    let u1 = rows.vms.iter().find(|v| v.uuid == "u1").unwrap();
    assert_eq!(u1.snapshot.vm_state.to_string(), "stopped");

    // Still the same: no full poll asked.
    let fake = host();
    let mut p = dashboard(&fake);
    p.poll(at_ms(0)).unwrap();
    assert!(!p.poll_rows(at_ms(2_000), true).unwrap().full_due);
    assert!(!p.poll_rows(at_ms(4_000), true).unwrap().full_due);
}

#[test]
fn a_light_poll_fails_when_the_host_does_not_answer() {
    let fake = host();
    let mut p = dashboard(&fake);
    p.poll(at_ms(0)).unwrap();
    fake.fail_polls(Some(crate::hypervisor::HvError::new(
        crate::hypervisor::HvErrorKind::Connection,
        "connection reset",
    )));
    assert!(p.poll_rows(at_ms(2_000), true).is_err());
}

#[test]
fn without_the_count_the_rows_stats_call_is_the_one_round_trip() {
    let fake = host();
    let mut p = dashboard(&fake);
    p.poll(at_ms(0)).unwrap();
    fake.clear_calls();
    let rows = p.poll_rows(at_ms(2_000), false).unwrap();
    let calls = host_calls(&fake);
    assert!(calls.iter().all(|c| c.starts_with("stats")), "{calls:?}");
    assert_eq!(rows.vms.len(), 2);
    assert!(!rows.counted);
    // A stats call that fails then fails the light poll (the host may be gone).
    fake.fail_polls(Some(crate::hypervisor::HvError::new(
        crate::hypervisor::HvErrorKind::Connection,
        "connection reset",
    )));
    assert!(p.poll_rows(at_ms(4_000), false).is_err());
}

#[test]
fn another_hosts_figures_stay_current_for_its_longer_cadence() {
    let fake = host();
    let mut p = dashboard_every(&fake, 2);
    p.set_view(vec!["u1".into()]);
    // No VM of this host selected: every 2 refreshes, and current that long.
    assert_eq!(p.figures_every_ms(), Some(4_000));
    let vms = p.poll(at_ms(0)).unwrap();
    let u1 = vms.iter().find(|v| v.uuid == "u1").unwrap();
    assert_eq!(u1.freshness.memory, crate::poll::Age::Until(at_ms(19_000)));
    // Selected: every refresh again.
    p.set_focus(Some("u1".into()));
    assert_eq!(p.figures_every_ms(), Some(2_000));
    p.invalidate("u1");
    let vms = p.poll(at_ms(30_000)).unwrap();
    let u1 = vms.iter().find(|v| v.uuid == "u1").unwrap();
    assert_eq!(u1.freshness.memory, crate::poll::Age::Until(at_ms(47_000)));
}
