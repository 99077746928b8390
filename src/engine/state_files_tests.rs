use super::*;
use crate::model::{CleanupMode, CleanupStatus};

fn record(uuid: &str) -> VmCleanupSchedule {
    let t = DateTime::from_timestamp(1_000_000, 0).unwrap();
    VmCleanupSchedule {
        vm_name: format!("vm-{uuid}"),
        vm_id: uuid.into(),
        mode: CleanupMode::Temporary,
        created_at: t,
        scheduled_cleanup_at: t,
        ttl_hours: 1.0,
        cleanup_status: CleanupStatus::InProgress,
        cleanup_attempts: 0,
        last_cleanup_attempt: None,
        cleanup_error: None,
    }
}

#[test]
fn missing_store_reads_empty_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("state");
    let data = EngineStore::new(&sub).load().unwrap();
    assert_eq!(data, StoreData::default());
    assert!(!sub.exists());
}

#[test]
fn update_round_trips_and_writes_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let store = EngineStore::new(dir.path().join("s"));
    let ((), written) = store
        .update(|d| {
            d.cleanups.records.insert("u1".into(), record("u1"));
        })
        .unwrap();
    assert!(store.dir().join(CLEANUPS_FILE).exists());
    assert!(
        !store.dir().join(ENGINE_FILE).exists(),
        "engine.json unchanged, not written"
    );
    assert_eq!(store.load().unwrap(), written);
    let text = std::fs::read_to_string(store.dir().join(CLEANUPS_FILE)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["records"]["u1"]["cleanup_status"], "in_progress");
}

#[test]
fn bad_files_are_one_line_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(ENGINE_FILE), "{ nope").unwrap();
    let e = EngineStore::new(dir.path()).load().unwrap_err().to_string();
    assert!(e.contains("engine.json: not a vmlife state file"), "{e}");
    assert!(!e.contains('\n'));
    std::fs::write(dir.path().join(ENGINE_FILE), "{\"version\": 9}").unwrap();
    let e = EngineStore::new(dir.path()).load().unwrap_err().to_string();
    assert!(e.contains("format version 9 is newer"), "{e}");
}

#[test]
fn concurrent_updates_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = EngineStore::new(dir.path());
    std::thread::scope(|s| {
        for t in 0..4 {
            let store = store.clone();
            s.spawn(move || {
                for i in 0..10 {
                    store
                        .update(|d| {
                            let u = format!("u{t}-{i}");
                            d.cleanups.records.insert(u.clone().into(), record(&u));
                        })
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(store.load().unwrap().cleanups.records.len(), 40);
}
