//! Several hosts in one dashboard: identity (UUID + host), routing of actions, a hung
//! host, the filter and sort by host, and the screens with the host strip.

use chrono::Duration;

use super::*;
use crate::model::VmState;
use crate::tui::state::SortKey;
use crate::tui::tests::{fleet, now, permanent, press, screen, select, state, temporary, vm};
use crate::tui::update::{update, Effect, Msg};

/// The demo fleet on host 0 (hv1), two VMs on hv2 (one with the same UUID and name as
/// a VM of hv1: a copy), one on hv3.
fn three_hosts() -> crate::tui::state::State {
    let mut s = state();
    s.hosts[0].name = "hv1".into();
    for (name, uri) in [
        ("hv2", "qemu+ssh://hv2/system"),
        ("hv3", "qemu+ssh://hv3/system"),
    ] {
        let mut h = HostPane::new(name, uri);
        h.engine = "engine: daemon on host".into();
        s.hosts.push(h);
    }
    update(
        &mut s,
        Msg::Snapshot {
            host: 1,
            vms: vec![
                vm(1, "db-1", VmState::Running, permanent()),
                vm(40, "build-9", VmState::Running, temporary(7200, 4.0)),
                vm(41, "old-3", VmState::Stopped, temporary(7200, 1.0)),
            ],
            at: now(),
            rtt_ms: Some(14),
        },
    );
    update(
        &mut s,
        Msg::Snapshot {
            host: 2,
            vms: vec![vm(50, "mail-2", VmState::Stopped, permanent())],
            at: now(),
            rtt_ms: Some(31),
        },
    );
    s
}

fn rows_named(s: &crate::tui::state::State, name: &str) -> Vec<(u16, String)> {
    s.rows
        .iter()
        .map(|&i| &s.vms[i])
        .filter(|v| v.snapshot.vm_name == name)
        .map(|v| (v.host, v.key.to_string()))
        .collect()
}

#[test]
fn same_uuid_on_two_hosts_is_two_rows() {
    let s = three_hosts();
    assert_eq!(s.vms.len(), fleet().len() + 4);
    let db = rows_named(&s, "db-1");
    assert_eq!(db.len(), 2, "{db:?}");
    assert_eq!(db[0].0, 0);
    assert_eq!(db[1].0, 1);
    assert_ne!(db[0].1, db[1].1, "different keys");
    assert!(db[1].1.ends_with("@1"));
}

#[test]
fn an_action_goes_to_the_vms_own_host_and_the_selection_stays() {
    let mut s = three_hosts();
    let i = s
        .rows
        .iter()
        .position(|&i| s.vms[i].snapshot.vm_name == "db-1" && s.vms[i].host == 1)
        .unwrap();
    s.select_row(i);
    // A new snapshot of host 0 (its db-1 has the same UUID) leaves the selection on hv2's.
    update(
        &mut s,
        Msg::Snapshot {
            host: 0,
            vms: fleet(),
            at: now() + Duration::seconds(2),
            rtt_ms: Some(3),
        },
    );
    let v = s.selected_vm().unwrap();
    assert_eq!((v.host, v.snapshot.vm_name.as_str()), (1, "db-1"));
    // `D` (destroy) asks first; yes goes to host 1's executor with the real UUID.
    assert!(press(&mut s, "D").is_empty());
    let effects = press(&mut s, "y");
    let routed: Vec<(u16, String)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Execute(h, c) => Some((*h, c.vm_id.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(routed.len(), 1, "{effects:?}");
    assert_eq!(routed[0].0, 1);
    assert!(!routed[0].1.contains('@'), "the executor gets the UUID");
    assert!(s.busy.iter().any(|k| k.ends_with("@1")));
    assert!(
        s.activity[0].text.ends_with("on hv2"),
        "{}",
        s.activity[0].text
    );
    // Its result polls that host again.
    let key = s.selected_vm().unwrap().key.clone();
    let step = update(
        &mut s,
        Msg::ActionFinished {
            vm_id: key,
            action: "destroy".into(),
            status: crate::tui::state::ActivityStatus::Ok,
            text: "destroyed db-1".into(),
        },
    );
    assert_eq!(step.effects, vec![Effect::PollNow(1)]);
    assert!(s.busy.is_empty());
}

#[test]
fn a_hung_host_is_stale_while_the_others_refresh() {
    let mut s = three_hosts();
    update(
        &mut s,
        Msg::PollOverdue {
            host: 2,
            since: now(),
        },
    );
    let later = now() + Duration::seconds(12);
    s.now = later;
    assert_eq!(s.hosts[2].health(), "STALE");
    assert_eq!(
        s.hosts[2].problem(s.now).as_deref(),
        Some("no answer for 10s")
    );
    // Another host's snapshot does not clear it, nor wait for it.
    update(
        &mut s,
        Msg::Snapshot {
            host: 1,
            vms: vec![vm(40, "build-9", VmState::Paused, temporary(7200, 4.0))],
            at: later,
            rtt_ms: Some(12),
        },
    );
    assert_eq!(s.hosts[1].health(), "live");
    assert_eq!(s.hosts[2].health(), "STALE");
    assert_eq!(
        rows_named(&s, "mail-2").len(),
        1,
        "its last VMs stay listed"
    );
    // Its own answer brings it back.
    update(
        &mut s,
        Msg::Snapshot {
            host: 2,
            vms: vec![vm(50, "mail-2", VmState::Stopped, permanent())],
            at: later,
            rtt_ms: Some(20_000),
        },
    );
    assert_eq!(s.hosts[2].health(), "live");
    // A host that cannot be connected is DOWN, and its VMs refuse actions.
    update(
        &mut s,
        Msg::HostDown {
            host: 2,
            error: "cannot connect".into(),
        },
    );
    assert_eq!(s.hosts[2].health(), "DOWN");
    select(&mut s, "mail-2");
    assert!(press(&mut s, "u").is_empty());
    assert!(s.flash.as_ref().unwrap().0.contains("hv3 is DOWN"));
}

#[test]
fn filter_and_sort_by_host() {
    let mut s = three_hosts();
    s.filter = "host:hv2".into();
    s.refresh_rows();
    let hosts: Vec<u16> = s.rows.iter().map(|&i| s.vms[i].host).collect();
    assert_eq!(hosts, [1, 1, 1]);
    s.filter = "host:hv db".into();
    s.refresh_rows();
    assert_eq!(s.rows.len(), 2);
    s.filter.clear();
    s.sort = SortKey::Host;
    s.sort_reverse = true;
    s.refresh_rows();
    assert_eq!(s.vms[s.rows[0]].host, 2);
    // `s` offers the host sort only with several hosts.
    assert_eq!(SortKey::Uptime.next(3), SortKey::Host);
    assert_eq!(SortKey::Uptime.next(1), SortKey::Name);
}

#[test]
fn a_read_only_host_refuses_its_vms_actions_only() {
    let mut s = three_hosts();
    s.hosts[1].readonly = true;
    select(&mut s, "build-9");
    assert!(press(&mut s, "D").is_empty());
    assert!(s.popup.is_none());
    assert!(s.flash.as_ref().unwrap().0.starts_with("hv2 is read-only"));
    // Cleanup of another host's VM is its own engine's.
    s.hosts[1].readonly = false;
    select(&mut s, "old-3");
    press(&mut s, "c");
    assert!(
        s.flash
            .as_ref()
            .unwrap()
            .0
            .contains("vmlife --host hv2 cleanup"),
        "{:?}",
        s.flash
    );
}

#[test]
fn the_engine_sees_host_0_only() {
    let s = three_hosts();
    assert_eq!(s.hosts[0].vms.len(), fleet().len());
    assert!(s.hosts[0].vms.iter().all(|v| v.host == 0));
}

#[test]
fn screens_with_three_hosts() {
    let mut s = three_hosts();
    update(
        &mut s,
        Msg::PollOverdue {
            host: 2,
            since: now() - Duration::seconds(12),
        },
    );
    insta::assert_snapshot!("three_hosts_80x24", screen(&mut s, 80, 24));
    insta::assert_snapshot!("three_hosts_160x45", screen(&mut s, 160, 45));
}

#[test]
fn a_strip_too_short_for_all_hosts_shows_the_troubled_first() {
    let mut s = state();
    for i in 1..20u16 {
        s.hosts.push(HostPane::new(
            format!("hv{i:02}"),
            format!("qemu+ssh://hv{i}/system"),
        ));
        update(
            &mut s,
            Msg::Snapshot {
                host: i,
                vms: vec![vm(100 + u32::from(i), "x", VmState::Running, permanent())],
                at: now(),
                rtt_ms: Some(5),
            },
        );
    }
    update(
        &mut s,
        Msg::HostDown {
            host: 17,
            error: "no route to host".into(),
        },
    );
    let text = screen(&mut s, 100, 24);
    let strip: Vec<&str> = text.lines().skip(2).take(3).collect();
    assert!(
        strip[0].contains("hv17") && strip[0].contains("DOWN"),
        "{text}"
    );
    assert!(strip[2].contains("… 18 more hosts, all live"), "{text}");
}

#[test]
fn a_refreshed_figure_of_another_host_is_taken() {
    let mut s = three_hosts();
    let mut vms = vec![
        vm(1, "db-1", VmState::Running, permanent()),
        vm(40, "build-9", VmState::Running, temporary(7200, 4.0)),
        vm(41, "old-3", VmState::Stopped, temporary(7200, 1.0)),
    ];
    // Taken at 0 s, the address stale at 62 s; asked again at 60 s: stale at 122 s.
    for (at, until) in [(0, 62), (60, 122)] {
        vms[0].freshness.addresses = crate::poll::Age::Until(now() + Duration::seconds(until));
        update(
            &mut s,
            Msg::Snapshot {
                host: 1,
                vms: vms.clone(),
                at: now() + Duration::seconds(at),
                rtt_ms: Some(3),
            },
        );
    }
    let until = now() + Duration::seconds(122);
    let db = s
        .vms
        .iter()
        .find(|v| v.host == 1 && v.snapshot.vm_name == "db-1")
        .unwrap();
    assert_eq!(db.freshness.addresses, crate::poll::Age::Until(until));
}

#[test]
fn keys_carry_their_host_and_a_gone_vm_polls_its_own() {
    assert_eq!(host_of_key(&key_of("u-1", 3)), 3);
    assert_eq!(host_of_key("00000000-0000-4000-8000-000000000001"), 0);
    let mut s = three_hosts();
    // The VM was undefined: no row any more, and still its host is polled.
    let step = update(
        &mut s,
        Msg::ActionFinished {
            vm_id: key_of("gone", 2),
            action: "undefine".into(),
            status: crate::tui::state::ActivityStatus::Ok,
            text: "undefined".into(),
        },
    );
    assert_eq!(step.effects, vec![Effect::PollNow(2)]);
}

#[test]
fn confirmations_name_the_host_and_a_read_only_first_host_refuses_rounds() {
    let mut s = three_hosts();
    select(&mut s, "build-9");
    press(&mut s, "D");
    match &s.popup {
        Some(crate::tui::state::Popup::Confirm(c)) => {
            assert_eq!(c.title, "DESTROY build-9 on hv2?");
            assert!(c.lines[0].contains("on hv2)"), "{:?}", c.lines);
        }
        other => panic!("{other:?}"),
    }
    press(&mut s, "n");
    s.hosts[0].readonly = true;
    assert!(press(&mut s, "C").is_empty());
    assert!(s.flash.as_ref().unwrap().0.starts_with("hv1 is read-only"));
}

#[test]
fn a_host_with_the_same_vms_is_updated_in_place_else_merged_anew() {
    let mut s = three_hosts();
    let before = s.vms.len();
    let mut vms = vec![
        vm(1, "db-1", VmState::Running, permanent()),
        vm(40, "build-9", VmState::Running, temporary(7200, 4.0)),
        vm(41, "old-3", VmState::Stopped, temporary(7200, 1.0)),
    ];
    vms[1].snapshot.cpu_usage_percent = Some(99.0);
    let at = now() + Duration::seconds(10);
    let snapshot = |vms| Msg::Snapshot {
        host: 1,
        vms,
        at,
        rtt_ms: Some(3),
    };
    let list = Arc::as_ptr(&s.vms).cast::<u8>();
    update(&mut s, snapshot(vms.clone()));
    assert_eq!(s.vms.len(), before);
    assert_eq!(
        Arc::as_ptr(&s.vms).cast::<u8>(),
        list,
        "the same list, updated in place"
    );
    let cpu = |s: &crate::tui::state::State, name: &str| {
        s.vms
            .iter()
            .find(|v| v.host == 1 && v.snapshot.vm_name == name)
            .and_then(|v| v.snapshot.cpu_usage_percent)
    };
    assert_eq!(cpu(&s, "build-9"), Some(99.0));
    // Sorted by CPU, it moves to the top.
    s.sort = SortKey::Cpu;
    s.refresh_rows();
    assert_eq!(s.vms[s.rows[0]].snapshot.vm_name, "build-9");
    // One VM more: merged anew, every row there.
    vms.push(vm(42, "new-4", VmState::Running, permanent()));
    update(&mut s, snapshot(vms));
    assert_eq!(s.vms.len(), before + 1);
    assert_eq!(s.rows.len(), before + 1);
    assert!(s
        .vms
        .iter()
        .any(|v| v.host == 1 && v.snapshot.vm_name == "new-4"));
    assert_eq!(s.vms.iter().filter(|v| v.host == 2).count(), 1);
}

#[test]
fn a_light_poll_updates_its_rows_in_place_and_keeps_the_others() {
    let mut s = three_hosts();
    let before = s.vms.len();
    let list = Arc::as_ptr(&s.vms).cast::<u8>();
    let db_before = s
        .vms
        .iter()
        .find(|v| v.host == 1 && v.snapshot.vm_name == "db-1")
        .cloned()
        .unwrap();
    let mut build = vm(40, "build-9", VmState::Running, temporary(7200, 4.0));
    build.snapshot.cpu_usage_percent = Some(77.0);
    let rows = |vms, rtt| Msg::Rows {
        host: 1,
        vms,
        at: now() + Duration::seconds(2),
        rtt_ms: Some(rtt),
    };
    let step = update(&mut s, rows(vec![build.clone()], 5));
    assert!(step.redraw);
    assert_eq!(s.vms.len(), before, "the host's other VMs stay");
    assert_eq!(Arc::as_ptr(&s.vms).cast::<u8>(), list, "updated in place");
    let of = |s: &crate::tui::state::State, name: &str| {
        s.vms
            .iter()
            .find(|v| v.host == 1 && v.snapshot.vm_name == name)
            .map(|v| (v.key.to_string(), v.snapshot.cpu_usage_percent))
            .unwrap()
    };
    assert_eq!(of(&s, "build-9").1, Some(77.0));
    assert!(of(&s, "build-9").0.ends_with("@1"), "keyed by its host");
    assert!(s.hosts[1]
        .vms
        .iter()
        .any(|v| v.snapshot.cpu_usage_percent == Some(77.0)));
    assert_eq!(of(&s, "db-1").1, db_before.snapshot.cpu_usage_percent);
    assert_eq!(s.hosts[1].rtt_ms, Some(5));
    // Host 0's VM with the same UUID as hv2's db-1 is not touched.
    assert!(s
        .vms
        .iter()
        .filter(|v| v.host == 0)
        .all(|v| v.snapshot.cpu_usage_percent != Some(77.0)));

    // Sorted by CPU: a light poll's figure moves its row.
    s.sort = SortKey::Cpu;
    s.refresh_rows();
    let top = |s: &crate::tui::state::State| {
        let v = &s.vms[s.rows[0]];
        (v.host, v.snapshot.vm_name.clone())
    };
    assert_eq!(top(&s), (1, "build-9".to_string()));
    let mut mail = vm(50, "mail-2", VmState::Running, permanent());
    mail.snapshot.cpu_usage_percent = Some(99.5);
    update(
        &mut s,
        Msg::Rows {
            host: 2,
            vms: vec![mail],
            at: now() + Duration::seconds(2),
            rtt_ms: Some(4),
        },
    );
    assert_eq!(top(&s), (2, "mail-2".to_string()));
    s.sort = SortKey::Name;
    s.refresh_rows();

    // The same again, and no row in view: nothing to draw.
    assert!(!update(&mut s, rows(vec![build], 6)).redraw);
    assert!(!update(&mut s, rows(Vec::new(), 7)).redraw);
    assert_eq!(s.hosts[1].rtt_ms, Some(7));

    // A hung host that answers a light poll is live again (and drawn so).
    update(
        &mut s,
        Msg::PollOverdue {
            host: 1,
            since: now(),
        },
    );
    assert!(s.hosts[1].waiting_since.is_some());
    assert!(update(&mut s, rows(Vec::new(), 8)).redraw);
    assert!(s.hosts[1].waiting_since.is_none());
}
