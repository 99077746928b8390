//! Tests of the memory-pressure hysteresis.

use super::*;
use proptest::prelude::*;

fn over() -> Signal {
    Signal::Over("available 3.1 % < 5 %".into())
}
fn clear() -> Signal {
    Signal::Clear("available 40.0 % ≥ 5 %".into())
}
fn unknown() -> Signal {
    Signal::Unknown("available memory not known".into())
}

#[test]
fn enters_after_hold_and_leaves_after_clear() {
    use PressureState::*;
    let s = PressureSettings::default(); // hold 10, clear 300
    let mut st = Fine;
    let steps: &[(i64, Signal, PressureState)] = &[
        (100, clear(), Fine),
        (105, over(), Entering { since: 105 }),
        (110, over(), Entering { since: 105 }),
        (114, unknown(), Entering { since: 105 }),
        (115, over(), Under { since: 105 }),
        (120, over(), Under { since: 105 }),
        (
            125,
            clear(),
            Clearing {
                since: 125,
                under_since: 105,
            },
        ),
        // Over again while clearing: straight back under, no new hold.
        (130, over(), Under { since: 105 }),
        (
            135,
            clear(),
            Clearing {
                since: 135,
                under_since: 105,
            },
        ),
        (
            400,
            unknown(),
            Clearing {
                since: 135,
                under_since: 105,
            },
        ),
        (
            434,
            clear(),
            Clearing {
                since: 135,
                under_since: 105,
            },
        ),
        (435, clear(), Fine),
        // A spike shorter than the hold does nothing.
        (440, over(), Entering { since: 440 }),
        (445, clear(), Fine),
    ];
    for (now, sig, want) in steps {
        st = st.next(sig, *now, &s);
        assert_eq!(st, *want, "at {now}");
    }
}

#[test]
fn zero_hold_and_clear_switch_at_once() {
    let s = PressureSettings {
        hold_seconds: 0,
        clear_seconds: 0,
        ..PressureSettings::default()
    };
    let st = PressureState::Fine.next(&over(), 7, &s);
    assert_eq!(st, PressureState::Under { since: 7 });
    assert_eq!(st.next(&clear(), 8, &s), PressureState::Fine);
}

#[test]
fn describe_names_the_times() {
    let s = PressureSettings::default();
    let d = |st: PressureState| st.describe(112, &s);
    assert_eq!(d(PressureState::Fine), "fine");
    assert_eq!(
        d(PressureState::Entering { since: 108 }),
        "entering (over for 4 s of 10 s)"
    );
    assert_eq!(
        d(PressureState::Under { since: 100 }),
        "under pressure for 12 s"
    );
    assert_eq!(
        d(PressureState::Clearing {
            since: 72,
            under_since: 1
        }),
        "clearing (clear for 40 s of 300 s)"
    );
}

fn signal() -> impl Strategy<Value = Signal> {
    prop_oneof![Just(over()), Just(clear()), Just(unknown())]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Pressure is entered only after the signal has been over for the hold time, and
    /// left only after it has been clear for the clear time; unknown readings change
    /// nothing; any times (even going backwards) never panic.
    #[test]
    fn hysteresis_holds(
        hold in 0i64..50, clear_s in 0i64..50,
        steps in proptest::collection::vec((signal(), -5i64..30), 1..60),
    ) {
        let s = PressureSettings { hold_seconds: hold, clear_seconds: clear_s, ..PressureSettings::default() };
        let mut st = PressureState::Fine;
        let mut now = 1_000i64;
        for (sig, dt) in steps {
            now += dt;
            let before = st;
            st = st.next(&sig, now, &s);
            match sig {
                Signal::Unknown(_) => prop_assert_eq!(st, before),
                Signal::Over(_) => {
                    prop_assert!(st != PressureState::Fine);
                    if let PressureState::Under { since } = st {
                        if !before.is_pressure() {
                            prop_assert!(now - since >= hold);
                        }
                    }
                }
                Signal::Clear(_) => {
                    let pressing = matches!(st, PressureState::Under { .. } | PressureState::Entering { .. });
                    prop_assert!(!pressing, "clear kept {:?}", st);
                    if st == PressureState::Fine {
                        if let PressureState::Clearing { since, .. } = before {
                            prop_assert!(now - since >= clear_s);
                        }
                        if matches!(before, PressureState::Under { .. }) {
                            prop_assert_eq!(clear_s, 0);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn extreme_times_do_not_overflow() {
    let s = PressureSettings::default();
    let st = PressureState::Entering { since: i64::MIN };
    assert_eq!(
        st.next(&over(), i64::MAX, &s),
        PressureState::Under { since: i64::MIN }
    );
    let st = PressureState::Under { since: i64::MAX };
    let _ = st.describe(i64::MIN, &s);
}
