//! Edits of a VM's lifecycle settings that both the CLI and the dashboard make.

use super::ttl;
use crate::metadata::LifecycleMeta;
use crate::model::PersistenceMode;

/// Move the expiry `hours` later than the current expiry or `now`, whichever is later.
/// Returns false (and changes nothing) for a permanent VM.
pub fn extend_ttl(meta: &mut LifecycleMeta, first_seen: i64, now: i64, hours: f64) -> bool {
    match ttl::extended(&meta.persistence, first_seen, now, hours) {
        Some(at) => {
            meta.persistence.scheduled_cleanup = Some(at);
            true
        }
        None => false,
    }
}

/// Set a temporary VM's expiry to `at`. Returns false (and changes nothing) for a
/// permanent VM. A missing `created_at_unix` is stamped with `now` so the record is whole.
pub fn set_expiry(meta: &mut LifecycleMeta, now: i64, at: i64) -> bool {
    if meta.persistence.mode != PersistenceMode::Temporary {
        return false;
    }
    meta.persistence.created_at_unix.get_or_insert(now);
    meta.persistence.scheduled_cleanup = Some(at);
    true
}

/// Set the mode. Becoming temporary stamps `created_at_unix` with `now` (unless
/// `created_at` is given) and drops a stale `scheduled_cleanup`, so a VM made temporary
/// gets its full TTL rather than expiring on the spot.
pub fn set_mode(
    meta: &mut LifecycleMeta,
    mode: PersistenceMode,
    now: i64,
    created_at: Option<i64>,
) {
    let p = &mut meta.persistence;
    let becomes_temporary =
        mode == PersistenceMode::Temporary && p.mode != PersistenceMode::Temporary;
    p.mode = mode;
    if becomes_temporary || (mode == PersistenceMode::Temporary && p.created_at_unix.is_none()) {
        p.created_at_unix = Some(created_at.unwrap_or(now));
        if becomes_temporary && created_at.is_none() {
            p.scheduled_cleanup = None;
        }
    }
    if let Some(at) = created_at {
        p.created_at_unix = Some(at);
    }
}

/// True when making the VM temporary at `now` would leave it already expired: the
/// dashboard asks before doing that.
pub fn temporary_would_be_expired(meta: &LifecycleMeta, first_seen: i64, now: i64) -> bool {
    let mut m = meta.clone();
    set_mode(&mut m, PersistenceMode::Temporary, now, None);
    matches!(
        ttl::status(&m.persistence, first_seen, now),
        ttl::TtlStatus::Expired { .. }
    )
}

#[cfg(test)]
#[path = "edit_tests.rs"]
mod tests;
