//! Tests of the signal parsers and the threshold judgement.

use super::*;
use proptest::prelude::*;

const MEMINFO: &str = "MemTotal:       16318412 kB\nMemFree:          512000 kB\n\
MemAvailable:     505870 kB\nBuffers:          100 kB\n";

const PSI: &str = "some avg10=12.50 avg60=3.10 avg300=0.80 total=123456\n\
full avg10=4.00 avg60=1.00 avg300=0.20 total=23456\n";

#[test]
fn meminfo_table() {
    let mi = |t, a| {
        Some(MemInfo {
            total_kib: t,
            available_kib: a,
        })
    };
    let cases: &[(&str, Option<MemInfo>)] = &[
        (MEMINFO, mi(16_318_412, 505_870)),
        ("MemAvailable: 5 kB\nMemTotal: 10 kB\n", mi(10, 5)),
        // No unit is read as kB; available above the total is capped at it.
        ("MemTotal: 10\nMemAvailable: 50\n", mi(10, 10)),
        ("MemTotal: 10 kB\n", None),
        ("MemAvailable: 10 kB\n", None),
        ("MemTotal: 0 kB\nMemAvailable: 0 kB\n", None),
        ("MemTotal: -5 kB\nMemAvailable: 1 kB\n", None),
        ("MemTotal: 10 MB\nMemAvailable: 1 kB\n", None),
        (
            "MemTotal: 99999999999999999999999 kB\nMemAvailable: 1 kB\n",
            None,
        ),
        ("MemTotalX: 10 kB\nMemAvailable: 1 kB\n", None),
        ("", None),
        ("\u{0}\u{ffff}garbage:::\n", None),
    ];
    for (text, want) in cases {
        assert_eq!(parse_meminfo(text), *want, "{text:?}");
    }
    let m = parse_meminfo(MEMINFO).unwrap();
    assert!((m.available_percent() - 3.1).abs() < 0.01);
}

#[test]
fn psi_table() {
    let line = |a, b| PsiLine { avg10: a, avg60: b };
    let p = parse_psi(PSI).unwrap();
    assert_eq!(p.some, line(12.5, 3.1));
    assert_eq!(p.full, Some(line(4.0, 1.0)));
    // Older kernels: no `full` line; a garbled one is left out.
    let some_only = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
    assert_eq!(parse_psi(some_only).unwrap().full, None);
    let garbled = format!("{some_only}full avg10=x avg60=1.0\n");
    assert_eq!(parse_psi(&garbled).unwrap().full, None);
    for bad in [
        "",
        "full avg10=1.00 avg60=1.00 avg300=1.00 total=1\n",
        "some avg10=1.00\n",
        "some avg10=NaN avg60=1.00\n",
        "some avg10=-1 avg60=1.00\n",
        "some avg10=101 avg60=1.00\n",
        "some avg10=inf avg60=1.00\n",
        "someavg10=1.00 avg60=1.00\n",
        "\u{0}\u{ffff}",
    ] {
        assert_eq!(parse_psi(bad), None, "{bad:?}");
    }
}

fn settings() -> PressureSettings {
    PressureSettings {
        psi_some_avg10_percent: Some(10.0),
        ..PressureSettings::default()
    }
}

#[test]
fn evaluate_names_the_figures() {
    let s = settings();
    let low = parse_meminfo(MEMINFO).unwrap();
    let high = MemInfo {
        total_kib: 1000,
        available_kib: 402,
    };
    let calm = Psi {
        some: PsiLine {
            avg10: 0.5,
            avg60: 0.1,
        },
        full: None,
    };
    let busy = parse_psi(PSI).unwrap();
    let over = |t: &str| Signal::Over(t.into());
    let clear = |t: &str| Signal::Clear(t.into());
    assert_eq!(
        evaluate(Some(&low), None, &s),
        over("available 3.1 % < 5 %")
    );
    assert_eq!(
        evaluate(Some(&high), Some(&calm), &s),
        clear("available 40.2 % ≥ 5 %, memory PSI some avg10 0.5 % ≤ 10 %")
    );
    assert_eq!(
        evaluate(Some(&high), Some(&busy), &s),
        over("memory PSI some avg10 12.5 % > 10 %")
    );
    assert_eq!(
        evaluate(None, Some(&busy), &s),
        over("memory PSI some avg10 12.5 % > 10 %")
    );
    // PSI off: its figures are not looked at.
    let off = PressureSettings::default();
    assert_eq!(
        evaluate(Some(&high), Some(&busy), &off),
        clear("available 40.2 % ≥ 5 %")
    );
    assert!(matches!(
        evaluate(None, Some(&busy), &off),
        Signal::Unknown(_)
    ));
    assert!(matches!(evaluate(None, None, &s), Signal::Unknown(_)));
    // A full line is checked when its threshold is set and the kernel reports it.
    let full = PressureSettings {
        psi_full_avg10_percent: Some(2.0),
        ..off
    };
    assert_eq!(
        evaluate(None, Some(&busy), &full),
        over("memory PSI full avg10 4.0 % > 2 %")
    );
    assert!(matches!(
        evaluate(None, Some(&calm), &full),
        Signal::Unknown(_)
    ));
}

#[test]
fn room_needs_both_margins() {
    let s = PressureSettings::default(); // 5 %, 256 MiB
    let mib = 1024 * 1024;
    assert!(has_room(600 * mib, 10_000 * mib, &s));
    assert!(!has_room(400 * mib, 10_000 * mib, &s)); // 4 %
    assert!(!has_room(200 * mib, 1_000 * mib, &s)); // 20 %, but 200 MiB
    assert!(!has_room(5, 0, &s));
    assert!(has_room(u64::MAX, u64::MAX, &s));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsers_never_panic(text in "(?s).{0,300}") {
        let _ = parse_meminfo(&text);
        let _ = parse_psi(&text);
    }

    #[test]
    fn near_misses_never_panic(
        total in any::<u64>(), avail in any::<u64>(), a in any::<f64>(), b in any::<f64>()
    ) {
        let mi = format!("MemTotal: {total} kB\nMemAvailable: {avail} kB\n");
        if let Some(m) = parse_meminfo(&mi) {
            prop_assert!(m.available_kib <= m.total_kib);
            let pct = m.available_percent();
            prop_assert!((0.0..=100.0).contains(&pct));
        }
        let psi = format!("some avg10={a} avg60={b} avg300=0 total=1\n");
        if let Some(p) = parse_psi(&psi) {
            prop_assert!((0.0..=100.0).contains(&p.some.avg10));
        }
    }
}
