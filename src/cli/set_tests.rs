//! Tests of `vmlife set`: applying flags, ambiguity, nothing to change, parsers.
use super::*;

fn args() -> SetArgs {
    SetArgs {
        domain: "vm".into(),
        ..SetArgs::default()
    }
}

#[test]
fn switching_to_temporary_stamps_created_at() {
    let mut m = LifecycleMeta::default();
    apply(
        &SetArgs {
            mode: Some(PersistenceMode::Temporary),
            ..args()
        },
        &mut m,
        0,
        500,
    );
    assert_eq!(m.persistence.created_at_unix, Some(500));
    // Given explicitly, it wins.
    let mut m = LifecycleMeta::default();
    apply(
        &SetArgs {
            mode: Some(PersistenceMode::Temporary),
            created_at: Some(7),
            ..args()
        },
        &mut m,
        0,
        500,
    );
    assert_eq!(m.persistence.created_at_unix, Some(7));
    // Already temporary with a stamp: unchanged.
    let mut m = LifecycleMeta::default();
    m.persistence.mode = PersistenceMode::Temporary;
    m.persistence.created_at_unix = Some(3);
    apply(
        &SetArgs {
            ttl_hours: Some(2.0),
            ..args()
        },
        &mut m,
        0,
        500,
    );
    assert_eq!(m.persistence.created_at_unix, Some(3));
    assert_eq!(m.persistence.ttl_hours, 2.0);
}

#[test]
fn extend_moves_scheduled_cleanup() {
    let mut m = LifecycleMeta::default();
    m.persistence.mode = PersistenceMode::Temporary;
    m.persistence.created_at_unix = Some(0);
    m.persistence.ttl_hours = 1.0;
    apply(
        &SetArgs {
            extend_ttl: Some(2.0),
            ..args()
        },
        &mut m,
        0,
        100,
    );
    assert_eq!(m.persistence.scheduled_cleanup, Some(3 * 3600));
}

#[test]
fn autostart_created_only_when_touched() {
    let mut m = LifecycleMeta::default();
    apply(&args(), &mut m, 0, 0);
    assert_eq!(m, LifecycleMeta::default());
    apply(
        &SetArgs {
            depends_on: vec!["db".into()],
            start_order: Some(-3),
            ..args()
        },
        &mut m,
        0,
        0,
    );
    let a = m.autostart.clone().unwrap();
    assert_eq!(
        (a.depends_on, a.start_order, a.enabled),
        (vec!["db".to_string()], -3, true)
    );
    apply(
        &SetArgs {
            no_autostart: true,
            ..args()
        },
        &mut m,
        0,
        0,
    );
    assert!(m.autostart.is_none());
}

#[test]
fn policy_overrides_and_clear() {
    let mut m = LifecycleMeta::default();
    apply(
        &SetArgs {
            on_host_shutdown: Some(HostShutdownAction::SaveState),
            ..args()
        },
        &mut m,
        0,
        0,
    );
    assert_eq!(
        m.policy.on_host_shutdown,
        Some(HostShutdownAction::SaveState)
    );
    apply(
        &SetArgs {
            clear_policy: true,
            ..args()
        },
        &mut m,
        0,
        0,
    );
    assert!(m.policy.is_empty());
}

#[test]
fn a_name_that_is_another_domains_uuid_is_ambiguous() {
    use crate::hypervisor::fake::{running, FakeHypervisor};
    let hv = FakeHypervisor::new();
    hv.put(running("11111111-1111-4111-8111-111111111111", "web-1"));
    hv.put(running(
        "22222222-2222-4222-8222-222222222222",
        "11111111-1111-4111-8111-111111111111",
    ));
    let s = Session {
        hv: std::sync::Arc::new(hv),
        uri: "test:///fake".into(),
        host: "local".into(),
        engine_here: true,
        config: crate::config::Config::default(),
        demo: false,
    };
    let arg = "11111111-1111-4111-8111-111111111111";
    let target = s.hv.lookup(arg).unwrap();
    let w = ambiguity(&s, arg, &target).expect("a warning");
    assert!(
        w.contains("both the name of one domain and the UUID of another"),
        "{w}"
    );
    assert!(
        w.contains(&format!("acting on {} ({})", target.name, target.uuid)),
        "{w}"
    );
    // A plain name is not ambiguous.
    let web = s.hv.lookup("web-1").unwrap();
    assert_eq!(ambiguity(&s, "web-1", &web), None);
}

#[test]
fn nothing_to_change_is_detected() {
    assert!(changes_nothing(&args()));
    assert!(changes_nothing(&SetArgs {
        dry_run: true,
        ..args()
    }));
    assert!(!changes_nothing(&SetArgs {
        reset: true,
        ..args()
    }));
    assert!(!changes_nothing(&SetArgs {
        clear_depends_on: true,
        ..args()
    }));
}

#[test]
fn value_parsers() {
    assert_eq!(parse_hours("1.5"), Ok(1.5));
    assert!(parse_hours("-1").is_err());
    assert!(parse_hours("inf").is_err());
    assert!(parse_hours("NaN").is_err());
    assert_eq!(parse_time("100"), Ok(100));
    assert_eq!(parse_time("1970-01-01T00:01:40Z"), Ok(100));
    assert!(parse_time("tomorrow").is_err());
}

#[test]
fn a_dependency_given_by_uuid_is_stored_as_its_name() {
    use crate::hypervisor::fake::{running, FakeHypervisor};
    let hv = FakeHypervisor::new();
    hv.put(running("11111111-1111-4111-8111-111111111111", "db-1"));
    hv.put(running("22222222-2222-4222-8222-222222222222", "app-1"));
    let s = Session {
        hv: std::sync::Arc::new(hv),
        uri: "test:///fake".into(),
        host: "local".into(),
        engine_here: true,
        config: crate::config::Config::default(),
        demo: false,
    };
    let dir = tempfile::tempdir().unwrap();
    let a = SetArgs {
        domain: "app-1".into(),
        depends_on: vec!["11111111-1111-4111-8111-111111111111".into()],
        ..SetArgs::default()
    };
    let mut out = Vec::new();
    run(&s, dir.path(), Utc::now(), &a, &mut out)
        .map_err(|_| "set")
        .unwrap();
    let xml =
        s.hv.metadata("22222222-2222-4222-8222-222222222222")
            .unwrap()
            .unwrap();
    let meta = metadata::parse(&xml).unwrap();
    assert_eq!(meta.autostart.unwrap().depends_on, vec!["db-1".to_string()]);
}

#[test]
fn an_invalid_previous_policy_is_journaled_as_its_reason() {
    let e = metadata::parse("<not-xml").unwrap_err();
    let detail = change_detail(&Err(e.clone()), &LifecycleMeta::default());
    assert_eq!(detail["previous_invalid"], json!(e.to_string()));
    assert!(detail.get("changes").is_none());
}
