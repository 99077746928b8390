use super::*;

#[test]
fn proc_locks_parsing() {
    let text = "1: POSIX  ADVISORY  WRITE 99 00:1f:12 0 EOF\n\
                    2: FLOCK  ADVISORY  WRITE 812 fd:01:5678 0 EOF\n\
                    2: -> FLOCK  ADVISORY  WRITE 900 fd:01:5678 0 EOF\n\
                    3: FLOCK  ADVISORY  READ 77 fd:01:4242 0 EOF\n";
    assert_eq!(flock_holder(text, 5678), Some(812));
    assert_eq!(flock_holder(text, 4242), None, "a read lock is no engine");
    assert_eq!(flock_holder(text, 12), None, "POSIX locks are not ours");
}

#[test]
fn one_holder_at_a_time_and_released_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(engine_owner(dir.path()), Owner::Nobody);
    let lock = EngineLock::acquire(dir.path(), Role::Dashboard).unwrap();
    assert_eq!(engine_owner(dir.path()), Owner::ThisProcess);
    let text = std::fs::read_to_string(lock.path()).unwrap();
    assert_eq!(text.trim(), format!("{} dashboard", std::process::id()));
    // A second open file description conflicts even in the same process.
    match EngineLock::acquire(dir.path(), Role::Daemon) {
        Err(LockError::Held { pid, path, role }) => {
            assert_eq!(pid, Some(std::process::id()));
            assert_eq!(path, dir.path().join(LOCK_FILE));
            assert_eq!(role, Some(Role::Dashboard), "the holder's role");
        }
        other => panic!("expected Held, got {other:?}"),
    }
    drop(lock);
    assert_eq!(engine_owner(dir.path()), Owner::Nobody);
    let again = EngineLock::acquire(dir.path(), Role::Daemon).unwrap();
    let text = std::fs::read_to_string(again.path()).unwrap();
    assert_eq!(text.trim(), format!("{} daemon", std::process::id()));
    drop(again);
}

#[test]
fn held_error_reads_as_one_line() {
    let e = LockError::Held {
        path: PathBuf::from("/var/lib/vmlife/engine.lock"),
        pid: Some(812),
        role: Some(Role::Daemon),
    };
    assert_eq!(
        e.to_string(),
        "another engine holds /var/lib/vmlife/engine.lock (pid 812)"
    );
    let other = |role| Owner::Other { pid: 812, role }.to_string();
    assert_eq!(other(Some(Role::Daemon)), "engine: daemon pid 812");
    assert_eq!(
        other(Some(Role::Dashboard)),
        "engine: another dashboard pid 812"
    );
    assert_eq!(other(None), "engine: process pid 812");
    assert_eq!(Owner::ThisProcess.to_string(), "engine: this dashboard");
}

#[test]
fn the_lock_file_gives_pid_and_role() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(LOCK_FILE);
    std::fs::write(&path, "812 daemon\n").unwrap();
    assert_eq!(read_lock_file(&path), Some((812, Some(Role::Daemon))));
    assert_eq!(role_in_file(&path, 812), Some(Role::Daemon));
    assert_eq!(role_in_file(&path, 813), None, "a stale line names no role");
    std::fs::write(&path, "812\n").unwrap();
    assert_eq!(read_lock_file(&path), Some((812, None)), "older vmlife");
}
