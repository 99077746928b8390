//! The journal: an append-only JSON-lines record of every action vmlife took or refused.
//!
//! One [`JournalEntry`] per line in `<state_dir>/journal.jsonl`. Each line is written with
//! a single `write` on a file opened `O_APPEND`, then fsynced, so lines from several
//! threads or processes (the daemon and a dashboard) never interleave and an entry that
//! [`Journal::append`] reported is on disk. A kill mid-write can leave at most a torn
//! last line; [`Journal::read`] skips and counts it (and any other line that does not
//! parse) instead of failing, because losing the whole history to one bad line would be
//! worse than the bad line.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lifecycle::{Actor, Command};
use crate::model::Uuid;

/// The journal's file name inside the state directory.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// Permissions of a journal file vmlife creates (see the state directory's mode).
const FILE_MODE: u32 = 0o600;

/// One action and its result: one line of the journal, and one object of
/// `vmlife journal --json`. The field names are that public format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// When the action finished (RFC 3339, UTC).
    pub time: DateTime<Utc>,
    /// Who asked: `engine`, `dashboard:alice`, `cli:root` ([`Actor`]'s `Display`).
    pub actor: String,
    /// The VM's name as the requester saw it.
    pub vm_name: String,
    /// The VM's UUID: what vmlife acted on.
    pub vm_id: Uuid,
    /// The action's name ([`crate::lifecycle::Op::name`]): `destroy`, `extend_ttl`.
    pub action: String,
    /// Why it was asked for.
    pub reason: String,
    /// `ok`, `error: …`, `refused: …` or `dry run: would …`.
    pub result: String,
    /// Facts specific to the action (the new expiry of an extended TTL); `null` when
    /// there are none. Missing in a line means `null`, so older lines stay readable.
    #[serde(default)]
    pub detail: Option<serde_json::Value>,
    /// The host the VM is on (its connection's name, `[[connections]]`); missing in
    /// lines written before vmlife knew several hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl JournalEntry {
    /// The entry for `cmd`, asked for by `actor`, that ended with `result`.
    pub fn for_command(
        time: DateTime<Utc>,
        actor: &Actor,
        cmd: &Command,
        result: impl Into<String>,
        detail: Option<serde_json::Value>,
    ) -> Self {
        JournalEntry {
            time,
            actor: actor.to_string(),
            vm_name: cmd.vm_name.clone(),
            vm_id: cmd.vm_id.clone(),
            action: cmd.op.name().to_string(),
            reason: cmd.reason.clone(),
            result: result.into(),
            detail,
            host: None,
        }
    }
}

/// What reading a journal found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalRead {
    /// The entries that parsed, oldest first.
    pub entries: Vec<JournalEntry>,
    /// Non-blank lines that did not parse (a torn last line after a kill, a hand edit).
    pub skipped: usize,
}

/// The journal of one state directory (or an in-memory one for tests and the demo).
///
/// Shareable between threads (`Arc<Journal>`): [`Journal::append`] takes `&self`.
#[derive(Debug)]
pub struct Journal {
    backend: Backend,
    /// Stamped on every entry appended without a host ([`Journal::with_host`]).
    host: Option<String>,
}

#[derive(Debug)]
enum Backend {
    File {
        dir: PathBuf,
        path: PathBuf,
        /// The open journal; the lock serializes this process's appends, so the repair
        /// after a short write (see [`Journal::append`]) cannot land in the middle of
        /// another thread's line, and a rotation swaps the file under it.
        file: Mutex<File>,
        /// Rotate before a line would take the file past this size.
        max_bytes: u64,
        /// Rotated files older than this are removed at rotation (`retention_days`).
        retention: Option<chrono::Duration>,
    },
    /// The bytes of a journal file, in memory.
    Memory(Mutex<Vec<u8>>),
    /// Fails every append, so tests can see what callers do with a journal error.
    #[cfg(test)]
    Broken,
    /// Keeps the first `left` appends in memory, then fails every append (a disk that
    /// fills up in the middle of a procedure).
    #[cfg(test)]
    FailAfter {
        left: Mutex<usize>,
        buf: Mutex<Vec<u8>>,
    },
}

impl Journal {
    /// Opens (creating when missing) `<state_dir>/journal.jsonl`, creating `state_dir`
    /// owner-only when it does not exist.
    ///
    /// A torn last line left by a kill is closed with a newline first, so the next entry
    /// starts on a line of its own instead of being glued to the torn one and lost with
    /// it.
    pub fn open(state_dir: &Path) -> io::Result<Journal> {
        super::ensure_dir(state_dir).map_err(|e| with_path(e, state_dir))?;
        let path = state_dir.join(JOURNAL_FILE);
        let file = open_file(state_dir, &path)?;
        close_torn_line(&file).map_err(|e| with_path(e, &path))?;
        Ok(Journal {
            backend: Backend::File {
                dir: state_dir.to_path_buf(),
                path,
                file: Mutex::new(file),
                max_bytes: super::rotate::DEFAULT_MAX_BYTES,
                retention: None,
            },
            host: None,
        })
    }

    /// This journal, stamping `host` on every entry appended without one.
    pub fn with_host(mut self, host: impl Into<String>) -> Journal {
        self.host = Some(host.into());
        self
    }

    /// This journal, rotated when a line would take it past `max_bytes`, removing
    /// rotated files older than `retention_days` (the cleanup policy's) when it does.
    pub fn with_rotation(mut self, max_bytes: u64, retention_days: Option<u32>) -> Journal {
        if let Backend::File {
            max_bytes: m,
            retention,
            ..
        } = &mut self.backend
        {
            *m = max_bytes.max(1);
            *retention = retention_days.map(|d| chrono::Duration::days(i64::from(d)));
        }
        self
    }

    /// A journal kept in memory and lost on exit: for tests and the demo, which must
    /// not write into a real state store.
    pub fn in_memory() -> Journal {
        Journal {
            backend: Backend::Memory(Mutex::new(Vec::new())),
            host: None,
        }
    }

    /// A journal whose appends all fail.
    #[cfg(test)]
    pub(crate) fn broken() -> Journal {
        Journal {
            backend: Backend::Broken,
            host: None,
        }
    }

    /// A journal that takes `n` appends, then fails every one.
    #[cfg(test)]
    pub(crate) fn failing_after(n: usize) -> Journal {
        Journal {
            backend: Backend::FailAfter {
                left: Mutex::new(n),
                buf: Mutex::new(Vec::new()),
            },
            host: None,
        }
    }

    /// The journal file, or `None` for an in-memory journal.
    pub fn path(&self) -> Option<&Path> {
        match &self.backend {
            Backend::File { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Appends one entry as one line and fsyncs it. Safe to call from several threads
    /// at once; when it returns `Ok` the entry is on disk.
    pub fn append(&self, entry: &JournalEntry) -> io::Result<()> {
        let stamped;
        let entry = match (&entry.host, &self.host) {
            (None, Some(host)) => {
                stamped = JournalEntry {
                    host: Some(host.clone()),
                    ..entry.clone()
                };
                &stamped
            }
            _ => entry,
        };
        // serde_json escapes newlines inside strings, so a line is always one line.
        let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
        line.push(b'\n');
        match &self.backend {
            Backend::File {
                dir,
                path,
                file,
                max_bytes,
                retention,
            } => {
                let written = {
                    let mut guard = lock(file);
                    self.prepare(
                        dir,
                        path,
                        &mut guard,
                        line.len() as u64,
                        *max_bytes,
                        *retention,
                    )
                    .map_err(|e| with_path(e, path))?;
                    write_line(&guard, &line).map_err(|e| with_path(e, path))?;
                    guard.try_clone().map_err(|e| with_path(e, path))?
                };
                // Outside the lock: concurrent fsyncs of one file are fine, and a slow
                // disk then delays only the fsync, not every other thread's write.
                written.sync_data().map_err(|e| with_path(e, path))
            }
            Backend::Memory(buf) => {
                lock(buf).extend_from_slice(&line);
                Ok(())
            }
            #[cfg(test)]
            Backend::Broken => Err(io::Error::other("journal is broken (test)")),
            #[cfg(test)]
            Backend::FailAfter { left, buf } => {
                let mut left = lock(left);
                if *left == 0 {
                    return Err(io::Error::other("no space left on device (test)"));
                }
                *left -= 1;
                lock(buf).extend_from_slice(&line);
                Ok(())
            }
        }
    }

    /// Before an append of `len` bytes: follow a rotation done by another process
    /// (the path names another file now), and rotate when the line would pass
    /// `max_bytes`.
    fn prepare(
        &self,
        dir: &Path,
        path: &Path,
        file: &mut File,
        len: u64,
        max_bytes: u64,
        retention: Option<chrono::Duration>,
    ) -> io::Result<()> {
        let held = file.metadata()?;
        let current = match std::fs::metadata(path) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let same = current
            .as_ref()
            .is_some_and(|m| m.dev() == held.dev() && m.ino() == held.ino());
        if !same {
            *file = open_file(dir, path)?;
        }
        let size = file.metadata()?.len();
        if size > 0 && size + len > max_bytes {
            super::rotate::rotate(dir, path, file, Utc::now(), retention)?;
            *file = open_file(dir, path)?;
        }
        Ok(())
    }

    /// Reads a journal file, or `journal.jsonl` inside `path` when it is a directory.
    ///
    /// A state directory without a journal yet reads as empty (nothing has been done
    /// there); a missing file named explicitly is an error. Lines that do not parse are
    /// skipped and counted, blank lines ignored.
    pub fn read(path: &Path) -> io::Result<JournalRead> {
        let is_dir = path.is_dir();
        let file_path = if is_dir {
            path.join(JOURNAL_FILE)
        } else {
            path.to_path_buf()
        };
        match File::open(&file_path) {
            Ok(f) => parse_lines(BufReader::new(f)).map_err(|e| with_path(e, &file_path)),
            Err(e) if is_dir && e.kind() == io::ErrorKind::NotFound => Ok(JournalRead::default()),
            Err(e) => Err(with_path(e, &file_path)),
        }
    }

    /// Reads the journal of `state_dir`; a state directory that does not exist yet, like
    /// one without a journal, reads as empty (nothing has happened there).
    ///
    /// Rotated files come first (oldest first), then the current one.
    pub fn read_state_dir(state_dir: &Path) -> io::Result<JournalRead> {
        super::rotate::read_since(state_dir, None)
    }

    /// The entries of `state_dir`'s journal at or after `since`: opens only the rotated
    /// files whose time range matters and seeks in the current file, so a short range
    /// of a large journal is read fast and in little memory.
    pub fn read_state_dir_since(
        state_dir: &Path,
        since: Option<DateTime<Utc>>,
    ) -> io::Result<JournalRead> {
        super::rotate::read_since(state_dir, since)
    }

    /// Reads back this journal, file or in-memory, like [`Journal::read`].
    pub fn read_all(&self) -> io::Result<JournalRead> {
        match &self.backend {
            Backend::File { dir, .. } => Journal::read_state_dir(dir),
            Backend::Memory(buf) => parse_lines(&lock(buf)[..]),
            #[cfg(test)]
            Backend::Broken => Err(io::Error::other("journal is broken (test)")),
            #[cfg(test)]
            Backend::FailAfter { buf, .. } => parse_lines(&lock(buf)[..]),
        }
    }
}

/// One `write` of the whole line (retried only when interrupted before writing
/// anything). Several writes could interleave with another process's line, so a short
/// write is not continued: the torn line is closed with a newline, for readers to skip,
/// and reported.
fn write_line(mut file: &File, line: &[u8]) -> io::Result<()> {
    let written = loop {
        match file.write(line) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => break other?,
        }
    };
    if written < line.len() {
        // Best effort: if even this fails, `Journal::open` closes the line next time.
        let _ = file.write(b"\n");
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!(
                "short write ({written} of {} bytes); the entry is torn",
                line.len()
            ),
        ));
    }
    Ok(())
}

/// Ends the file with a newline when its last line is torn.
fn close_torn_line(file: &File) -> io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, len - 1)?;
    if last[0] != b'\n' {
        write_line(file, b"\n")?;
        file.sync_data()?;
    }
    Ok(())
}

/// Opens (creating when missing) the journal file for appending.
fn open_file(dir: &Path, path: &Path) -> io::Result<File> {
    let existed = path.exists();
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .open(path)
        .map_err(|e| with_path(e, path))?;
    if !existed {
        // Make the new file's directory entry durable too, not only its lines.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| with_path(e, dir))?;
    }
    Ok(file)
}

/// Parses JSON lines, skipping and counting the ones that are not entries.
fn parse_lines(reader: impl BufRead) -> io::Result<JournalRead> {
    parse_lines_since(reader, None)
}

/// Like [`parse_lines`], keeping only entries at or after `since`.
pub(super) fn parse_lines_since(
    mut reader: impl BufRead,
    since: Option<DateTime<Utc>>,
) -> io::Result<JournalRead> {
    let mut out = JournalRead::default();
    // Bytes rather than `lines()`: a line torn inside a multi-byte character is not
    // UTF-8, and must count as skipped rather than abort the read.
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(out);
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<JournalEntry>(&line) {
            Ok(entry) if since.is_some_and(|s| entry.time < s) => {}
            Ok(entry) => out.entries.push(entry),
            Err(_) => out.skipped += 1,
        }
    }
}

/// Reads the journal's new complete lines since the last read (the engine notes the
/// stops other processes made through vmlife).
#[derive(Debug)]
pub struct JournalTail {
    path: PathBuf,
    offset: u64,
}

impl JournalTail {
    /// A reader of `path` that starts at its current end.
    pub fn at_end(path: &Path) -> JournalTail {
        let offset = std::fs::metadata(path).map_or(0, |m| m.len());
        JournalTail {
            path: path.to_path_buf(),
            offset,
        }
    }

    /// The entries of the complete lines appended since the last read (from the start
    /// again when the file shrank: it was rotated); unreadable lines are skipped.
    pub fn read_new(&mut self) -> Vec<JournalEntry> {
        let Ok(mut f) = File::open(&self.path) else {
            return Vec::new();
        };
        let len = f.metadata().map_or(0, |m| m.len());
        if len < self.offset {
            self.offset = 0;
        }
        if len == self.offset || f.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut bytes = Vec::new();
        if f.take(len - self.offset).read_to_end(&mut bytes).is_err() {
            return Vec::new();
        }
        let Some(end) = bytes.iter().rposition(|&b| b == b'\n') else {
            return Vec::new();
        };
        self.offset += end as u64 + 1;
        bytes[..=end]
            .split(|&b| b == b'\n')
            .filter_map(|l| serde_json::from_slice(l).ok())
            .collect()
    }
}

/// Locks `m`, ignoring poison: the guarded data is bytes or nothing, and a thread that
/// panicked mid-append has at worst torn one line, which readers skip.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Prefixes an IO error with the path it concerns, so messages name the file.
fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
