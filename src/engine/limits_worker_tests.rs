//! The engine's limits: applied only when asked, due VMs only, failures not retried.

use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::*;
use crate::executor::JobId;
use crate::hypervisor::fake::{running, FakeHypervisor, FakeTunables};
use crate::lifecycle::Actor;
use crate::metadata::{self, LifecycleMeta};
use crate::poll::{Poller, PollerOptions};

fn fake() -> Arc<FakeHypervisor> {
    let fake = Arc::new(FakeHypervisor::new());
    let mut d = running("m", "vm-m");
    d.details.memory_max_kib = Some(1024 * 1024);
    d.details.vcpus = Some(2);
    d.metadata = Some(metadata::to_xml(&LifecycleMeta::default()));
    fake.put(d);
    fake
}

fn vms(fake: &Arc<FakeHypervisor>) -> Vec<Vm> {
    let mut p = Poller::new(fake.clone(), PollerOptions::default());
    p.poll(Utc.timestamp_opt(1_000_000, 0).unwrap()).unwrap()
}

fn applying() -> Config {
    let mut c = Config::default();
    c.limits.apply = true;
    c
}

fn result(cmd: Command, outcome: Outcome) -> ExecResult {
    ExecResult {
        job: JobId(1),
        cmd,
        actor: Actor::Engine,
        outcome,
        journal_error: None,
    }
}

fn kinds(cmds: &[Command]) -> Vec<LimitKind> {
    cmds.iter()
        .filter_map(|c| match &c.op {
            Op::SetLimit { value, .. } => Some(value.kind()),
            _ => None,
        })
        .collect()
}

#[test]
fn report_only_unless_apply() {
    assert!(LimitsEngine::from_config(&Config::default()).is_none());
    assert!(LimitsEngine::from_config(&applying()).is_some());
}

#[test]
fn due_vms_get_their_steps_and_a_failure_is_not_retried() {
    let fake = fake();
    let views = vms(&fake);
    let mut l = LimitsEngine::from_config(&applying()).unwrap();
    let cmds = l.step(&*fake, &views, 100);
    assert_eq!(
        kinds(&cmds),
        [LimitKind::Memory, LimitKind::Cpu],
        "disk is off by default"
    );
    // In flight: not planned again.
    assert!(l.step(&*fake, &views, 100 + RECONCILE_EVERY).is_empty());
    // Memory set; the CPU quota refused by the driver.
    let mut cmds = cmds.into_iter();
    l.on_result(&result(cmds.next().unwrap(), Outcome::Ok("set".into())));
    l.on_result(&result(
        cmds.next().unwrap(),
        Outcome::Failed("not supported".into()),
    ));
    fake.set_tunables(
        "m",
        FakeTunables {
            hard_limit_kib: Some(1024 * 1024 + 256 * 1024),
            ..FakeTunables::default()
        },
    );
    // Not due yet; then due, and nothing is left to do: memory ok, cpu remembered.
    assert!(l.step(&*fake, &views, 101).is_empty());
    assert!(l.step(&*fake, &views, 100 + 2 * RECONCILE_EVERY).is_empty());
    // A new definition (more vCPUs): the CPU quota is tried once more, at once.
    fake.update("m", |d| d.details.vcpus = Some(4));
    let mut p = Poller::new(fake.clone(), PollerOptions::default());
    let views = p.poll(Utc.timestamp_opt(1_000_100, 0).unwrap()).unwrap();
    let cmds = l.step(&*fake, &views, 100 + 2 * RECONCILE_EVERY + 1);
    assert_eq!(kinds(&cmds), [LimitKind::Cpu]);
}

#[test]
fn a_refused_read_plans_nothing_and_a_fired_threshold_is_not_re_armed() {
    let fake = fake();
    let mut t = FakeTunables::default();
    t.refuse.insert("memory");
    t.refuse.insert("cpu");
    fake.set_tunables("m", t);
    let views = vms(&fake);
    let mut l = LimitsEngine::from_config(&applying()).unwrap();
    assert!(l.step(&*fake, &views, 1).is_empty());
    let d = l.declared_of("m");
    l.on_event(
        &DomainEvent::BlockThreshold {
            uuid: "m".into(),
            name: "vm-m".into(),
            dev: "vda".into(),
            path: String::new(),
            threshold: 9,
            excess: 1,
        },
        d,
    );
    assert_eq!(l.fired("m"), BTreeSet::from(["vda".to_string()]));
}
