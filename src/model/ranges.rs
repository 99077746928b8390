//! The documented range of every number in the metadata (README, "Ranges").
//!
//! A value outside its range makes the VM "invalid policy", naming the attribute, so
//! no later arithmetic (a delay added to `now`, a TTL to a creation time) can overflow.
//! The upper bounds of `ttl_hours` and `cleanup_grace_period` are those of the
//! contracts' KCL original; the others are generous limits of what makes sense.

use std::ops::RangeInclusive;

/// Unix seconds (`created_at_unix`, `scheduled_cleanup`, `last_state_change`): 1970 to
/// the end of the year 9999, what a date can show.
pub const UNIX_SECONDS: RangeInclusive<i64> = 0..=253_402_300_799;
/// `max_retries`.
pub const MAX_RETRIES: RangeInclusive<i64> = 0..=1000;
/// `ttl_hours`: more than 0, at most a year (8760 h); fractions allowed.
pub const TTL_HOURS_MAX: f64 = 8760.0;
/// `cleanup_grace_period`, seconds.
pub const CLEANUP_GRACE_PERIOD: RangeInclusive<i64> = 0..=300;
/// `start_order`.
pub const START_ORDER: RangeInclusive<i64> = -1_000_000..=1_000_000;
/// `start_delay_seconds`: at most an hour.
pub const START_DELAY_SECONDS: RangeInclusive<i64> = 0..=3600;
/// `ssh_timeout_seconds`: at most a day.
pub const SSH_TIMEOUT_SECONDS: RangeInclusive<i64> = 1..=86_400;
/// `max_start_retries`.
pub const MAX_START_RETRIES: RangeInclusive<i64> = 0..=100;

/// True when `ttl_hours` is in its range (more than 0, at most [`TTL_HOURS_MAX`]).
pub fn ttl_hours_ok(h: f64) -> bool {
    h > 0.0 && h <= TTL_HOURS_MAX
}
