//! The selection follows its VM (by UUID) through snapshots, keys, filter and sort.

use crossterm::event::KeyCode;
use proptest::prelude::*;

use super::state::State;
use super::tests::{fleet, key, now, permanent, press, select, state, vm};
use super::update::update;
use crate::model::VmState;
use crate::poll::Vm;

fn selected_name(s: &State) -> Option<&str> {
    s.selected_vm().map(|v| v.snapshot.vm_name.as_str())
}

fn snapshot(s: &mut State, vms: Vec<Vm>) {
    update(s, crate::tui::tests::snap(vms, now()));
}

/// `name` stopped, as a destroy leaves it.
fn stopped(vms: &mut [Vm], name: &str) {
    let v = vms.iter_mut().find(|v| v.snapshot.vm_name == name).unwrap();
    v.snapshot.vm_state = VmState::Stopped;
}

#[test]
fn a_snapshot_that_reorders_the_vms_keeps_the_selected_vm() {
    // libvirt lists running domains before stopped ones: a destroyed VM moves in the
    // snapshot's order though not in the table's (sorted by name).
    let mut s = state();
    select(&mut s, "ci-runner-17");
    let mut vms = fleet();
    stopped(&mut vms, "ci-runner-17");
    let i = vms
        .iter()
        .position(|v| v.snapshot.vm_name == "ci-runner-17")
        .unwrap();
    let moved = vms.remove(i);
    vms.push(moved);
    snapshot(&mut s, vms);
    assert_eq!(selected_name(&s), Some("ci-runner-17"));
    // The keys that act at once hit the selected VM.
    let effects = press(&mut s, "u");
    let cmd = effects.iter().find_map(|e| match e {
        super::update::Effect::Execute(0, c) => Some(c.vm_name.clone()),
        _ => None,
    });
    assert_eq!(cmd.as_deref(), Some("ci-runner-17"));
}

#[test]
fn a_rename_elsewhere_moves_the_row_and_the_selection_with_it() {
    let mut s = state();
    select(&mut s, "app-1");
    let mut vms = fleet();
    let v = vms
        .iter_mut()
        .find(|v| v.snapshot.vm_name == "app-1")
        .unwrap();
    v.snapshot.vm_name = "zz-app".into();
    snapshot(&mut s, vms);
    assert_eq!(selected_name(&s), Some("zz-app"));
    assert_eq!(s.selected_row(), s.rows.len() - 1, "sorted last now");
    assert!(s.flash.is_none(), "nothing vanished: {:?}", s.flash);
}

#[test]
fn a_vanished_vm_selects_its_neighbour_and_says_so() {
    let mut s = state();
    select(&mut s, "ci-runner-17");
    s.detail_scroll = 3;
    let vms: Vec<Vm> = fleet()
        .into_iter()
        .filter(|v| v.snapshot.vm_name != "ci-runner-17")
        .collect();
    snapshot(&mut s, vms);
    // Sorted by name: app-1 broken-policy ci-runner-17 db-1 …: the one below it.
    assert_eq!(selected_name(&s), Some("db-1"));
    assert_eq!(s.detail_scroll, 0, "the detail pane starts at the top");
    let flash = s.flash.as_ref().map(|f| f.0.as_str());
    assert_eq!(flash, Some("ci-runner-17 is gone; selected db-1"));

    // The last row vanishes: the one above it.
    press(&mut s, "G");
    let last = selected_name(&s).unwrap().to_string();
    let above = s.vms[s.rows[s.rows.len() - 2]].snapshot.vm_name.clone();
    let vms: Vec<Vm> = s
        .vms
        .iter()
        .filter(|v| v.snapshot.vm_name != last)
        .cloned()
        .collect();
    snapshot(&mut s, vms);
    assert_eq!(selected_name(&s), Some(above.as_str()));

    // Every VM vanishes.
    snapshot(&mut s, Vec::new());
    assert_eq!(s.selected_vm().map(|v| v.uuid.clone()), None);
    let flash = s.flash.as_ref().map(|f| f.0.clone()).unwrap();
    assert_eq!(flash, format!("{above} is gone; no VM selected"));
    // VMs come back: the first row.
    snapshot(&mut s, fleet());
    assert_eq!(selected_name(&s), Some("app-1"));
}

#[test]
fn a_vm_leaving_the_filter_selects_its_neighbour_and_says_so() {
    let mut s = state();
    press(&mut s, "/running");
    update(&mut s, key(KeyCode::Enter));
    select(&mut s, "ci-runner-17");
    let mut vms = fleet();
    stopped(&mut vms, "ci-runner-17");
    snapshot(&mut s, vms);
    assert_eq!(selected_name(&s), Some("db-1"));
    let flash = s.flash.as_ref().map(|f| f.0.as_str());
    assert_eq!(
        flash,
        Some("ci-runner-17 no longer matches the filter; selected db-1")
    );
}

#[test]
fn typing_a_filter_keeps_a_matching_selection_else_takes_the_first_match() {
    let mut s = state();
    select(&mut s, "db-1");
    press(&mut s, "/d");
    assert_eq!(selected_name(&s), Some("db-1"), "db-1 matches d");
    press(&mut s, "b");
    assert_eq!(selected_name(&s), Some("db-1"));
    update(&mut s, key(KeyCode::Esc));
    select(&mut s, "legacy-mail");
    press(&mut s, "/ci");
    assert_eq!(selected_name(&s), Some("ci-runner-17"));
}

/// One step of a random session.
#[derive(Debug, Clone)]
enum Step {
    /// A snapshot of the VMs `present`, listed in the order of `order` keys, each
    /// running or not, some renamed.
    Snapshot {
        present: Vec<bool>,
        order: Vec<u8>,
        running: Vec<bool>,
        renamed: Vec<bool>,
    },
    /// A key (navigation, sort, filter).
    Keys(&'static str),
}

const UNIVERSE: usize = 8;

fn step() -> impl Strategy<Value = Step> {
    fn v<T: Arbitrary>() -> impl Strategy<Value = Vec<T>> {
        proptest::collection::vec(any::<T>(), UNIVERSE)
    }
    prop_oneof![
        3 => (v::<bool>(), v::<u8>(), v::<bool>(), v::<bool>()).prop_map(
            |(present, order, running, renamed)| Step::Snapshot {
                present,
                order,
                running,
                renamed,
            }
        ),
        1 => prop::sample::select(vec!["j", "k", "g", "G", "s", "S", "jj"]).prop_map(Step::Keys),
    ]
}

fn build(present: &[bool], order: &[u8], running: &[bool], renamed: &[bool]) -> Vec<Vm> {
    let mut vms: Vec<(u8, Vm)> = (0..UNIVERSE)
        .filter(|&i| present[i])
        .map(|i| {
            let n = i as u32 + 1;
            let name = if renamed[i] {
                format!("renamed-{}", UNIVERSE - i)
            } else {
                format!("vm-{i}")
            };
            let state = if running[i] {
                VmState::Running
            } else {
                VmState::Stopped
            };
            (order[i], vm(n, &name, state, permanent()))
        })
        .collect();
    vms.sort_by_key(|(k, _)| *k);
    vms.into_iter().map(|(_, v)| v).collect()
}

proptest! {
    /// Any sequence of snapshots (reordered, VMs renamed, started, stopped, vanishing)
    /// and keys keeps the selected UUID while that VM is shown; when it vanishes, the
    /// flash names it. The row index always points at the selected UUID.
    #[test]
    fn snapshots_keep_the_selected_uuid(
        filtered in any::<bool>(),
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let mut s = state();
        snapshot(&mut s, Vec::new());
        if filtered {
            press(&mut s, "/run");
            update(&mut s, key(KeyCode::Enter));
        }
        for st in steps {
            match st {
                Step::Keys(k) => {
                    press(&mut s, k);
                }
                Step::Snapshot { present, order, running, renamed } => {
                    let before = s.selected_vm().map(|v| (v.uuid.clone(), v.snapshot.vm_name.clone()));
                    s.flash = None;
                    let vms = build(&present, &order, &running, &renamed);
                    snapshot(&mut s, vms);
                    let shown = |uuid: &str| s.rows.iter().any(|&i| s.vms[i].uuid == uuid);
                    match before {
                        Some((uuid, _)) if shown(&uuid) => {
                            prop_assert_eq!(s.selected_id(), Some(uuid.as_str()));
                            prop_assert!(s.flash.is_none());
                        }
                        Some((_, name)) => {
                            let flash = s.flash.as_ref().map(|f| f.0.clone()).unwrap_or_default();
                            prop_assert!(flash.starts_with(&name), "{:?}", flash);
                            prop_assert_eq!(s.selected_vm().is_some(), !s.rows.is_empty());
                        }
                        None => prop_assert_eq!(s.selected_row(), 0),
                    }
                }
            }
            let at_row = s.selected_vm().map(|v| v.uuid.as_str());
            prop_assert_eq!(at_row, s.selected_id(), "row index and UUID agree");
            prop_assert!(s.rows.is_empty() || s.selected_row() < s.rows.len());
        }
    }
}
