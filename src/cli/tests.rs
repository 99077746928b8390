//! Names cannot forge output; wild times show as such (issue 9, points 7 and 11), through
//! the commands' own functions on the fake hypervisor.

use std::sync::Arc;

use chrono::Utc;

use super::{ls, show};
use crate::config::Config;
use crate::hypervisor::fake::{running, FakeHypervisor};
use crate::metadata::{self, LifecycleMeta};
use crate::model::PersistenceMode;
use crate::session::Session;

const EVIL: &str = "evil\n\x1b[2Jfake-vm  running\x07";

fn session(hv: FakeHypervisor) -> Session {
    Session {
        hv: Arc::new(hv),
        uri: "test:///fake".into(),
        host: "local".into(),
        engine_here: true,
        config: Config::default(),
        demo: false,
    }
}

fn evil_session() -> Session {
    let hv = FakeHypervisor::new();
    hv.put(running("u-1", EVIL));
    session(hv)
}

fn no_raw_controls(text: &str) {
    for (i, line) in text.lines().enumerate() {
        assert!(
            !line.chars().any(|c| c.is_control()),
            "line {i} has a raw control character: {line:?}"
        );
    }
    assert!(!text.contains("\nfake-vm"), "a forged line: {text:?}");
}

#[test]
fn ls_escapes_names() {
    let s = evil_session();
    let mut out = Vec::new();
    ls::run(&s, None, Utc::now(), false, &mut out)
        .map_err(|_| "ls")
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    no_raw_controls(&text);
    assert!(
        text.contains("evil\\n\\x1b[2Jfake-vm  running\\x07"),
        "{text}"
    );
}

#[test]
fn show_escapes_names_and_json_stays_exact() {
    let s = evil_session();
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    show::run(&s, dir.path(), Utc::now(), "u-1", false, &mut out)
        .map_err(|_| "show")
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    no_raw_controls(&text);
    assert!(
        text.starts_with("evil\\n\\x1b[2Jfake-vm  running\\x07 (u-1)\n"),
        "{text}"
    );
    let mut out = Vec::new();
    show::run(&s, dir.path(), Utc::now(), "u-1", true, &mut out)
        .map_err(|_| "show --json")
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["vm_name"], EVIL);
}

#[test]
fn show_prints_out_of_range_times_as_such() {
    let hv = FakeHypervisor::new();
    let mut d = running("u-1", "far-1");
    let mut m = LifecycleMeta::default();
    m.persistence.mode = PersistenceMode::Temporary;
    m.persistence.created_at_unix = Some(99_999_999_999_999);
    m.persistence.scheduled_cleanup = Some(99_999_999_999_999);
    d.metadata = Some(metadata::to_xml(&m));
    hv.put(d);
    let s = session(hv);
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    show::run(&s, dir.path(), Utc::now(), "far-1", false, &mut out)
        .map_err(|_| "show")
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    // Past the documented range (year 9999), the value makes the policy invalid, and
    // show names the raw number instead of passing it for "not set".
    let invalid = text
        .lines()
        .find(|l| l.contains("INVALID POLICY"))
        .unwrap_or_else(|| panic!("an INVALID POLICY line in {text}"));
    assert!(
        invalid.contains("\"99999999999999\" is out of range"),
        "{invalid}"
    );
}

/// A stopped VM says why in `ls --json` (`stop_reason`) and in the table's STATE.
#[test]
fn ls_says_why_a_vm_is_stopped() {
    use crate::hypervisor::{RunState, ShutoffReason, StateReason};
    let hv = FakeHypervisor::new();
    for (uuid, name, reason) in [
        ("u-1", "saved-1", ShutoffReason::Saved),
        ("u-2", "down-2", ShutoffReason::Shutdown),
        ("u-3", "plain-3", ShutoffReason::Unknown),
    ] {
        let mut d = running(uuid, name);
        d.raw.state = Some(RunState::Shutoff);
        d.raw.reason = StateReason::Shutoff(reason);
        hv.put(d);
    }
    hv.put(running("u-4", "web-4"));
    let s = session(hv);
    let mut out = Vec::new();
    ls::run(&s, None, Utc::now(), true, &mut out).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let reasons: Vec<(String, serde_json::Value)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["vm_name"].as_str().unwrap().to_string(),
                r["stop_reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("down-2".to_string(), serde_json::json!("shut_down")),
            ("plain-3".to_string(), serde_json::Value::Null),
            ("saved-1".to_string(), serde_json::json!("saved")),
            ("web-4".to_string(), serde_json::Value::Null),
        ]
    );
    let mut out = Vec::new();
    ls::run(&s, None, Utc::now(), false, &mut out).unwrap();
    let table = String::from_utf8(out).unwrap();
    assert!(table.contains("stopped: saved"), "{table}");
    assert!(table.contains("stopped: shut down"), "{table}");
}
