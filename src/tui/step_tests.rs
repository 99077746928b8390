//! `update` says what to redraw and which services to call: services answer with
//! messages, never by writing the state.

use super::state::ActivityStatus;
use super::tests::{cleanup_view, fleet, now, state};
use super::update::{update, Effect, Msg};

#[test]
fn a_snapshot_asks_the_engine_and_redraws_only_when_it_changed_something() {
    let mut s = state();
    let step = update(&mut s, crate::tui::tests::snap(fleet(), now()));
    assert_eq!(step.effects, vec![Effect::EngineSnapshot]);
    assert!(!step.redraw, "the same fleet again");
    let mut vms = fleet();
    vms[0].snapshot.cpu_usage_percent = Some(99.0);
    assert!(update(&mut s, crate::tui::tests::snap(vms, now())).redraw);
}

#[test]
fn the_same_plan_again_is_not_redrawn() {
    let mut s = state();
    let view = cleanup_view(&s.vms.clone(), &Default::default());
    assert!(!update(&mut s, Msg::Cleanup(view.clone())).redraw);
    let mut other = view;
    other.next_round_at = None;
    assert!(update(&mut s, Msg::Cleanup(other)).redraw);
}

#[test]
fn engine_answers_are_applied_by_update() {
    let mut s = state();
    let step = update(
        &mut s,
        Msg::Pending {
            vm_id: "u-1".into(),
            vm_name: "vm-1".into(),
            action: "restart".into(),
            text: "engine: restart vm-1 — crashed".into(),
        },
    );
    assert!(step.redraw && step.effects.is_empty());
    assert!(s.busy.contains("u-1"));
    assert_eq!(s.activity[0].status, ActivityStatus::Pending);
    assert_eq!(s.running_actions(), 1);
    update(&mut s, Msg::Flash("hello".into()));
    assert_eq!(s.flash.as_ref().map(|f| f.0.as_str()), Some("hello"));
    let status = "engine: this dashboard".to_string();
    let engine = |manage_all_vms| Msg::Engine {
        status: status.clone(),
        manage_all_vms,
    };
    assert!(update(&mut s, engine(true)).redraw);
    assert_eq!(s.engine, status);
    assert!(s.manage_all_vms);
    assert!(!update(&mut s, engine(true)).redraw, "nothing new");
}
