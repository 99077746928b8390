//! Tests of the journal file: format, torn lines, concurrency, permissions.
use super::*;
use crate::lifecycle::Op;
use std::sync::Arc;

fn entry(vm: &str, result: &str) -> JournalEntry {
    JournalEntry::for_command(
        Utc::now(),
        &Actor::Dashboard("alice".into()),
        &Command::new(format!("uuid-{vm}"), vm, Op::Destroy, "asked"),
        result,
        None,
    )
}

#[test]
fn journal_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap();
    let mut with_detail = entry("b", "ok");
    with_detail.detail = Some(serde_json::json!({"scheduled_cleanup": 1234}));
    let written = vec![entry("a", "ok"), with_detail, entry("c", "refused: gone")];
    for e in &written {
        j.append(e).unwrap();
    }
    let from_dir = Journal::read(dir.path()).unwrap();
    assert_eq!(from_dir.entries, written);
    assert_eq!(from_dir.skipped, 0);
    assert_eq!(Journal::read(j.path().unwrap()).unwrap(), from_dir);
    assert_eq!(j.read_all().unwrap(), from_dir);
}

#[test]
fn journal_line_format() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap();
    j.append(&entry("web-1", "ok")).unwrap();
    let text = std::fs::read_to_string(dir.path().join(JOURNAL_FILE)).unwrap();
    assert!(text.ends_with('\n'));
    assert_eq!(text.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = vec![
        "time", "actor", "vm_name", "vm_id", "action", "reason", "result", "detail",
    ];
    want.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, want);
    assert_eq!(v["actor"], "dashboard:alice");
    assert_eq!(v["action"], "destroy");
    assert_eq!(v["vm_id"], "uuid-web-1");
    assert!(v["detail"].is_null());
    DateTime::parse_from_rfc3339(v["time"].as_str().unwrap()).unwrap();
}

#[test]
fn torn_last_line_is_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(JOURNAL_FILE);
    let first = vec![entry("a", "ok"), entry("b", "ok")];
    {
        let j = Journal::open(dir.path()).unwrap();
        for e in &first {
            j.append(e).unwrap();
        }
    }
    // A kill in the middle of a write: half a line, no newline.
    let line = serde_json::to_string(&entry("torn", "ok")).unwrap();
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&line.as_bytes()[..line.len() / 2]).unwrap();
    drop(f);

    let read = Journal::read(dir.path()).unwrap();
    assert_eq!(read.entries, first);
    assert_eq!(read.skipped, 1);

    // The next writer closes the torn line, so its own entry is not lost with it.
    let j = Journal::open(dir.path()).unwrap();
    let after = entry("c", "ok");
    j.append(&after).unwrap();
    let read = Journal::read(dir.path()).unwrap();
    assert_eq!(read.entries.len(), 3);
    assert_eq!(read.entries[2], after);
    assert_eq!(read.skipped, 1);
}

#[test]
fn garbage_lines_are_counted_blank_lines_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let good = serde_json::to_string(&entry("a", "ok")).unwrap();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"not json\n\n   \n{}\n");
    bytes.extend_from_slice(good.as_bytes());
    bytes.extend_from_slice(b"\n\xff\xfe{\n");
    std::fs::write(&path, bytes).unwrap();
    let read = Journal::read(&path).unwrap();
    assert_eq!(read.entries.len(), 1);
    assert_eq!(read.skipped, 3);
}

#[test]
fn concurrent_appends_all_parse() {
    let dir = tempfile::tempdir().unwrap();
    let j = Arc::new(Journal::open(dir.path()).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let j = Arc::clone(&j);
            std::thread::spawn(move || {
                for i in 0..100 {
                    j.append(&entry(&format!("t{t}-{i}"), "ok")).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let read = Journal::read(dir.path()).unwrap();
    assert_eq!(read.skipped, 0);
    assert_eq!(read.entries.len(), 800);
    let mut names: Vec<_> = read.entries.iter().map(|e| e.vm_name.clone()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 800);
}

#[test]
fn open_creates_an_owner_only_store() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("a").join("state");
    let j = Journal::open(&state).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(j.path().unwrap()), 0o600);
}

#[test]
fn missing_journal_reads_empty_in_a_dir_but_not_by_name() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(Journal::read(dir.path()).unwrap(), JournalRead::default());
    let err = Journal::read(&dir.path().join("nope.jsonl")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("nope.jsonl"));
}

#[test]
fn in_memory_journal_round_trip() {
    let j = Journal::in_memory();
    assert_eq!(j.path(), None);
    let e = entry("a", "dry run: would destroy (hard power-off)");
    j.append(&e).unwrap();
    assert_eq!(j.read_all().unwrap().entries, vec![e]);
}
