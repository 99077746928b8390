//! Tables and property tests for cleanup rounds.

use super::*;
use crate::lifecycle::facts::VmFacts;
use crate::metadata::{self, LifecycleMeta};
use crate::model::{Uuid, VmCleanupSchedule, VmState};
use chrono::TimeZone;
use proptest::prelude::*;

const NOW: i64 = 1_800_000_000;

fn hm(h: u16, m: u16) -> HhMm {
    HhMm::new(h, m)
}

fn facts(n: u32, meta: Result<LifecycleMeta, crate::metadata::MetaError>) -> VmFacts {
    VmFacts {
        uuid: format!("uuid-{n:03}").into(),
        name: format!("vm-{n:03}"),
        state: VmState::Running,
        active: true,
        meta,
        first_seen_unix: NOW - 60,
    }
}

fn temp(created_ago_h: f64, ttl_hours: f64) -> Result<LifecycleMeta, crate::metadata::MetaError> {
    let mut m = LifecycleMeta::default();
    m.persistence.mode = PersistenceMode::Temporary;
    m.persistence.ttl_hours = ttl_hours;
    m.persistence.created_at_unix = Some(NOW - (created_ago_h * 3600.0) as i64);
    Ok(m)
}

fn open_policy() -> VmCleanupPolicy {
    VmCleanupPolicy {
        cleanup_in_window_only: false,
        ..VmCleanupPolicy::default()
    }
}

fn clock(minute: u16) -> Clock {
    Clock {
        now: NOW,
        local_minute: minute,
    }
}

fn plan(vms: &[VmFacts], policy: &VmCleanupPolicy, inputs: &RoundInputs, minute: u16) -> RoundPlan {
    plan_round(vms, policy, inputs, &RoundRequest::default(), clock(minute))
}

#[test]
fn backoff_doubles_from_the_interval_and_is_capped() {
    let rec = |attempts: u32, error: &str| VmCleanupSchedule {
        vm_name: "t".into(),
        vm_id: "u".into(),
        mode: crate::model::CleanupMode::Temporary,
        created_at: chrono::Utc.timestamp_opt(NOW, 0).unwrap(),
        scheduled_cleanup_at: chrono::Utc.timestamp_opt(NOW, 0).unwrap(),
        ttl_hours: 1.0,
        cleanup_status: CleanupStatus::Failed,
        cleanup_attempts: attempts,
        last_cleanup_attempt: Some(chrono::Utc.timestamp_opt(NOW, 0).unwrap()),
        cleanup_error: Some(error.into()),
    };
    // (attempts, minutes after the failure it may run again), with a 60-minute interval.
    for (attempts, minutes) in [(1, 30), (2, 90), (3, 210), (5, 930), (6, 1410), (40, 1410)] {
        assert_eq!(
            retry_at(&rec(attempts, "stuck"), 60),
            Some(NOW + minutes * 60),
            "{attempts} attempts"
        );
    }
    assert_eq!(retry_at(&rec(3, "interrupted: pid 4 stopped"), 60), None);
    let mut done = rec(1, "x");
    done.cleanup_status = CleanupStatus::Completed;
    assert_eq!(retry_at(&done, 60), None);
}

#[test]
fn window_table() {
    let cases = [
        // start, end, minute, inside
        (hm(2, 0), hm(6, 0), 120, true),
        (hm(2, 0), hm(6, 0), 359, true),
        (hm(2, 0), hm(6, 0), 360, false),
        (hm(2, 0), hm(6, 0), 119, false),
        (hm(22, 0), hm(2, 0), 23 * 60, true),
        (hm(22, 0), hm(2, 0), 0, true),
        (hm(22, 0), hm(2, 0), 119, true),
        (hm(22, 0), hm(2, 0), 120, false),
        (hm(22, 0), hm(2, 0), 21 * 60 + 59, false),
        (hm(22, 0), hm(2, 0), 12 * 60, false),
        (hm(0, 0), hm(0, 0), 700, true),
    ];
    for (s, e, m, want) in cases {
        assert_eq!(in_window(s, e, m), want, "{s}-{e} at {m}");
    }
    assert_eq!(minutes_until_window(hm(22, 0), hm(2, 0), 12 * 60), 600);
    assert_eq!(minutes_until_window(hm(2, 0), hm(6, 0), 7 * 60), 19 * 60);
    assert_eq!(minutes_until_window(hm(2, 0), hm(6, 0), 3 * 60), 0);
}

#[test]
fn interval() {
    assert!(round_due(None, NOW, 60));
    assert!(!round_due(Some(NOW - 3599), NOW, 60));
    assert!(round_due(Some(NOW - 3600), NOW, 60));
}

#[test]
fn expired_is_planned_live_is_waiting_permanent_and_invalid_absent() {
    let bad = metadata::parse("<vmlife:lifecycle xmlns:vmlife=\"urn:vmlife:lifecycle:1\"><vmlife:persistence mode=\"sometimes\"/></vmlife:lifecycle>");
    let vms = vec![
        facts(1, temp(25.0, 24.0)),
        facts(2, temp(1.0, 24.0)),
        facts(3, Ok(LifecycleMeta::default())),
        facts(4, bad),
    ];
    let p = plan(&vms, &open_policy(), &RoundInputs::default(), 0);
    assert_eq!(p.commands.len(), 1);
    assert_eq!(p.commands[0].vm_id, "uuid-001");
    assert_eq!(p.commands[0].reason, "expired 1h00m ago (ttl_hours = 24)");
    assert!(matches!(
        p.commands[0].op,
        Op::Cleanup {
            force: false,
            grace_seconds: 60,
            remove_storage: false
        }
    ));
    let states: Vec<_> = p
        .lines
        .iter()
        .map(|l| (l.vm_name.as_str(), l.state.clone()))
        .collect();
    assert_eq!(
        states,
        vec![
            ("vm-001", VmCleanupState::Planned),
            ("vm-002", VmCleanupState::Waiting)
        ]
    );
    assert_eq!(p.held, None);
}

#[test]
fn outside_the_window_nothing_is_planned_and_it_says_why() {
    let policy = VmCleanupPolicy::default(); // 02:00-06:00, window only
    let vms = vec![facts(1, temp(25.0, 24.0))];
    let p = plan(&vms, &policy, &RoundInputs::default(), 12 * 60);
    assert!(p.commands.is_empty());
    assert_eq!(
        p.held.as_deref(),
        Some("outside the cleanup window 02:00–06:00")
    );
    assert_eq!(p.window_opens_in_minutes, 14 * 60);
    assert_eq!(
        p.lines[0].state,
        VmCleanupState::Due {
            why: "outside the cleanup window 02:00–06:00".into()
        }
    );
    // Inside it, planned.
    assert_eq!(
        plan(&vms, &policy, &RoundInputs::default(), 3 * 60)
            .commands
            .len(),
        1
    );
    // A person may override the window.
    let req = RoundRequest {
        manual: true,
        ignore_window: true,
        only: None,
    };
    assert_eq!(
        plan_round(&vms, &policy, &RoundInputs::default(), &req, clock(12 * 60))
            .commands
            .len(),
        1
    );
}

#[test]
fn oldest_expiry_first_within_batch_and_concurrency() {
    let vms: Vec<VmFacts> = (0..20)
        .map(|i| facts(i, temp(30.0 + f64::from(i), 24.0)))
        .collect();
    let policy = VmCleanupPolicy {
        cleanup_batch_size: 4,
        max_concurrent_cleanups: 10,
        ..open_policy()
    };
    let p = plan(&vms, &policy, &RoundInputs::default(), 0);
    let ids: Vec<&str> = p.commands.iter().map(|c| c.vm_id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["uuid-019", "uuid-018", "uuid-017", "uuid-016"],
        "oldest expiry first"
    );
    assert!(p.lines.iter().any(|l| l.state
        == VmCleanupState::Due {
            why: "batch of 4 full (cleanup_batch_size)".into()
        }));
    // Two already running with max 3: one slot left.
    let inputs = RoundInputs {
        in_progress: ["uuid-019".into(), "uuid-018".into()].into(),
        ..RoundInputs::default()
    };
    let policy = VmCleanupPolicy {
        cleanup_batch_size: 10,
        max_concurrent_cleanups: 3,
        ..open_policy()
    };
    let p = plan(&vms, &policy, &inputs, 0);
    assert_eq!(p.commands.len(), 1);
    assert_eq!(p.commands[0].vm_id, "uuid-017");
    assert_eq!(
        p.lines
            .iter()
            .filter(|l| l.state == VmCleanupState::InProgress)
            .count(),
        2
    );
}

#[test]
fn confirmation_parks_until_confirmed() {
    let vms = vec![facts(1, temp(25.0, 24.0)), facts(2, temp(26.0, 24.0))];
    let policy = VmCleanupPolicy {
        require_confirmation: true,
        ..open_policy()
    };
    let p = plan(&vms, &policy, &RoundInputs::default(), 0);
    assert!(p.commands.is_empty());
    assert!(p
        .lines
        .iter()
        .all(|l| l.state == VmCleanupState::AwaitingConfirmation));
    let inputs = RoundInputs {
        confirmed: ["uuid-001".into()].into(),
        ..RoundInputs::default()
    };
    let p = plan(&vms, &policy, &inputs, 0);
    assert_eq!(
        p.commands
            .iter()
            .map(|c| c.vm_id.as_str())
            .collect::<Vec<_>>(),
        vec!["uuid-001"]
    );
}

#[test]
fn manual_and_disabled_and_pressure() {
    let mut m = temp(25.0, 24.0).unwrap();
    m.persistence.auto_cleanup = false;
    let vms = vec![facts(1, Ok(m)), facts(2, temp(25.0, 24.0))];
    let p = plan(&vms, &open_policy(), &RoundInputs::default(), 0);
    assert_eq!(p.lines[0].state, VmCleanupState::Manual);
    assert_eq!(p.commands.len(), 1);
    let off = VmCleanupPolicy {
        cleanup_enabled: false,
        ..open_policy()
    };
    let p = plan(&vms, &off, &RoundInputs::default(), 0);
    assert!(p.commands.is_empty());
    assert_eq!(
        p.held.as_deref(),
        Some("cleanup is disabled (cleanup.cleanup_enabled = false)")
    );
    let inputs = RoundInputs {
        pressure: Some("memory 97% used".into()),
        ..RoundInputs::default()
    };
    let p = plan(&vms, &open_policy(), &inputs, 0);
    assert!(p.commands.is_empty());
    assert_eq!(
        p.held.as_deref(),
        Some("host under pressure: memory 97% used")
    );
    let ignore = VmCleanupPolicy {
        skip_on_low_resources: false,
        ..open_policy()
    };
    assert_eq!(plan(&vms, &ignore, &inputs, 0).commands.len(), 1);
}

#[test]
fn failed_records_show_attempts_and_are_retried() {
    let vms = vec![facts(1, temp(25.0, 24.0))];
    let record = VmCleanupSchedule {
        vm_name: "vm-001".into(),
        vm_id: "uuid-001".into(),
        mode: Default::default(),
        created_at: chrono::Utc.timestamp_opt(NOW - 90_000, 0).unwrap(),
        scheduled_cleanup_at: chrono::Utc.timestamp_opt(NOW - 3600, 0).unwrap(),
        ttl_hours: 24.0,
        cleanup_status: CleanupStatus::Failed,
        cleanup_attempts: 2,
        last_cleanup_attempt: None,
        cleanup_error: Some(
            "still running after the 60s grace period (force_cleanup = false)".into(),
        ),
    };
    let inputs = RoundInputs {
        records: [("uuid-001".into(), record)].into(),
        ..RoundInputs::default()
    };
    let p = plan(&vms, &VmCleanupPolicy::default(), &inputs, 12 * 60);
    assert!(
        matches!(&p.lines[0].state, VmCleanupState::Failed { attempts: 2, error } if error.contains("grace"))
    );
    assert_eq!(
        plan(&vms, &open_policy(), &inputs, 0).commands.len(),
        1,
        "retried next round"
    );
    // Planned again, the line still carries the failure (never a first attempt).
    let again = plan(&vms, &open_policy(), &inputs, 0);
    assert_eq!(again.lines[0].state, VmCleanupState::Planned);
    let f = again.lines[0]
        .last_failure
        .as_ref()
        .expect("the failure is kept");
    assert_eq!(f.attempts, 2);
    assert!(f.error.contains("grace"));
    let json = serde_json::to_value(&again.lines[0]).unwrap();
    assert_eq!(json["last_failure"]["attempts"], 2);
    // A failed line itself says it, no second copy.
    assert!(p.lines[0].last_failure.is_none());
}

#[test]
fn only_restricts_the_round() {
    let vms = vec![facts(1, temp(25.0, 24.0)), facts(2, temp(26.0, 24.0))];
    let req = RoundRequest {
        manual: true,
        ignore_window: false,
        only: Some(["uuid-002".into()].into()),
    };
    let p = plan_round(
        &vms,
        &open_policy(),
        &RoundInputs::default(),
        &req,
        clock(0),
    );
    assert_eq!(p.commands.len(), 1);
    assert_eq!(p.commands[0].vm_id, "uuid-002");
}

#[test]
fn prune_keeps_retried_and_recent() {
    let rec = |status, days_ago: i64| VmCleanupSchedule {
        vm_name: "x".into(),
        vm_id: "x".into(),
        mode: Default::default(),
        created_at: chrono::Utc
            .timestamp_opt(NOW - days_ago * 86_400, 0)
            .unwrap(),
        scheduled_cleanup_at: chrono::Utc.timestamp_opt(NOW, 0).unwrap(),
        ttl_hours: 1.0,
        cleanup_status: status,
        cleanup_attempts: 1,
        last_cleanup_attempt: Some(
            chrono::Utc
                .timestamp_opt(NOW - days_ago * 86_400, 0)
                .unwrap(),
        ),
        cleanup_error: None,
    };
    let records: BTreeMap<Uuid, VmCleanupSchedule> = [
        ("old-done".into(), rec(CleanupStatus::Completed, 8)),
        ("new-done".into(), rec(CleanupStatus::Completed, 6)),
        ("old-failed-gone".into(), rec(CleanupStatus::Failed, 8)),
        ("old-failed-exists".into(), rec(CleanupStatus::Failed, 8)),
        ("old-pending".into(), rec(CleanupStatus::Pending, 30)),
    ]
    .into();
    let existing: BTreeSet<Uuid> = ["old-failed-exists".into()].into();
    let mut dropped = prune(&records, &existing, NOW, 7);
    dropped.sort();
    assert_eq!(dropped, vec!["old-done", "old-failed-gone"]);
}

// ---- properties ----

fn arb_meta() -> impl Strategy<Value = Result<LifecycleMeta, crate::metadata::MetaError>> {
    (
        any::<bool>(),                 // temporary
        0.0f64..100.0,                 // ttl hours
        -200i64..200,                  // created hours ago
        any::<bool>(),                 // auto_cleanup
        any::<bool>(),                 // force
        proptest::option::of(-100i64..100), // scheduled_cleanup offset hours
        0u8..10,                       // 0 → invalid policy
    )
        .prop_map(|(temporary, ttl, created_ago, auto, force, sched, invalid)| {
            if invalid == 0 {
                return metadata::parse("<vmlife:lifecycle xmlns:vmlife=\"urn:vmlife:lifecycle:1\"><vmlife:persistence ttl_hours=\"-1\"/></vmlife:lifecycle>");
            }
            let mut m = LifecycleMeta::default();
            if temporary {
                m.persistence.mode = PersistenceMode::Temporary;
            }
            m.persistence.ttl_hours = ttl;
            m.persistence.created_at_unix = Some(NOW - created_ago * 3600);
            m.persistence.auto_cleanup = auto;
            m.persistence.force_cleanup = force;
            m.persistence.scheduled_cleanup = sched.map(|h| NOW + h * 3600);
            Ok(m)
        })
}

fn arb_policy() -> impl Strategy<Value = VmCleanupPolicy> {
    (
        any::<bool>(),
        0u16..1440,
        0u16..1440,
        any::<bool>(),
        1u32..6,
        0u32..8,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(enabled, s, e, window_only, conc, batch, confirm, dry)| VmCleanupPolicy {
                cleanup_enabled: enabled,
                cleanup_window_start: HhMm::new(s / 60, s % 60),
                cleanup_window_end: HhMm::new(e / 60, e % 60),
                cleanup_in_window_only: window_only,
                max_concurrent_cleanups: conc,
                cleanup_batch_size: batch,
                require_confirmation: confirm,
                dry_run_mode: dry,
                ..VmCleanupPolicy::default()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// No plan ever cleans a permanent VM, one with invalid policy, one inside its TTL or
    /// one with auto_cleanup = false; a round never exceeds its batch or concurrency.
    #[test]
    fn rounds_are_safe(
        metas in proptest::collection::vec(arb_meta(), 0..40),
        policy in arb_policy(),
        minute in 0u16..1440,
        in_progress in proptest::collection::btree_set(0u32..40, 0..4),
        confirmed in proptest::collection::btree_set(0u32..40, 0..10),
        manual in any::<bool>(),
        ignore_window in any::<bool>(),
    ) {
        let vms: Vec<VmFacts> = metas.into_iter().enumerate().map(|(i, m)| facts(i as u32, m)).collect();
        let inputs = RoundInputs {
            in_progress: in_progress.iter().map(|i| format!("uuid-{i:03}").into()).collect(),
            confirmed: confirmed.iter().map(|i| format!("uuid-{i:03}").into()).collect(),
            ..RoundInputs::default()
        };
        let req = RoundRequest { manual, ignore_window, only: None };
        let p = plan_round(&vms, &policy, &inputs, &req, clock(minute));
        prop_assert!(p.commands.len() <= policy.cleanup_batch_size as usize);
        let running = inputs.in_progress.iter().filter(|u| vms.iter().any(|v| &v.uuid == *u)).count();
        prop_assert!(p.commands.len() + running <= (policy.max_concurrent_cleanups as usize).max(running));
        prop_assert_eq!(p.dry_run, policy.dry_run_mode);
        if !policy.cleanup_enabled {
            prop_assert!(p.commands.is_empty());
        }
        if policy.cleanup_in_window_only && !ignore_window && !in_window(policy.cleanup_window_start, policy.cleanup_window_end, minute) {
            prop_assert!(p.commands.is_empty(), "outside the window");
        }
        let mut last = (false, i64::MIN);
        for c in &p.commands {
            let v = vms.iter().find(|v| v.uuid == c.vm_id).expect("a command names a known VM");
            let m = v.meta.as_ref().expect("never a VM with invalid policy");
            prop_assert_eq!(m.persistence.mode, PersistenceMode::Temporary, "never a permanent VM");
            prop_assert!(m.persistence.auto_cleanup, "never with auto_cleanup = false");
            let st = ttl::status(&m.persistence, v.first_seen_unix, NOW);
            prop_assert!(matches!(st, TtlStatus::Expired { .. }), "never inside its TTL");
            prop_assert!(!inputs.in_progress.contains(&v.uuid), "never twice at once");
            if policy.require_confirmation {
                prop_assert!(inputs.confirmed.contains(&v.uuid), "never unconfirmed");
            }
            let at = st.expires_at().unwrap_or_default();
            prop_assert!((false, at) >= last, "oldest expiry first");
            last = (false, at);
            let is_cleanup = matches!(c.op, Op::Cleanup { .. });
            prop_assert!(is_cleanup);
        }
    }

    /// With failed records: VMs that never failed go first (then oldest expiry); a VM
    /// backing off is planned only when a person named it; named VMs use the slots of
    /// failing automatic retries but never more than `max_concurrent_cleanups` besides.
    #[test]
    fn failing_cleanups_back_off_and_never_starve_the_rest(
        n in 1usize..25,
        failures in proptest::collection::btree_map(0usize..25, (1u32..8, 0i64..20_000), 0..12),
        in_progress in proptest::collection::btree_set(0usize..25, 0..4),
        retrying in proptest::collection::btree_set(0usize..25, 0..4),
        named in proptest::option::of(proptest::collection::btree_set(0usize..25, 1..6)),
        conc in 1u32..5,
        batch in 1u32..8,
        interval in 1u32..120,
    ) {
        let vms: Vec<VmFacts> = (0..n).map(|i| facts(i as u32, temp(10.0 + i as f64, 1.0))).collect();
        let id = |i: &usize| Uuid::from(format!("uuid-{i:03}"));
        let records: BTreeMap<Uuid, VmCleanupSchedule> = failures
            .iter()
            .map(|(i, (attempts, ago))| {
                (id(i), VmCleanupSchedule {
                    vm_name: format!("vm-{i:03}"),
                    vm_id: id(i),
                    mode: crate::model::CleanupMode::Temporary,
                    created_at: chrono::Utc.timestamp_opt(NOW - 86_400, 0).unwrap(),
                    scheduled_cleanup_at: chrono::Utc.timestamp_opt(NOW - 3600, 0).unwrap(),
                    ttl_hours: 1.0,
                    cleanup_status: CleanupStatus::Failed,
                    cleanup_attempts: *attempts,
                    last_cleanup_attempt: Some(chrono::Utc.timestamp_opt(NOW - ago, 0).unwrap()),
                    cleanup_error: Some("stuck".into()),
                })
            })
            .collect();
        let in_progress: BTreeSet<Uuid> = in_progress.iter().map(id).collect();
        let retrying: BTreeSet<Uuid> = retrying.iter().map(id).filter(|u| in_progress.contains(u)).collect();
        let inputs = RoundInputs {
            records: records.clone(),
            in_progress: in_progress.clone(),
            retrying: retrying.clone(),
            ..RoundInputs::default()
        };
        let policy = VmCleanupPolicy {
            max_concurrent_cleanups: conc,
            cleanup_batch_size: batch,
            check_interval_minutes: interval,
            ..open_policy()
        };
        let req = RoundRequest {
            manual: named.is_some(),
            ignore_window: false,
            only: named.as_ref().map(|s| s.iter().map(id).collect()),
        };
        let p = plan_round(&vms, &policy, &inputs, &req, clock(0));
        let failed = |u: &str| records.contains_key(u);
        let mut last = (false, i64::MIN);
        for c in &p.commands {
            let v = vms.iter().find(|v| v.uuid == c.vm_id).unwrap();
            let at = ttl::status(&v.meta.as_ref().unwrap().persistence, v.first_seen_unix, NOW)
                .expires_at()
                .unwrap_or_default();
            let key = (failed(&c.vm_id), at);
            prop_assert!(key >= last, "never-failed first, then oldest expiry");
            last = key;
            if let Some(r) = records.get(&c.vm_id) {
                let backing_off = retry_at(r, interval).is_some_and(|t| t > NOW);
                prop_assert!(!backing_off || req.only.is_some(), "backoff honoured unless named");
            }
        }
        let counted = if req.only.is_some() { in_progress.len() - retrying.len() } else { in_progress.len() };
        prop_assert!(p.commands.len() + counted <= (conc as usize).max(counted));
        prop_assert!(p.commands.len() <= batch as usize);
        // Every due VM that waits for a limit is told which one.
        let waits = p.lines.iter().any(|l| matches!(&l.state, VmCleanupState::Due { why } if why.contains("max_concurrent") || why.contains("cleanup_batch_size")));
        prop_assert!(!waits || p.limited.is_some(), "the limit in force is named");
        prop_assert!(
            p.limited.is_none()
                || p.lines.iter().any(|l| matches!(l.state, VmCleanupState::Due { .. } | VmCleanupState::Failed { .. })),
            "a limit is named only when a VM waits for it"
        );
    }

    #[test]
    fn window_membership_is_consistent(s in 0u16..1440, e in 0u16..1440, m in 0u16..1440) {
        let (start, end) = (HhMm::new(s / 60, s % 60), HhMm::new(e / 60, e % 60));
        let wait = minutes_until_window(start, end, m);
        prop_assert_eq!(wait == 0, in_window(start, end, m));
        prop_assert!(in_window(start, end, (m + wait) % 1440), "open after the wait");
    }
}

#[test]
fn a_round_outside_the_window_cleans_up_when_it_opens() {
    let (start, end) = (HhMm::new(2, 0), HhMm::new(6, 0));
    // (local minute now, due in s, window only, runs in s)
    let cases = [
        (3 * 60, 1800, true, 1800),                            // inside the window
        (5 * 60 + 50, 1800, true, 1800 + 19 * 3600 + 40 * 60), // 06:20 → 02:00 next day
        (12 * 60, 60, true, 60 + (14 * 60 - 1) * 60),          // 12:01 → 02:00
        (12 * 60, 60, false, 60),                              // window not enforced
        (3 * 60, -5, true, 0),                                 // overdue: now
    ];
    for (minute, due_in, only, want) in cases {
        assert_eq!(
            round_runs_in(start, end, only, minute, due_in),
            want,
            "minute {minute}, due in {due_in}, window only {only}"
        );
    }
}
