//! Journal rotation, retention and range reads.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::{read_since, rotated_files};
use crate::store::{Journal, JournalEntry, JOURNAL_FILE};

fn entry(i: i64, t: DateTime<Utc>) -> JournalEntry {
    JournalEntry {
        time: t,
        actor: "engine".into(),
        vm_name: format!("vm-{i}"),
        vm_id: format!("u-{i}").into(),
        action: "destroy".into(),
        reason: "test".into(),
        result: "ok".into(),
        detail: None,
        host: None,
    }
}

fn t0() -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000, 0).single().unwrap()
}

fn names(read: &super::JournalRead) -> Vec<String> {
    read.entries.iter().map(|e| e.vm_name.clone()).collect()
}

#[test]
fn rotates_by_size_and_reads_everything_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap().with_rotation(1000, None);
    for i in 0..40 {
        j.append(&entry(i, t0() + Duration::seconds(i))).unwrap();
    }
    let rotated = rotated_files(dir.path()).unwrap();
    assert!(rotated.len() >= 5, "{rotated:?}");
    for r in &rotated {
        assert!(std::fs::metadata(&r.path).unwrap().len() <= 1000);
    }
    let all = Journal::read_state_dir(dir.path()).unwrap();
    assert_eq!(all.skipped, 0);
    let want: Vec<String> = (0..40).map(|i| format!("vm-{i}")).collect();
    assert_eq!(names(&all), want);
    assert_eq!(j.read_all().unwrap(), all);
}

#[test]
fn a_rotation_by_another_process_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let line = serde_json::to_string(&entry(0, t0())).unwrap().len() as u64 + 1;
    let a = Journal::open(dir.path())
        .unwrap()
        .with_rotation(2 * line + line / 2, None);
    let b = Journal::open(dir.path()).unwrap();
    a.append(&entry(0, t0())).unwrap();
    a.append(&entry(1, t0())).unwrap();
    a.append(&entry(2, t0())).unwrap(); // rotates
    assert!(!rotated_files(dir.path()).unwrap().is_empty());
    // b still holds the rotated file: its line must go to the new journal.jsonl.
    b.append(&entry(3, t0())).unwrap();
    let current = std::fs::read_to_string(dir.path().join(JOURNAL_FILE)).unwrap();
    assert!(current.contains("vm-3"), "{current}");
    let all = Journal::read_state_dir(dir.path()).unwrap();
    assert_eq!(names(&all), ["vm-0", "vm-1", "vm-2", "vm-3"]);
}

#[test]
fn rotation_removes_files_past_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join(format!(
        "journal.{}.jsonl",
        (Utc::now() - Duration::days(10)).timestamp_millis()
    ));
    let recent = dir.path().join(format!(
        "journal.{}.jsonl",
        (Utc::now() - Duration::days(2)).timestamp_millis()
    ));
    std::fs::write(&old, "").unwrap();
    std::fs::write(&recent, "").unwrap();
    let j = Journal::open(dir.path())
        .unwrap()
        .with_rotation(300, Some(7));
    j.append(&entry(0, Utc::now())).unwrap();
    j.append(&entry(1, Utc::now())).unwrap(); // rotates, then prunes
    assert!(!old.exists());
    assert!(recent.exists());
}

#[test]
fn since_skips_old_rotated_files_and_seeks_in_the_current_one() {
    let dir = tempfile::tempdir().unwrap();
    // An old rotated file that must not even be opened: garbage would count as skipped.
    let old_ms = (t0() - Duration::days(30)).timestamp_millis();
    std::fs::write(
        dir.path().join(format!("journal.{old_ms}.jsonl")),
        "garbage\n",
    )
    .unwrap();
    // ~20k lines (a few MB): bisection has something to do. Written in one go (an
    // append per line would fsync each).
    let n = 20_000;
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&serde_json::to_string(&entry(i, t0() + Duration::seconds(i * 60))).unwrap());
        text.push('\n');
    }
    std::fs::write(dir.path().join(JOURNAL_FILE), text).unwrap();
    let since = t0() + Duration::seconds((n - 10) * 60);
    let read = read_since(dir.path(), Some(since)).unwrap();
    assert_eq!(read.skipped, 0);
    let want: Vec<String> = (n - 10..n).map(|i| format!("vm-{i}")).collect();
    assert_eq!(names(&read), want);
    // Everything: the garbage file is read and counted.
    let all = read_since(dir.path(), None).unwrap();
    assert_eq!(all.entries.len(), n as usize);
    assert_eq!(all.skipped, 1);
    // A moment before everything: all entries, still without the old file.
    let read = read_since(dir.path(), Some(t0() - Duration::days(1))).unwrap();
    assert_eq!((read.entries.len(), read.skipped), (n as usize, 0));
}

#[test]
fn extreme_since_and_retention_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    // The longest retention there is: nothing is old enough to prune, and no overflow.
    let j = Journal::open(dir.path())
        .unwrap()
        .with_rotation(300, Some(u32::MAX));
    for i in 0..10 {
        j.append(&entry(i, t0() + Duration::seconds(i))).unwrap();
    }
    let all = read_since(dir.path(), Some(DateTime::<Utc>::MIN_UTC)).unwrap();
    assert_eq!(all.entries.len(), 10);
    let none = read_since(dir.path(), Some(DateTime::<Utc>::MAX_UTC)).unwrap();
    assert!(none.entries.is_empty());
}
