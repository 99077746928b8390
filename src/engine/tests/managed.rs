//! Only managed VMs get the restart policy (docs/ARCHITECTURE.md, "Which VMs the engine acts on
//! by itself"): a VM without a vmlife element is observed only, unless the host opts
//! every VM in with `[engine] manage_all_vms`.

use super::*;

/// A running VM without any vmlife element (the defaults would say `always`).
fn unmanaged(uuid: &str) -> FakeDomain {
    running(uuid, &format!("vm-{uuid}"))
}

/// `u` (no element) and `m` (an element with the same defaults) both stop at t0 + 5,
/// after a guest power-off the events report and after a crash; returns what the engine
/// planned each time.
fn stops(manage_all_vms: bool) -> Vec<Vec<String>> {
    let mut b = Bench::new(settings(|s| s.manage_all_vms = manage_all_vms));
    b.fake.put(unmanaged("u"));
    b.fake.put(with_meta(running("m", "vm-m"), |m| {
        m.state.restart_count = 0
    }));
    let mut t = t0();
    assert!(b.snap(t).is_empty());
    let mut out = Vec::new();
    // A guest power-off (what `poweroff` inside the guest does).
    for u in ["u", "m"] {
        b.core.on_event(
            &EngineEvent {
                uuid: u.into(),
                kind: EventKind::ShutdownByGuest,
            },
            at(t + 1),
        );
        b.set_state(u, RunState::Shutoff, ShutoffReason::Shutdown);
    }
    t += 5;
    let p = b.snap(t);
    out.push(uuids(&p).iter().map(|s| s.to_string()).collect());
    for planned in &p {
        b.set_state(&planned.cmd.vm_id, RunState::Running, RunningReason::Booted);
        b.finish(planned, Outcome::Ok("restarted".into()), t + 1);
    }
    // Back to running for both, then a crash.
    for u in ["u", "m"] {
        b.set_state(u, RunState::Running, RunningReason::Booted);
    }
    t += 5;
    assert!(b.snap(t).is_empty());
    for u in ["u", "m"] {
        b.set_state(u, RunState::Shutoff, ShutoffReason::Crashed);
    }
    t += 5;
    let p = b.snap(t);
    out.push(uuids(&p).iter().map(|s| s.to_string()).collect());
    assert!(b.core.take_alerts().is_empty(), "no alert for either");
    out
}

#[test]
fn an_unmanaged_vm_is_never_restarted_by_the_policy() {
    assert_eq!(stops(false), [vec!["m".to_string()], vec!["m".to_string()]]);
}

#[test]
fn manage_all_vms_opts_every_vm_in() {
    let both = vec!["m".to_string(), "u".to_string()];
    let got: Vec<Vec<String>> = stops(true)
        .into_iter()
        .map(|mut v| {
            v.sort();
            v
        })
        .collect();
    assert_eq!(got, [both.clone(), both]);
}

#[test]
fn an_invalid_element_is_not_taken_for_no_element() {
    // Invalid policy: never acted on, and it is not the "not managed" case either.
    let mut b = Bench::new(EngineSettings::default());
    let mut d = running("x", "vm-x");
    d.metadata = Some(
        "<lifecycle xmlns=\"urn:vmlife:lifecycle:1\"><persistence mode=\"bogus\"/></lifecycle>"
            .into(),
    );
    b.fake.put(d);
    let views = b.poller.poll(at(t0())).unwrap();
    assert!(crate::engine::has_vmlife_element(&views[0]));
    assert!(views[0].meta.is_err());
    assert!(b.core.on_snapshot(&views, at(t0())).is_empty());
}
