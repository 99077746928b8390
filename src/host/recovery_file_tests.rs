use super::*;
use crate::model::RecoveryVmState;

fn record(name: &str) -> RecoveryRecord {
    let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    RecoveryRecord {
        state: VmRecoveryState {
            vm_name: name.into(),
            vm_id: format!("u-{name}").into(),
            state_before_shutdown: RecoveryVmState::Running,
            creation_timestamp: t,
            last_checkpoint: t,
            memory_snapshot: None,
            memory_size_mb: Some(64),
            config_snapshot: serde_json::Value::String("<domain/>".into()),
        },
        on_host_shutdown: HostShutdownAction::SaveState,
        shutdown_result: None,
        restored_at: None,
        restore_result: None,
    }
}

#[test]
fn round_trips_and_reports_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(RecoveryFile::load(dir.path()), Ok(None));
    let f = RecoveryFile {
        version: VERSION,
        boot_id: Some("b".into()),
        recorded_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        records: vec![record("db-1"), record("app-1")],
    };
    f.save(dir.path()).unwrap();
    let back = RecoveryFile::load(dir.path()).unwrap().unwrap();
    assert_eq!(back, f);
    assert_eq!(back.find("nope", "app-1"), Some(1));
    assert_eq!(back.records[0].domain_xml(), Some("<domain/>"));
    let text = std::fs::read_to_string(RecoveryFile::path(dir.path())).unwrap();
    assert!(
        text.contains("\"config_snapshot\": \"<domain/>\""),
        "{text}"
    );
    std::fs::write(RecoveryFile::path(dir.path()), "{").unwrap();
    let e = RecoveryFile::load(dir.path()).unwrap_err();
    assert!(e.contains("recovery.json: not a recovery file"), "{e}");
}

#[test]
fn memory_snapshot_uses_the_image_when_readable() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("db-1.save");
    std::fs::write(&p, vec![0u8; 3 * 1024 * 1024 + 1]).unwrap();
    assert_eq!(
        memory_snapshot(Some(&p), Some(64)),
        (Some(p.display().to_string()), Some(4))
    );
    assert_eq!(
        memory_snapshot(Some(&dir.path().join("x.save")), Some(64)),
        (None, Some(64))
    );
    assert_eq!(
        managed_save_path("qemu:///system", None, "db-1"),
        Some(PathBuf::from("/var/lib/libvirt/qemu/save/db-1.save"))
    );
    assert_eq!(managed_save_path("qemu:///session", None, "db-1"), None);
}
