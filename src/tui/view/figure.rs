//! How a figure is written given its age: `…` while it is awaited, `~` before a value
//! older than its cadence (dimmed), as it is otherwise. Colour never carries it alone.

use chrono::{DateTime, Utc};

use crate::poll::Age;

/// Shown in a cell whose figure (or policy) has been asked for and not come yet.
pub const PENDING: &str = "…";

/// Marks a value older than its cadence.
pub const STALE: char = '~';

/// `text` as the cell shows it at `now`, and whether it is stale.
pub fn text(text: String, age: Age, now: DateTime<Utc>) -> (String, bool) {
    match age {
        Age::Pending => (PENDING.into(), false),
        a if a.is_stale(now) => (format!("{STALE}{text}"), true),
        _ => (text, false),
    }
}
