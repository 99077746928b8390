//! Tests of the `[pressure]` section.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    pressure: PressureConfig,
}

fn parse(text: &str) -> Result<PressureConfig, String> {
    let f: File = toml::from_str(text).map_err(|e| e.to_string())?;
    check(&f.pressure)?;
    Ok(f.pressure)
}

#[test]
fn defaults_are_the_documented_ones() {
    let p = parse("").unwrap();
    assert_eq!(p, PressureConfig::default());
    assert_eq!(p.memory_available_percent, 5.0);
    assert_eq!(
        (p.psi_some_avg10_percent, p.psi_full_avg10_percent),
        (None, None)
    );
    assert_eq!(
        (p.hold_seconds, p.clear_seconds, p.settle_seconds),
        (10, 300, 10)
    );
    assert_eq!(
        (p.disk_resume_free_percent, p.disk_resume_free_mib),
        (5.0, 256)
    );
    assert_eq!(p.settings(), PressureSettings::default());
}

#[test]
fn a_full_section() {
    let p = parse(
        r#"
        [pressure]
        memory_available_percent = 99.5
        psi_some_avg10_percent = 20
        psi_full_avg10_percent = 10.5
        hold_seconds = 0
        clear_seconds = 2
        settle_seconds = 1
        disk_resume_free_percent = 0
        disk_resume_free_mib = 1
        "#,
    )
    .unwrap();
    let s = p.settings();
    assert_eq!(s.memory_available_percent, 99.5);
    assert_eq!(s.psi_some_avg10_percent, Some(20.0));
    assert_eq!(s.psi_full_avg10_percent, Some(10.5));
    assert_eq!(
        (s.hold_seconds, s.clear_seconds, s.settle_seconds),
        (0, 2, 1)
    );
    assert_eq!(
        (s.disk_resume_free_percent, s.disk_resume_free_mib),
        (0.0, 1)
    );
}

#[test]
fn bad_values_name_the_key() {
    let err = |t: &str| parse(&format!("[pressure]\n{t}")).unwrap_err();
    assert!(err("hold = 3").contains("unknown field `hold`"));
    assert!(err("hold_seconds = -1").contains("invalid value"));
    assert!(err("psi_some_avg10_percent = \"high\"").contains("invalid type"));
    let cases = [
        (
            "memory_available_percent = 101",
            "pressure.memory_available_percent must be from 0.0 to 100.0, not 101.0",
        ),
        (
            "memory_available_percent = nan",
            "pressure.memory_available_percent must be from 0.0 to 100.0, not NaN",
        ),
        (
            "psi_some_avg10_percent = -0.5",
            "pressure.psi_some_avg10_percent must be from 0.0 to 100.0, not -0.5",
        ),
        (
            "psi_full_avg10_percent = inf",
            "pressure.psi_full_avg10_percent must be from 0.0 to 100.0, not inf",
        ),
        (
            "hold_seconds = 3601",
            "pressure.hold_seconds must be from 0 to 3600, not 3601",
        ),
        (
            "clear_seconds = 9223372036854775807",
            "pressure.clear_seconds must be from 0 to 86400, not 9223372036854775807",
        ),
        (
            "settle_seconds = 3601",
            "pressure.settle_seconds must be from 0 to 3600, not 3601",
        ),
        (
            "disk_resume_free_percent = 100",
            "pressure.disk_resume_free_percent must be from 0.0 to 99.0, not 100.0",
        ),
        (
            "disk_resume_free_mib = 1048577",
            "pressure.disk_resume_free_mib must be from 0 to 1048576, not 1048577",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(err(text), want, "{text}");
    }
}
