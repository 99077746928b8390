//! Tests of the `[limits]` section.

use super::*;
use crate::config::Config;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    limits: LimitsConfig,
}

fn parse(text: &str) -> Result<LimitsConfig, String> {
    let f: File = toml::from_str(text).map_err(|e| e.to_string())?;
    check(&f.limits)?;
    Ok(f.limits)
}

#[test]
fn defaults_report_only() {
    let l = parse("").unwrap();
    assert_eq!(l, LimitsConfig::default());
    assert!(!l.apply, "installing vmlife never changes limits unasked");
    assert_eq!(
        (
            l.memory_overhead_mib,
            l.cpu_period_us,
            l.disk_threshold_percent
        ),
        (256, 100_000, 90)
    );
    assert_eq!(l.settings(), LimitSettings::default());
}

#[test]
fn a_full_section() {
    let l = parse(
        "[limits]\napply = true\nmemory_overhead_mib = 0\ncpu_period_us = 1000\ndisk_threshold_percent = 100\n",
    )
    .unwrap();
    assert!(l.apply);
    let s = l.settings();
    assert_eq!(
        (
            s.memory_overhead_kib,
            s.cpu_period_us,
            s.disk_threshold_percent
        ),
        (0, 1000, 100)
    );
}

#[test]
fn out_of_range_names_the_key() {
    let cases = [
        (
            "memory_overhead_mib = 65537",
            "limits.memory_overhead_mib must be from 0 to 65536, not 65537",
        ),
        (
            "cpu_period_us = 999",
            "limits.cpu_period_us must be from 1000 to 1000000, not 999",
        ),
        (
            "cpu_period_us = 1000001",
            "limits.cpu_period_us must be from 1000 to 1000000",
        ),
        (
            "disk_threshold_percent = 0",
            "limits.disk_threshold_percent must be from 1 to 100, not 0",
        ),
        (
            "disk_threshold_percent = 101",
            "limits.disk_threshold_percent must be from 1 to 100",
        ),
    ];
    for (line, want) in cases {
        let err = parse(&format!("[limits]\n{line}\n")).unwrap_err();
        assert!(err.contains(want), "{line}: {err}");
        // The whole config checks it too.
        let err = Config::parse(&format!("[limits]\n{line}\n")).unwrap_err();
        assert!(err.contains(want), "{line}: {err}");
    }
}

#[test]
fn unknown_keys_and_bad_types_are_errors() {
    assert!(parse("[limits]\napplyy = true\n")
        .unwrap_err()
        .contains("applyy"));
    assert!(parse("[limits]\napply = \"yes\"\n").is_err());
    assert!(parse("[limits]\ncpu_period_us = -1\n").is_err());
}
