//! Tests of the config file: sections, ranges, errors that name the key.

use super::*;
use crate::model::{HhMm, HostShutdownAction};

#[test]
fn empty_file_is_all_defaults() {
    assert_eq!(Config::parse("").unwrap(), Config::default());
}

#[test]
fn sections_use_contract_names() {
    let c = Config::parse(
        "[policy]\non_host_shutdown = \"save_state\"\n[cleanup]\ncleanup_window_start = \"22:00\"\ndry_run_mode = true\n",
    )
    .unwrap();
    assert_eq!(c.policy.on_host_shutdown, HostShutdownAction::SaveState);
    assert_eq!(c.cleanup.cleanup_window_start, HhMm::new(22, 0));
    assert!(c.cleanup.dry_run_mode);
    assert_eq!(c.cleanup.retention_days, 7);
}

#[test]
fn errors_name_line_and_key() {
    let cases = [
        (
            "[cleanup]\nretention_dayz = 3\n",
            "line 2",
            "unknown field `retention_dayz`",
        ),
        (
            "[policy]\non_host_reboot = \"explode\"\n",
            "line 2",
            "unknown variant `explode`",
        ),
        (
            "[cleanup]\ncleanup_window_end = \"25:00\"\n",
            "line 2",
            "\"25:00\" is not a time of day",
        ),
        (
            "[cleanup]\nmax_concurrent_cleanups = -1\n",
            "line 2",
            "invalid value",
        ),
        ("[cleanup\n", "line 1", ""),
    ];
    for (text, line, what) in cases {
        let e = Config::parse(text).unwrap_err();
        assert!(e.contains(line) && e.contains(what), "{text:?} gave {e:?}");
        assert!(!e.contains('\n'), "one line: {e:?}");
    }
    assert_eq!(
        Config::parse("[cleanup]\ncheck_interval_minutes = 0\n").unwrap_err(),
        "cleanup.check_interval_minutes must be from 1 to 10080, not 0"
    );
    assert!(Config::parse("[dashboard]\nrefresh_seconds = 0.1\n").is_err());
    assert_eq!(
        Config::parse("[keys]\ndestroyy = [\"X\"]\n")
            .unwrap_err()
            .split(" (known")
            .next(),
        Some("keys.destroyy: unknown action")
    );
    assert_eq!(
        Config::parse("[keys]\ndestroy = [\"j\"]\n").unwrap_err(),
        "keys.destroy: j is already bound to down"
    );
}

#[test]
fn engine_and_alerts_sections() {
    let c = Config::parse(
        "[engine]\npoll_seconds = 2\nrestart_stable_seconds = 60\n[alerts]\ncommand = [\"/bin/notify\", \"-x\"]\ntimeout_seconds = 5\n",
    )
    .unwrap();
    assert_eq!(c.engine.poll_seconds, 2);
    assert_eq!(c.engine.restart_stable_seconds, 60);
    assert_eq!(c.engine.low_memory_percent, 5.0);
    assert_eq!(c.alerts.command, vec!["/bin/notify", "-x"]);
    assert_eq!(c.alerts.timeout_seconds, 5);
    assert_eq!(Config::default().engine.poll_seconds, 5);
    assert_eq!(Config::default().engine.restart_stable_seconds, 300);
    assert!(!Config::default().engine.manage_all_vms);
    assert!(
        Config::parse("[engine]\nmanage_all_vms = true\n")
            .unwrap()
            .engine
            .manage_all_vms
    );
    assert_eq!(
        Config::parse("[engine]\npoll_seconds = 0\n").unwrap_err(),
        "engine.poll_seconds must be from 1 to 3600, not 0"
    );
    assert_eq!(
        Config::parse("[alerts]\ncommand = [\"\"]\n").unwrap_err(),
        "alerts.command: the program (first element) is empty"
    );
    assert!(Config::parse("[engine]\nlow_memory_percent = 120\n").is_err());
    let p = Config::parse("[pressure]\nhold_seconds = 3\n")
        .unwrap()
        .pressure;
    assert_eq!((p.hold_seconds, p.clear_seconds), (3, 300));
    assert!(Config::parse("[pressure]\nhold = 3\n")
        .unwrap_err()
        .contains("unknown field `hold`"));
    assert!(Config::parse("[alerts]\ncmd = []\n")
        .unwrap_err()
        .contains("unknown field `cmd`"));
}

/// Values that used to panic later (`Duration::from_secs_f64(1e300)`, an `Instant`
/// plus 2^63-1 s) are config errors naming the key.
#[test]
fn every_number_has_a_range() {
    let cases = [
        (
            "[dashboard]\nrefresh_seconds = 1e300\n",
            "dashboard.refresh_seconds must be from 1.0 to 3600.0, not 1e300",
        ),
        (
            "[dashboard]\nrefresh_seconds = nan\n",
            "dashboard.refresh_seconds must be from 1.0 to 3600.0, not NaN",
        ),
        (
            "[dashboard]\nmemory_disk_refresh_seconds = 0.5\n",
            "dashboard.memory_disk_refresh_seconds must be from 1.0 to 3600.0, not 0.5",
        ),
        (
            "[dashboard]\naddress_refresh_seconds = 86401\n",
            "dashboard.address_refresh_seconds must be from 1.0 to 86400.0, not 86401.0",
        ),
        (
            "[dashboard]\nhost_refresh_seconds = 0.5\n",
            "dashboard.host_refresh_seconds must be from 1.0 to 3600.0, not 0.5",
        ),
        (
            "[engine]\nstop_timeout_seconds = 9223372036854775807\n",
            "engine.stop_timeout_seconds must be from 0 to 3600, not 9223372036854775807",
        ),
        (
            "[pressure]\nclear_seconds = 86401\n",
            "pressure.clear_seconds must be from 0 to 86400, not 86401",
        ),
        (
            "[dashboard]\nextend_step_hours = 9000\n",
            "dashboard.extend_step_hours must be more than 0 and at most 8760, not 9000.0",
        ),
        (
            "[cleanup]\nretention_days = 4000000000\n",
            "cleanup.retention_days must be from 0 to 3650, not 4000000000",
        ),
        (
            "[cleanup]\ncleanup_batch_size = 0\n",
            "cleanup.cleanup_batch_size must be from 1 to 10000, not 0",
        ),
        (
            "[alerts]\ntimeout_seconds = 0\n",
            "alerts.timeout_seconds must be from 1 to 3600, not 0",
        ),
        (
            "[connection]\nconnect_timeout_seconds = 9223372036854775807\n",
            "connection.connect_timeout_seconds must be from 1 to 3600, not 9223372036854775807",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(Config::parse(text).unwrap_err(), want, "{text:?}");
    }
    let edges = "[dashboard]\nrefresh_seconds = 3600\n[engine]\nstop_timeout_seconds = 3600\n";
    assert!(Config::parse(edges).is_ok());
}

#[test]
fn host_and_autostart_sections_load_and_are_checked() {
    let c = Config::parse("[host]\nparallel = 2\n[autostart]\nssh_port = 2222\n").unwrap();
    assert_eq!(c.host.parallel, 2);
    assert_eq!(c.autostart.ssh_port, 2222);
    let e = Config::parse("[autostart]\nssh_prot = 22\n").unwrap_err();
    assert!(e.contains("line 2") && e.contains("ssh_prot"), "{e}");
}

#[test]
fn load_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(&p, "[policy]\nbogus = 1\n").unwrap();
    let e = Config::load(Some(&p)).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("config file {}: ", p.display())),
        "{e}"
    );
    let missing = dir.path().join("missing.toml");
    let e = Config::load(Some(&missing)).unwrap_err().to_string();
    assert!(
        e.contains("missing.toml") && e.contains("No such file"),
        "{e}"
    );
}

#[test]
fn uri_precedence() {
    let mut c = Config::default();
    assert_eq!(resolve_uri(None, None, &c), DEFAULT_URI);
    c.connection.uri = Some("qemu+ssh://h/system".into());
    assert_eq!(resolve_uri(None, None, &c), "qemu+ssh://h/system");
    assert_eq!(
        resolve_uri(None, Some("test:///default"), &c),
        "test:///default"
    );
    assert_eq!(resolve_uri(None, Some(""), &c), "qemu+ssh://h/system");
    assert_eq!(
        resolve_uri(Some("qemu:///session"), Some("x"), &c),
        "qemu:///session"
    );
}
