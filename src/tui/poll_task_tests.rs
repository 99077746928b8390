use std::time::{Duration, Instant};

use super::on_grid;

const S2: Duration = Duration::from_secs(2);

fn at(origin: Instant, ms: u64) -> Instant {
    origin + Duration::from_millis(ms)
}

#[test]
fn a_refresh_ends_on_the_grid_point_nearest_to_it() {
    let o = Instant::now();
    // Polls that answered at different moments wait until the same grid point.
    for answered in [0, 10, 300, 999, 1001, 1700, 2000] {
        let until = on_grid(o, at(o, 2_000 + answered), S2, S2);
        let expected = if answered < 1000 { 4_000 } else { 6_000 };
        assert_eq!(until, at(o, expected), "answered {answered} ms after 2 s");
    }
}

#[test]
fn a_wait_is_never_shortened_below_half() {
    let o = Instant::now();
    for now_ms in (0..20_000).step_by(37) {
        let now = at(o, now_ms);
        for wait in [S2, Duration::from_secs(10)] {
            let until = on_grid(o, now, wait, S2);
            assert!(until >= now + wait / 2, "now {now_ms} ms, wait {wait:?}");
            assert!(
                until <= now + wait + S2 / 2,
                "now {now_ms} ms, wait {wait:?}"
            );
            let since = until.duration_since(o).as_millis();
            assert_eq!(since % 2_000, 0, "on the grid: {since} ms");
        }
    }
}

#[test]
fn the_liveness_wait_lands_on_the_same_grid() {
    let o = Instant::now();
    let until = on_grid(o, at(o, 7_400), Duration::from_secs(10), S2);
    assert_eq!(until, at(o, 18_000));
}

#[test]
fn a_moment_before_the_origin_or_a_zero_step_does_not_panic() {
    let o = Instant::now() + Duration::from_secs(5);
    let now = Instant::now();
    let until = on_grid(o, now, S2, S2);
    assert!(until >= now + S2 / 2);
    let until = on_grid(o, now, S2, Duration::ZERO);
    assert!(until >= now + S2 / 2);
}
