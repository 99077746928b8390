//! Property tests of the pressure planner's rules (module docs), over random hosts.

use proptest::prelude::*;

use super::*;
use crate::lifecycle::Op;

fn action() -> impl Strategy<Value = PressureAction> {
    prop::sample::select(PressureAction::ALL.to_vec())
}

fn cause() -> impl Strategy<Value = Cause> {
    prop_oneof![Just(Cause::MemoryPressure), Just(Cause::DiskFull)]
}

fn run() -> impl Strategy<Value = RunState> {
    prop_oneof![
        3 => Just(RunState::Running),
        2 => Just(RunState::Paused),
        1 => Just(RunState::ShutOff),
        1 => Just(RunState::Other),
    ]
}

fn vm(i: usize) -> impl Strategy<Value = VmPressureFacts> {
    (
        (
            any::<bool>(),
            any::<bool>(),
            0u64..4,
            run(),
            prop::bool::weighted(0.85),
        ),
        (prop::option::of(action()), prop::option::of(action())),
        prop::option::of((cause(), 0i64..1000)),
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            move |((managed, temp, mem, run, valid), (om, od), by, disk)| VmPressureFacts {
                uuid: format!("uuid-{i}").into(),
                name: format!("vm-{i}"),
                managed,
                mode: if temp {
                    PersistenceMode::Temporary
                } else {
                    PersistenceMode::Permanent
                },
                memory_kib: mem * 1024,
                run,
                policy_valid: valid,
                on_memory_pressure: om,
                on_disk_full: od,
                paused_by: by.map(|(cause, at)| PausedBy { cause, at, seq: 0 }),
                disk_full: disk.map(|room_again| DiskFull {
                    target: "vda".into(),
                    room_again,
                }),
            },
        )
}

fn vms() -> impl Strategy<Value = Vec<VmPressureFacts>> {
    (0usize..7).prop_flat_map(|n| (0..n).map(vm).collect::<Vec<_>>())
}

fn state() -> impl Strategy<Value = PressureState> {
    prop_oneof![
        Just(PressureState::Fine),
        (900i64..1000).prop_map(|since| PressureState::Entering { since }),
        (0i64..1000).prop_map(|since| PressureState::Under { since }),
        (0i64..1000).prop_map(|since| PressureState::Clearing {
            since,
            under_since: 0
        }),
    ]
}

fn signal() -> impl Strategy<Value = Signal> {
    prop_oneof![
        Just(Signal::Over("available 1.0 % < 5 %".into())),
        Just(Signal::Clear("available 50.0 % ≥ 5 %".into())),
        Just(Signal::Unknown("available memory not known".into())),
    ]
}

#[derive(Debug, Clone)]
struct Host {
    vms: Vec<VmPressureFacts>,
    memory: PressureAction,
    disk: PressureAction,
    all: bool,
    state: PressureState,
    signal: Signal,
    last: Option<i64>,
}

fn host() -> impl Strategy<Value = Host> {
    (
        vms(),
        action(),
        action(),
        prop::bool::weighted(0.2),
        state(),
        signal(),
        prop::option::of(980i64..1000),
    )
        .prop_map(|(vms, memory, disk, all, state, signal, last)| Host {
            vms,
            memory,
            disk,
            all,
            state,
            signal,
            last,
        })
}

fn plan_for(h: &Host, now: i64, dry_run: bool) -> PressurePlan {
    let settings = PressureSettings::default();
    plan(&PressureInput {
        vms: &h.vms,
        host_on_memory_pressure: h.memory,
        host_on_disk_full: h.disk,
        manage_all_vms: h.all,
        state: h.state,
        signal: &h.signal,
        last_memory_step_at: h.last,
        settings: &settings,
        now,
        dry_run,
    })
}

/// What the engine would record after the reaction ran.
fn apply(vms: &mut [VmPressureFacts], r: &Reaction, now: i64) {
    let Some(v) = vms.iter_mut().find(|v| v.uuid == r.vm_id) else {
        return;
    };
    match r.action {
        ReactionKind::Suspend => {
            v.run = RunState::Paused;
            v.paused_by = Some(PausedBy {
                cause: r.cause,
                at: now,
                seq: 0,
            });
        }
        ReactionKind::Kill => {
            v.run = RunState::ShutOff;
            v.paused_by = None;
        }
        ReactionKind::Resume => {
            v.run = RunState::Running;
            v.paused_by = None;
            if r.cause == Cause::DiskFull {
                v.disk_full = None;
            }
        }
    }
}

/// The rules every single step keeps, checked against the VM it names.
fn check_step(h: &Host, r: &Reaction) -> Result<(), TestCaseError> {
    let v = h.vms.iter().find(|v| v.uuid == r.vm_id);
    prop_assert!(v.is_some(), "acts on a VM it was not given");
    let v = v.unwrap();
    prop_assert_eq!(&r.vm_name, &v.name);
    prop_assert!(v.managed || h.all, "touched an unmanaged VM: {:?}", r);
    prop_assert!(v.policy_valid, "acted on an invalid policy: {:?}", r);
    let own = match r.cause {
        Cause::MemoryPressure => v.on_memory_pressure,
        Cause::DiskFull => v.on_disk_full,
    };
    match r.action {
        ReactionKind::Kill => prop_assert!(
            v.mode == PersistenceMode::Temporary || own == Some(PressureAction::Kill),
            "a host default killed a permanent VM: {:?}",
            r
        ),
        ReactionKind::Resume => {
            prop_assert_eq!(v.run, RunState::Paused);
            prop_assert_eq!(v.paused_by.map(|p| p.cause), Some(r.cause));
        }
        ReactionKind::Suspend => {
            // Running, or paused by QEMU for a full disk: never one vmlife paused.
            prop_assert!(v.paused_by.is_none(), "suspended again: {:?}", r);
            let held = v.run == RunState::Paused && r.cause == Cause::DiskFull;
            prop_assert!(
                v.run == RunState::Running || held,
                "suspended a {:?} VM",
                v.run
            );
        }
    }
    if r.cause == Cause::MemoryPressure && r.action != ReactionKind::Resume {
        let under = matches!(h.state, PressureState::Under { .. });
        prop_assert!(under, "acted for memory in {:?}", h.state);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// One step: managed only, valid policies only, a host default never kills a
    /// permanent VM, resumes only what vmlife paused for that cause.
    #[test]
    fn every_step_keeps_the_rules(h in host()) {
        if let Some(r) = plan_for(&h, 1000, false).next {
            check_step(&h, &r)?;
        }
    }

    /// Dry run plans exactly the same step, marked, and produces no command; a real
    /// run produces exactly the command for it (destroy for kill).
    #[test]
    fn dry_run_plans_no_mutating_call(h in host()) {
        let real = plan_for(&h, 1000, false);
        let dry = plan_for(&h, 1000, true);
        prop_assert_eq!(&real.note, &dry.note);
        match (real.next, dry.next) {
            (None, None) => {}
            (Some(r), Some(d)) => {
                prop_assert!(d.dry_run && !r.dry_run);
                prop_assert_eq!(d.command(), None);
                prop_assert_eq!(Reaction { dry_run: false, ..d.clone() }, r.clone());
                let op = r.command().map(|c| c.op);
                let want = Op::Pressure { action: r.action, cause: r.cause };
                prop_assert_eq!(op, Some(want));
                prop_assert_eq!(d.command_even_in_dry_run(), r.command().unwrap());
            }
            (r, d) => prop_assert!(false, "dry run changed the plan: {:?} vs {:?}", r, d),
        }
    }

    /// Stepping a host (applying each reaction, as the engine records it) changes at
    /// most one VM per step, every step keeps the rules, and it comes to rest.
    #[test]
    fn steps_change_one_vm_at_a_time(h in host()) {
        let mut h = h;
        let mut now = 1000;
        for _ in 0..(2 * h.vms.len() + 2) {
            let Some(r) = plan_for(&h, now, false).next else {
                return Ok(());
            };
            check_step(&h, &r)?;
            let before = h.vms.clone();
            apply(&mut h.vms, &r, now);
            let changed = before.iter().zip(&h.vms).filter(|(a, b)| a != b).count();
            prop_assert!(changed <= 1);
            if r.cause == Cause::MemoryPressure {
                h.last = Some(now);
            }
            now += 10;
        }
        // Every VM gets at most two disk steps (keep paused, resume) and one memory
        // step, so a still-acting host after that is a loop.
        prop_assert!(plan_for(&h, now, false).next.is_none(), "no rest: {:?}", h.vms);
    }
}
