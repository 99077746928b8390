//! `vmlife journal [--json] [--since TIME|DURATION]`: the state store's journal of every
//! action vmlife took or refused. Needs no connection.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use clap::Args;

use super::RunError;
use crate::format::escape;
use crate::session::Error;
use crate::store::{Journal, JournalEntry};

/// The flags of `vmlife journal`.
#[derive(Debug, Clone, Default, Args)]
pub struct JournalArgs {
    /// One JSON array of entries (the journal's own field names).
    #[arg(long)]
    pub json: bool,
    /// Only entries from this moment on: RFC 3339, or a duration back from now such as
    /// 30m, 2h, 1d, 1h30m.
    #[arg(long, value_name = "TIME|DURATION")]
    pub since: Option<String>,
}

/// `2h` → 2 hours; units s, m, h, d, w, combinable (`1h30m`).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let mut total = Duration::zero();
    let mut digits = String::new();
    let mut any = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().ok()?;
        digits.clear();
        let unit = match c {
            's' => Duration::try_seconds(n)?,
            'm' => Duration::try_minutes(n)?,
            'h' => Duration::try_hours(n)?,
            'd' => Duration::try_days(n)?,
            'w' => Duration::try_weeks(n)?,
            _ => return None,
        };
        total = total.checked_add(&unit)?;
        any = true;
    }
    (any && digits.is_empty()).then_some(total)
}

/// The moment `--since` names.
pub fn parse_since(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    parse_duration(s)
        .and_then(|d| now.checked_sub_signed(d))
        .ok_or_else(|| {
            format!("--since {s:?}: neither an RFC 3339 time nor a duration like 30m, 2h, 1d")
        })
}

/// Read and print the journal of `state_dir`.
pub fn run(
    state_dir: &Path,
    now: DateTime<Utc>,
    args: &JournalArgs,
    out: &mut impl Write,
) -> Result<(), RunError> {
    let since = match &args.since {
        Some(s) => Some(parse_since(s, now).map_err(|m| Error {
            message: m,
            code: 2,
        })?),
        None => None,
    };
    let read = Journal::read_state_dir_since(state_dir, since)
        .map_err(|e| Error::new(format!("journal: {e}")))?;
    if read.skipped > 0 {
        eprintln!(
            "vmlife: warning: {} unreadable journal line(s) skipped",
            read.skipped
        );
    }
    let entries: Vec<&JournalEntry> = read
        .entries
        .iter()
        .filter(|e| since.is_none_or(|s| e.time >= s))
        .collect();
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &entries)?;
        writeln!(out)?;
        return Ok(());
    }
    if entries.is_empty() {
        // Nothing has happened (or nothing since): nothing to print, like `ls` of an
        // empty directory.
        return Ok(());
    }
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            [
                e.time.format("%Y-%m-%d %H:%M:%S").to_string(),
                escape(&e.actor).into_owned(),
                escape(&e.action).into_owned(),
                escape(&e.vm_name).into_owned(),
                escape(&e.result).into_owned(),
                escape(&e.reason).into_owned(),
            ]
        })
        .collect();
    let headers = ["TIME (UTC)", "ACTOR", "ACTION", "VM", "RESULT", "REASON"];
    let mut widths = headers.map(|h| h.chars().count());
    for row in &rows {
        // The last two columns are free text: not padded.
        for (w, cell) in widths.iter_mut().zip(row).take(4) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            l.push_str(cell);
            if i < 4 {
                l.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            } else if i == 4 {
                l.push_str("  ");
            }
        }
        l.trim_end().to_string()
    };
    writeln!(out, "{}", line(headers))?;
    for r in &rows {
        writeln!(
            out,
            "{}",
            line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]].map(String::as_str))
        )?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
