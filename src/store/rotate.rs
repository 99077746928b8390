//! Journal rotation and range reads.
//!
//! When `journal.jsonl` would grow past its size limit, it is renamed to
//! `journal.<unix-ms>.jsonl`, the moment of the rotation: every entry in a rotated file
//! is older than its name says (give or take [`SLACK`] for clocks of two processes), so
//! `journal --since` opens only the rotated files whose range can matter, and seeks in
//! the current one by bisection instead of parsing it from the start. Rotated files
//! older than the retention are removed at rotation time.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::journal::{parse_lines_since, JournalRead, JOURNAL_FILE};

/// Size past which the journal is rotated: big enough for months of a busy host, small
/// enough to read in a blink.
pub const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// How far out of order two processes' entries may be (their clocks, an fsync between
/// taking the time and writing the line).
const SLACK: Duration = Duration::minutes(5);

/// A rotated journal file and the moment it was rotated (its entries are older).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    pub path: PathBuf,
    pub rotated_at_ms: i64,
}

/// The rotated journal files of `dir`, oldest first.
pub fn rotated_files(dir: &Path) -> io::Result<Vec<Rotated>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(ms) = name
            .to_str()
            .and_then(|n| n.strip_prefix("journal."))
            .and_then(|n| n.strip_suffix(".jsonl"))
            .and_then(|n| n.parse::<i64>().ok())
        else {
            continue;
        };
        out.push(Rotated {
            path: entry.path(),
            rotated_at_ms: ms,
        });
    }
    out.sort_by_key(|r| r.rotated_at_ms);
    Ok(out)
}

/// Renames `path` (the journal of `dir`) to its rotated name, if it is still the file
/// `held` (another process may have rotated it already: then nothing is done), and
/// removes rotated files older than `retention`.
pub fn rotate(
    dir: &Path,
    path: &Path,
    held: &File,
    now: DateTime<Utc>,
    retention: Option<Duration>,
) -> io::Result<()> {
    let ours = held.metadata()?;
    match std::fs::metadata(path) {
        Ok(m) if m.dev() == ours.dev() && m.ino() == ours.ino() => {}
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    let mut ms = now.timestamp_millis();
    let mut target = dir.join(format!("journal.{ms}.jsonl"));
    while target.exists() {
        ms += 1;
        target = dir.join(format!("journal.{ms}.jsonl"));
    }
    std::fs::rename(path, &target)?;
    // The line is still to be written: a failed prune is logged, never an error of
    // the append (it would refuse a destructive step for a reason unrelated to it).
    if let Some(before) = retention.and_then(|keep| now.checked_sub_signed(keep)) {
        if let Err(e) = prune(dir, before) {
            tracing::warn!("journal: pruning rotated files in {}: {e}", dir.display());
        }
    }
    Ok(())
}

/// Removes rotated files whose entries are all older than `before`; how many.
pub fn prune(dir: &Path, before: DateTime<Utc>) -> io::Result<usize> {
    let mut n = 0;
    for r in rotated_files(dir)? {
        if r.rotated_at_ms < before.timestamp_millis() {
            std::fs::remove_file(&r.path)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Entries of `dir`'s journal (rotated files, then the current one) from `since` on
/// (all with `None`), oldest first. Only the files whose range can matter are opened.
pub fn read_since(dir: &Path, since: Option<DateTime<Utc>>) -> io::Result<JournalRead> {
    let mut out = JournalRead::default();
    if !dir.exists() {
        return Ok(out);
    }
    let from = since.map(|s| {
        s.checked_sub_signed(SLACK)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    });
    let from_ms = from.map(|s| s.timestamp_millis());
    let mut files: Vec<PathBuf> = rotated_files(dir)?
        .into_iter()
        .filter(|r| from_ms.is_none_or(|f| r.rotated_at_ms >= f))
        .map(|r| r.path)
        .collect();
    files.push(dir.join(JOURNAL_FILE));
    for path in files {
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(with_path(e, &path)),
        };
        if let Some(s) = from {
            let at = seek_offset(&mut f, s).map_err(|e| with_path(e, &path))?;
            f.seek(SeekFrom::Start(at))
                .map_err(|e| with_path(e, &path))?;
        }
        let part = parse_lines_since(BufReader::new(f), since).map_err(|e| with_path(e, &path))?;
        out.entries.extend(part.entries);
        out.skipped += part.skipped;
    }
    Ok(out)
}

/// Just the time of an entry, to bisect without parsing whole entries.
#[derive(Deserialize)]
struct TimeOnly {
    time: DateTime<Utc>,
}

/// An offset at a line start before every entry at or after `t` (lines are in time
/// order but for [`SLACK`]): bisection on the time of the first whole line after a
/// probe offset.
fn seek_offset(f: &mut File, t: DateTime<Utc>) -> io::Result<u64> {
    let len = f.metadata()?.len();
    let (mut lo, mut hi) = (0u64, len);
    // Invariant: the line starting at or after `lo` is a safe start; the one after
    // `hi` is at or after `t` (or end of file).
    while hi.saturating_sub(lo) > 64 * 1024 {
        let mid = lo + (hi - lo) / 2;
        match time_of_line_after(f, mid)? {
            Some((start, time)) if time < t => lo = start,
            Some(_) | None => hi = mid,
        }
    }
    // `lo` may be mid-line: move to the next line start (0 stays 0).
    if lo == 0 {
        return Ok(0);
    }
    Ok(time_of_line_after(f, lo)?.map_or(lo, |(start, _)| start))
}

/// The start and time of the first whole parseable line after `offset` (skipping the
/// partial line `offset` falls in, and lines that do not parse).
fn time_of_line_after(f: &mut File, offset: u64) -> io::Result<Option<(u64, DateTime<Utc>)>> {
    f.seek(SeekFrom::Start(offset))?;
    let mut r = BufReader::new(f.by_ref());
    let mut line = Vec::new();
    let mut pos = offset;
    if offset > 0 {
        pos += r.read_until(b'\n', &mut line)? as u64;
    }
    for _ in 0..64 {
        line.clear();
        let n = r.read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(None);
        }
        if let Ok(e) = serde_json::from_slice::<TimeOnly>(&line) {
            return Ok(Some((pos, e.time)));
        }
        pos += n as u64;
    }
    Ok(None)
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
#[path = "rotate_tests.rs"]
mod tests;
