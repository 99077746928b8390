use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    host: HostConfig,
    #[serde(default)]
    autostart: HostAutostartConfig,
}

fn parse(text: &str) -> Result<File, String> {
    let f: File = toml::from_str(text).map_err(|e| e.to_string())?;
    check(&f.host, &f.autostart)?;
    Ok(f)
}

#[test]
fn defaults_and_a_full_file() {
    let f = parse("").unwrap();
    assert_eq!(f.host, HostConfig::default());
    assert_eq!(f.autostart.ssh_port, 22);
    let f = parse(
        r#"
            [host]
            shutdown_timeout_seconds = 30
            after_timeout = "leave"
            parallel = 2
            managed_save_dir = "/srv/save"
            [autostart]
            ssh_port = 2222
            ssh_address_override = { db-1 = "127.0.0.1", app-1 = "127.0.0.1:40022" }
            ssh_probe_interval_seconds = 0.5
            max_parallel = 1
            retry_delay_seconds = 0
            "#,
    )
    .unwrap();
    assert_eq!(f.host.after_timeout, AfterTimeout::Leave);
    assert_eq!(f.autostart.ssh_address_override["app-1"], "127.0.0.1:40022");
    let s = f.autostart.sequence();
    assert_eq!(
        (s.max_parallel, s.probe_interval_ms, s.retry_delay_ms),
        (1, 500, 0)
    );
}

#[test]
fn bad_values_name_the_key() {
    let err = |t: &str| parse(t).unwrap_err();
    assert!(err("[host]\nafter_timeout = \"kill\"").contains("unknown variant `kill`"));
    assert!(err("[host]\nshutdown_timeout = 3").contains("unknown field"));
    assert_eq!(
        err("[host]\nparallel = 0"),
        "host.parallel must be from 1 to 256, not 0"
    );
    assert_eq!(
        err("[autostart]\nssh_probe_interval_seconds = 0.01"),
        "autostart.ssh_probe_interval_seconds must be from 0.1 to 3600.0, not 0.01"
    );
    assert_eq!(
        err("[autostart]\nretry_delay_seconds = 1e300"),
        "autostart.retry_delay_seconds must be from 0.0 to 3600.0, not 1e300"
    );
    assert_eq!(
        err("[autostart]\nssh_port = 0"),
        "autostart.ssh_port must be from 1 to 65535, not 0"
    );
    assert_eq!(
        err("[host]\nshutdown_timeout_seconds = 9223372036854775807"),
        "host.shutdown_timeout_seconds must be from 0 to 3600, not 9223372036854775807"
    );
    assert_eq!(
        err("[autostart]\nssh_address_override = { db-1 = \" \" }"),
        "autostart.ssh_address_override.db-1 is empty"
    );
}
