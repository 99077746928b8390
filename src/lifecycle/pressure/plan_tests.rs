//! Table tests of the pressure planner: ranking, each cause, settle, dry run.

use super::*;
use crate::lifecycle::pressure::{DiskFull, PausedBy};
use crate::lifecycle::Op;

pub(super) fn vm(name: &str, mode: PersistenceMode, memory_mib: u64) -> VmPressureFacts {
    VmPressureFacts {
        uuid: format!("uuid-{name}").into(),
        name: name.into(),
        managed: true,
        mode,
        memory_kib: memory_mib * 1024,
        run: RunState::Running,
        policy_valid: true,
        on_memory_pressure: None,
        on_disk_full: None,
        paused_by: None,
        disk_full: None,
    }
}

const TEMP: PersistenceMode = PersistenceMode::Temporary;
const PERM: PersistenceMode = PersistenceMode::Permanent;

struct Case {
    vms: Vec<VmPressureFacts>,
    host_memory: PressureAction,
    host_disk: PressureAction,
    state: PressureState,
    signal: Signal,
    last: Option<i64>,
    dry_run: bool,
}

impl Case {
    fn under(vms: Vec<VmPressureFacts>, host_memory: PressureAction) -> Case {
        Case {
            vms,
            host_memory,
            host_disk: PressureAction::None,
            state: PressureState::Under { since: 988 },
            signal: Signal::Over("available 3.1 % < 5 %".into()),
            last: None,
            dry_run: false,
        }
    }
    fn cleared(vms: Vec<VmPressureFacts>) -> Case {
        Case {
            state: PressureState::Fine,
            signal: Signal::Clear("available 40.0 % ≥ 5 %".into()),
            ..Case::under(vms, PressureAction::Suspend)
        }
    }
    fn run(&self) -> PressurePlan {
        let settings = PressureSettings::default();
        plan(&PressureInput {
            vms: &self.vms,
            host_on_memory_pressure: self.host_memory,
            host_on_disk_full: self.host_disk,
            manage_all_vms: false,
            state: self.state,
            signal: &self.signal,
            last_memory_step_at: self.last,
            settings: &settings,
            now: 1000,
            dry_run: self.dry_run,
        })
    }
    /// `suspend web-1 (memory pressure)` or the note.
    fn next(&self) -> String {
        let p = self.run();
        match p.next {
            Some(r) => format!("{} {} ({})", r.action.as_str(), r.vm_name, r.cause),
            None => format!("none: {}", p.note),
        }
    }
}

#[test]
fn memory_victims_are_ranked_temporary_then_biggest() {
    let vms = vec![
        vm("big-perm", PERM, 8192),
        vm("small-temp", TEMP, 512),
        vm("big-temp", TEMP, 4096),
    ];
    let case = Case::under(vms, PressureAction::Suspend);
    let p = case.run();
    let r = p.next.unwrap();
    assert_eq!(
        (r.vm_name.as_str(), r.action, r.cause),
        ("big-temp", ReactionKind::Suspend, Cause::MemoryPressure)
    );
    assert_eq!(r.reason, "available 3.1 % < 5 % for 12 s");
    assert_eq!(
        p.note,
        "memory under pressure for 12 s (available 3.1 % < 5 %)"
    );
    let cmd = r.command().unwrap();
    assert_eq!(
        (cmd.vm_id.as_str(), cmd.op.clone()),
        (
            "uuid-big-temp",
            Op::Pressure {
                action: ReactionKind::Suspend,
                cause: Cause::MemoryPressure
            }
        )
    );
    assert_eq!(cmd.op.name(), "suspend");
    assert_eq!(
        cmd.reason,
        "memory pressure: available 3.1 % < 5 % for 12 s"
    );
}

#[test]
fn paused_stopped_and_none_vms_are_passed_over() {
    let mut paused = vm("paused", TEMP, 9000);
    paused.run = RunState::Paused;
    let mut off = vm("off", TEMP, 9000);
    off.run = RunState::ShutOff;
    let mut opted_out = vm("opted-out", TEMP, 9000);
    opted_out.on_memory_pressure = Some(PressureAction::None);
    let mut unmanaged = vm("unmanaged", TEMP, 9000);
    unmanaged.managed = false;
    let mut invalid = vm("invalid", TEMP, 9000);
    invalid.policy_valid = false;
    // A person resumed it while vmlife held it for memory: their resume stands.
    let mut resumed = vm("resumed", TEMP, 9000);
    resumed.paused_by = Some(PausedBy {
        cause: Cause::MemoryPressure,
        at: 1,
        seq: 0,
    });
    let rest = vec![paused, off, opted_out, unmanaged, invalid, resumed];
    let mut vms = rest.clone();
    vms.push(vm("last", PERM, 1));
    assert_eq!(
        Case::under(vms, PressureAction::Suspend).next(),
        "suspend last (memory pressure)"
    );
    assert_eq!(
        Case::under(rest, PressureAction::Suspend).next(),
        "none: memory under pressure for 12 s (available 3.1 % < 5 %): \
         no running VM left that may be suspended or killed"
    );
}

#[test]
fn host_default_kill_spares_permanent_vms() {
    let perm = vm("perm", PERM, 8192);
    let temp = vm("temp", TEMP, 10);
    let case = Case::under(vec![perm.clone(), temp], PressureAction::Kill);
    assert_eq!(case.next(), "kill temp (memory pressure)");
    let op = case.run().next.unwrap().command().unwrap().op;
    assert_eq!(op.name(), "destroy");
    assert!(op.is_destructive());
    let case = Case::under(vec![perm.clone()], PressureAction::Kill);
    assert!(case.next().starts_with("none:"), "{}", case.next());
    // Its own metadata may say kill.
    let mut own = perm;
    own.on_memory_pressure = Some(PressureAction::Kill);
    assert_eq!(
        Case::under(vec![own], PressureAction::None).next(),
        "kill perm (memory pressure)"
    );
}

#[test]
fn memory_steps_settle() {
    let mut case = Case::under(vec![vm("a", TEMP, 1)], PressureAction::Suspend);
    case.last = Some(995);
    assert_eq!(
        case.next(),
        "none: memory under pressure for 12 s (available 3.1 % < 5 %): \
         settling (5 s of 10 s since the last step)"
    );
    case.last = Some(990);
    assert_eq!(case.next(), "suspend a (memory pressure)");
}

#[test]
fn nothing_while_entering_clearing_or_unknown() {
    let vms = vec![vm("a", TEMP, 1)];
    let mut case = Case::under(vms, PressureAction::Suspend);
    case.state = PressureState::Entering { since: 995 };
    assert!(case.next().starts_with("none: memory entering"));
    case.state = PressureState::Under { since: 900 };
    case.signal = Signal::Unknown("available memory not known".into());
    assert!(case.next().ends_with("no current figure: waiting"));
    let mut paused = vm("p", TEMP, 1);
    paused.run = RunState::Paused;
    paused.paused_by = Some(PausedBy {
        cause: Cause::MemoryPressure,
        at: 500,
        seq: 0,
    });
    let mut case = Case::cleared(vec![paused]);
    case.state = PressureState::Clearing {
        since: 900,
        under_since: 800,
    };
    assert!(case
        .next()
        .ends_with("nothing is resumed until it has cleared"));
}

/// Two pauses in the same second (a loaded engine records both results at once): the
/// pause order, not the rank, says which is the latest.
#[test]
fn pauses_of_one_second_resume_by_pause_order() {
    let paused = |name: &str, mode, seq: u64| {
        let mut v = vm(name, mode, 1);
        v.run = RunState::Paused;
        v.paused_by = Some(PausedBy {
            cause: Cause::MemoryPressure,
            at: 100,
            seq,
        });
        v
    };
    // The temporary one would rank first; it was paused first, so it resumes last.
    let vms = vec![paused("temp", TEMP, 1), paused("perm", PERM, 2)];
    let r = Case::cleared(vms).run().next.unwrap();
    assert_eq!(
        (r.vm_name.as_str(), r.action),
        ("perm", ReactionKind::Resume)
    );
}

#[test]
fn resumes_latest_paused_first_and_only_vmlifes_memory_pauses() {
    let paused = |name: &str, cause: Option<Cause>, at: i64| {
        let mut v = vm(name, TEMP, 1);
        v.run = RunState::Paused;
        v.paused_by = cause.map(|cause| PausedBy { cause, at, seq: 0 });
        v
    };
    let vms = vec![
        paused("first", Some(Cause::MemoryPressure), 100),
        paused("second", Some(Cause::MemoryPressure), 200),
        paused("by-hand", None, 300),
        paused("disk", Some(Cause::DiskFull), 400),
    ];
    let case = Case::cleared(vms.clone());
    let r = case.run().next.unwrap();
    assert_eq!(
        (r.vm_name.as_str(), r.action),
        ("second", ReactionKind::Resume)
    );
    assert_eq!(r.reason, "memory pressure cleared: available 40.0 % ≥ 5 %");
    assert_eq!(r.command().unwrap().op.name(), "resume");
    let case = Case::cleared(vms[1..].to_vec());
    assert_eq!(case.next(), "resume second (memory pressure)");
    let case = Case::cleared(vms[2..].to_vec());
    assert_eq!(
        case.next(),
        "none: memory fine (available 40.0 % ≥ 5 %): nothing to do"
    );
    let mut case = Case::cleared(vms);
    case.last = Some(999);
    assert!(case
        .next()
        .ends_with("settling (1 s of 10 s since the last step)"));
}

fn full(mut v: VmPressureFacts, own: Option<PressureAction>, room: bool) -> VmPressureFacts {
    v.on_disk_full = own;
    v.disk_full = Some(DiskFull {
        target: "vda".into(),
        room_again: room,
    });
    v
}

#[test]
fn disk_full_table() {
    use PressureAction::{Kill, None as Nothing, Suspend};
    let paused = |mut v: VmPressureFacts, by: Option<Cause>| {
        v.run = RunState::Paused;
        v.paused_by = by.map(|cause| PausedBy {
            cause,
            at: 1,
            seq: 0,
        });
        v
    };
    let resumed = |mut v: VmPressureFacts| {
        v.paused_by = Some(PausedBy {
            cause: Cause::DiskFull,
            at: 1,
            seq: 0,
        });
        v
    };
    let t = || vm("t", TEMP, 1);
    let p = || vm("p", PERM, 1);
    let disk = Some(Cause::DiskFull);
    // (vm, host default, under memory pressure, want)
    let cases: Vec<(VmPressureFacts, PressureAction, bool, &str)> = vec![
        (full(t(), None, false), Kill, false, "kill t (disk full)"),
        (full(p(), None, false), Kill, false, "none"),
        (
            full(p(), Some(Kill), false),
            Nothing,
            false,
            "kill p (disk full)",
        ),
        (
            paused(full(p(), Some(Kill), false), None),
            Nothing,
            false,
            "kill p (disk full)",
        ),
        (
            full(p(), None, false),
            Suspend,
            false,
            "suspend p (disk full)",
        ),
        (full(p(), None, true), Suspend, false, "none"),
        (
            paused(full(p(), None, false), None),
            Suspend,
            false,
            "suspend p (disk full)",
        ),
        (
            paused(full(p(), None, true), None),
            Suspend,
            false,
            "suspend p (disk full)",
        ),
        (paused(full(p(), None, false), disk), Suspend, false, "none"),
        (
            paused(full(p(), None, true), disk),
            Suspend,
            false,
            "resume p (disk full)",
        ),
        (paused(full(p(), None, true), disk), Suspend, true, "none"),
        (
            paused(full(p(), None, true), Some(Cause::MemoryPressure)),
            Suspend,
            true,
            "none",
        ),
        // A person resumed it while vmlife held it: not suspended again.
        (resumed(full(p(), None, false)), Suspend, false, "none"),
        (full(t(), Some(Nothing), false), Kill, false, "none"),
        (full(t(), None, false), Nothing, false, "none"),
        (paused(full(t(), None, false), None), Nothing, false, "none"),
    ];
    for (i, (v, host, under, want)) in cases.into_iter().enumerate() {
        let mut case = Case::cleared(vec![v]);
        case.host_disk = host;
        case.host_memory = PressureAction::None;
        if under {
            case.state = PressureState::Under { since: 990 };
            case.signal = Signal::Over("available 3.1 % < 5 %".into());
        }
        let got = case.next();
        let got = if got.starts_with("none") {
            "none"
        } else {
            &got
        };
        assert_eq!(got, want, "case {i}");
    }
}

#[test]
fn disk_reasons_name_the_disk() {
    let mut case = Case::cleared(vec![full(vm("t", TEMP, 1), None, false)]);
    case.host_disk = PressureAction::Kill;
    assert_eq!(
        case.run().next.unwrap().reason,
        "no space on vda; on_disk_full = kill"
    );
    case.host_disk = PressureAction::Suspend;
    case.vms[0].run = RunState::Paused;
    assert_eq!(
        case.run().next.unwrap().reason,
        "no space on vda; kept paused until it has room"
    );
    case.vms[0].paused_by = Some(PausedBy {
        cause: Cause::DiskFull,
        at: 1,
        seq: 0,
    });
    case.vms[0].disk_full.as_mut().unwrap().room_again = true;
    assert_eq!(case.run().next.unwrap().reason, "vda has room again");
}

#[test]
fn disk_full_comes_before_memory_and_ranks_alike() {
    let mut vms = vec![
        vm("mem-victim", TEMP, 9000),
        full(vm("disk-perm", PERM, 9000), None, false),
        full(vm("disk-temp", TEMP, 10), None, false),
    ];
    let mut case = Case::under(vms.clone(), PressureAction::Suspend);
    case.host_disk = PressureAction::Suspend;
    // Disk steps do not wait for the memory settle time.
    case.last = Some(999);
    assert_eq!(case.next(), "suspend disk-temp (disk full)");
    vms.remove(2);
    case.vms = vms;
    assert_eq!(case.next(), "suspend disk-perm (disk full)");
}

#[test]
fn dry_run_marks_the_step_and_yields_no_command() {
    let mut case = Case::under(vec![vm("a", TEMP, 1)], PressureAction::Kill);
    case.dry_run = true;
    let r = case.run().next.unwrap();
    assert!(r.dry_run);
    assert_eq!(r.action, ReactionKind::Kill);
    assert_eq!(r.command(), None);
}

#[test]
fn manage_all_vms_reaches_unmanaged_ones() {
    let mut v = vm("plain", TEMP, 1);
    v.managed = false;
    let settings = PressureSettings::default();
    let signal = Signal::Over("available 3.1 % < 5 %".into());
    let input = |all| PressureInput {
        vms: std::slice::from_ref(&v),
        host_on_memory_pressure: PressureAction::Suspend,
        host_on_disk_full: PressureAction::None,
        manage_all_vms: all,
        state: PressureState::Under { since: 0 },
        signal: &signal,
        last_memory_step_at: None,
        settings: &settings,
        now: 10,
        dry_run: false,
    };
    assert!(plan(&input(false)).next.is_none());
    assert_eq!(plan(&input(true)).next.unwrap().vm_name, "plain");
}
