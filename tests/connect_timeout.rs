//! A silent endpoint times out: a listener that accepts and never answers must not hang
//! `vmlife` (issue 9, point 9).
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::time::{Duration, Instant};

use assert_cmd::Command;

#[test]
fn a_silent_endpoint_times_out_naming_the_uri() {
    // Accepts (the kernel completes the handshake into the backlog) and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let uri = format!("qemu+tcp://127.0.0.1:{port}/system");
    let home = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let out = Command::cargo_bin("vmlife")
        .unwrap()
        .env_remove("LIBVIRT_DEFAULT_URI")
        .env_remove("VMLIFE_CONFIG")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .args(["-c", &uri, "--connect-timeout", "1", "ls"])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let took = start.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert!(err.contains(&uri), "{err}");
    assert!(err.contains("did not answer within 1s"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err:?}");
    drop(listener);
}

#[test]
fn connect_timeout_zero_is_a_usage_error() {
    let out = Command::cargo_bin("vmlife")
        .unwrap()
        .args(["-c", "test:///default", "--connect-timeout", "0", "ls"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_config_key_sets_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let uri = format!("qemu+tcp://127.0.0.1:{port}/system");
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[connection]\nuri = \"{uri}\"\nconnect_timeout_seconds = 1\n"),
    )
    .unwrap();
    let start = Instant::now();
    let out = Command::cargo_bin("vmlife")
        .unwrap()
        .env_remove("LIBVIRT_DEFAULT_URI")
        .env("HOME", home.path())
        .env("VMLIFE_CONFIG", &config)
        .arg("ls")
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(start.elapsed() < Duration::from_secs(8));
    assert!(err.contains(&uri) && err.contains("within 1s"), "{err}");

    std::fs::write(&config, "[connection]\nconnect_timeout_seconds = 0\n").unwrap();
    let out = Command::cargo_bin("vmlife")
        .unwrap()
        .env("HOME", home.path())
        .env("VMLIFE_CONFIG", &config)
        .arg("ls")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("connection.connect_timeout_seconds"), "{err}");
    drop(listener);
}
