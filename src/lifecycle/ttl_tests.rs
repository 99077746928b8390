use super::*;

fn temp(created: Option<i64>, ttl_hours: f64, scheduled: Option<i64>) -> VmPersistence {
    VmPersistence {
        mode: PersistenceMode::Temporary,
        created_at_unix: created,
        ttl_hours,
        scheduled_cleanup: scheduled,
        ..VmPersistence::default()
    }
}

#[test]
fn expiry_table() {
    let now = 1_000_000;
    let cases: &[(&str, VmPersistence, i64, TtlStatus)] = &[
        (
            "permanent never expires",
            VmPersistence::default(),
            now,
            TtlStatus::Permanent,
        ),
        (
            "created + ttl",
            temp(Some(now - 3600), 2.0, None),
            now,
            TtlStatus::Live {
                expires_at: now + 3600,
                remaining: 3600,
            },
        ),
        (
            "scheduled_cleanup wins over created + ttl",
            temp(Some(now - 3600), 2.0, Some(now + 60)),
            now,
            TtlStatus::Live {
                expires_at: now + 60,
                remaining: 60,
            },
        ),
        (
            "expired",
            temp(Some(now - 7200), 1.0, None),
            now,
            TtlStatus::Expired {
                expires_at: now - 3600,
                overdue: 3600,
            },
        ),
        (
            "exactly at expiry counts as expired",
            temp(Some(now - 3600), 1.0, None),
            now,
            TtlStatus::Expired {
                expires_at: now,
                overdue: 0,
            },
        ),
        (
            "no created_at: counts from first seen, not expired on sight",
            temp(None, 1.0, None),
            now,
            TtlStatus::Live {
                expires_at: now + 3600,
                remaining: 3600,
            },
        ),
        (
            "fractional hours",
            temp(Some(now), 0.5, None),
            now,
            TtlStatus::Live {
                expires_at: now + 1800,
                remaining: 1800,
            },
        ),
        (
            "zero ttl expires at creation",
            temp(Some(now), 0.0, None),
            now,
            TtlStatus::Expired {
                expires_at: now,
                overdue: 0,
            },
        ),
    ];
    for (what, p, first_seen, want) in cases {
        assert_eq!(status(p, *first_seen, now), *want, "{what}");
    }
}

#[test]
fn absurd_ttls_saturate() {
    assert_eq!(ttl_seconds(f64::MAX), i64::MAX);
    assert_eq!(ttl_seconds(-1.0), 0);
    assert_eq!(ttl_seconds(f64::NAN), 0);
    let p = temp(Some(i64::MAX - 5), 1e300, None);
    assert_eq!(expires_at(&p, 0), Some(i64::MAX));
}

#[test]
fn countdown_strings() {
    let now = 1_000_000;
    let s = |p: VmPersistence| status(&p, now, now).countdown();
    assert_eq!(s(VmPersistence::default()), "—");
    assert_eq!(
        s(temp(Some(now), 0.0, Some(now + 3 * 3600 + 12 * 60 + 5))),
        "3h12m"
    );
    assert_eq!(s(temp(Some(now), 0.0, Some(now - 300))), "expired 5m ago");
    assert_eq!(s(temp(Some(now), 0.0, Some(now + 45))), "45s");
    assert_eq!(
        s(temp(Some(now), 0.0, Some(now + 2 * 86_400 + 4 * 3600))),
        "2d4h"
    );
}

#[test]
fn remaining_is_negative_once_expired() {
    let now = 1_000_000;
    let st = status(&temp(Some(now - 7200), 1.0, None), now, now);
    assert_eq!(st.remaining_seconds(), Some(-3600));
    assert!(st.expires_within(3600));
    assert_eq!(
        status(&VmPersistence::default(), now, now).remaining_seconds(),
        None
    );
}

#[test]
fn extend_from_expiry_or_from_now() {
    let now = 1_000_000;
    let live = temp(Some(now), 1.0, None);
    assert_eq!(extended(&live, now, now, 2.0), Some(now + 3 * 3600));
    let expired = temp(Some(now - 7200), 1.0, None);
    assert_eq!(extended(&expired, now, now, 1.0), Some(now + 3600));
    assert_eq!(extended(&VmPersistence::default(), now, now, 1.0), None);
}
