//! No panic on any value a user or a hypervisor supplies (issue 9, point 5): random
//! strings and numbers for every metadata attribute and every config key, through
//! parse → cleanup plan → ordered-start sequence → the dashboard drawn on a
//! `TestBackend`. Bounded cases: a few seconds in `make test`.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use proptest::prelude::*;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use vmlife::config::Config;
use vmlife::engine::{EngineCore, EngineSettings, EngineStore};
use vmlife::hypervisor::{RunState, StateReason};
use vmlife::lifecycle::autostart::{self, SeqAction, SeqEvent, Sequence};
use vmlife::lifecycle::cleanup::RoundRequest;
use vmlife::model::{VmState, VmStateSnapshot};
use vmlife::poll::Vm;
use vmlife::tui::keymap::Keymap;
use vmlife::tui::state::{CleanupView, State};
use vmlife::tui::update::{update, Msg};

/// Every attribute of the metadata, by element.
const PERSISTENCE: &[&str] = &[
    "mode",
    "auto_start",
    "restart_policy",
    "max_retries",
    "ttl_hours",
    "auto_cleanup",
    "force_cleanup",
    "cleanup_grace_period",
    "created_at_unix",
    "scheduled_cleanup",
    "last_state_change",
];
const POLICY: &[&str] = &[
    "on_host_reboot",
    "on_host_shutdown",
    "on_memory_pressure",
    "on_disk_full",
    "enforce_memory_limit",
    "enforce_cpu_limit",
    "enforce_disk_limit",
];
const AUTOSTART: &[&str] = &[
    "enabled",
    "start_order",
    "start_delay_seconds",
    "wait_for_ssh",
    "ssh_timeout_seconds",
    "on_start_failure",
    "max_start_retries",
];

/// Every key of the config file, by section.
const CONFIG_KEYS: &[(&str, &[&str])] = &[
    (
        "cleanup",
        &[
            "cleanup_enabled",
            "check_interval_minutes",
            "cleanup_window_start",
            "cleanup_window_end",
            "cleanup_in_window_only",
            "max_concurrent_cleanups",
            "cleanup_batch_size",
            "require_confirmation",
            "dry_run_mode",
            "skip_on_low_resources",
            "log_cleanup_operations",
            "alert_on_cleanup_failure",
            "retention_days",
        ],
    ),
    ("dashboard", &["refresh_seconds", "extend_step_hours"]),
    (
        "engine",
        &[
            "poll_seconds",
            "restart_stable_seconds",
            "low_memory_percent",
            "stop_timeout_seconds",
        ],
    ),
    ("alerts", &["timeout_seconds"]),
    (
        "host",
        &["shutdown_timeout_seconds", "after_timeout", "parallel"],
    ),
    (
        "autostart",
        &[
            "ssh_port",
            "ssh_probe_interval_seconds",
            "max_parallel",
            "retry_delay_seconds",
        ],
    ),
    (
        "pressure",
        &[
            "memory_available_percent",
            "psi_some_avg10_percent",
            "psi_full_avg10_percent",
            "hold_seconds",
            "clear_seconds",
            "settle_seconds",
            "disk_resume_free_percent",
            "disk_resume_free_mib",
        ],
    ),
    (
        "policy",
        &[
            "on_host_reboot",
            "on_host_shutdown",
            "on_memory_pressure",
            "on_disk_full",
            "enforce_memory_limit",
        ],
    ),
];

/// Numbers at and beyond the documented ranges' edges, and absurd ones.
const EDGES: &[&str] = &[
    "-1",
    "0",
    "1",
    "2",
    "5",
    "100",
    "300",
    "301",
    "3600",
    "3601",
    "8760",
    "86400",
    "604800",
    "10080",
    "65535",
    "4294967295",
    "10000000000000",
    "253402300799",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "0.1",
    "0.5",
    "8760.5",
    "1e13",
    "1e300",
    "-1.5",
];

/// Words the enums and booleans accept, and near misses.
const WORDS: &[&str] = &[
    "true",
    "false",
    "temporary",
    "permanent",
    "always",
    "on_failure",
    "no",
    "start",
    "keep_stopped",
    "destroy",
    "save_state",
    "shutdown",
    "suspend",
    "kill",
    "none",
    "retry",
    "stop",
    "ignore",
    "leave",
    "22:00",
    "02:00",
    "24:00",
];

/// A value for an attribute or key: an edge number, a known word, or anything.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(EDGES).prop_map(String::from),
        3 => proptest::sample::select(WORDS).prop_map(String::from),
        2 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|n| n.to_string()),
        2 => "[ -~\u{80}-\u{10FFFF}]{0,12}",
    ]
}

/// Mostly values that the attribute or key accepts (so that the later stages see
/// valid settings at their edges), else anything.
fn value_for(name: &str) -> BoxedStrategy<String> {
    let valid: &'static [&'static str] = match name {
        "mode" => &["permanent", "temporary"],
        "restart_policy" => &["no", "always", "on_failure"],
        "on_host_reboot" => &["start", "keep_stopped", "destroy"],
        "on_host_shutdown" => &["shutdown", "save_state", "destroy"],
        "on_memory_pressure" | "on_disk_full" => &["suspend", "kill", "none"],
        "on_start_failure" => &["stop", "retry", "ignore"],
        "after_timeout" => &["destroy", "leave"],
        "cleanup_window_start" | "cleanup_window_end" => &["00:00", "22:00", "23:59"],
        "ttl_hours" | "extend_step_hours" => &["0.001", "0.5", "1", "8760"],
        "start_order" => &["-1000000", "0", "1000000"],
        "ssh_probe_interval_seconds" | "retry_delay_seconds" | "refresh_seconds" => {
            &["0.1", "1", "3600"]
        }
        "low_memory_percent" => &["0", "5", "99.9"],
        "ssh_port" => &["1", "22", "65535"],
        "created_at_unix" | "scheduled_cleanup" | "last_state_change" => {
            &["0", "1800000000", "253402300799"]
        }
        n if n.starts_with("enforce_")
            || n.starts_with("cleanup_enabled")
            || matches!(
                n,
                "auto_start"
                    | "auto_cleanup"
                    | "force_cleanup"
                    | "enabled"
                    | "wait_for_ssh"
                    | "cleanup_in_window_only"
                    | "require_confirmation"
                    | "dry_run_mode"
                    | "skip_on_low_resources"
                    | "log_cleanup_operations"
                    | "alert_on_cleanup_failure"
            ) =>
        {
            &["true", "false"]
        }
        _ => &["0", "1", "2", "100", "300", "3600"],
    };
    prop_oneof![
        5 => proptest::sample::select(valid).prop_map(String::from),
        2 => proptest::sample::select(EDGES).prop_map(String::from),
        1 => value(),
    ]
    .boxed()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

/// A few of `names` (up to three: so that some elements read as valid) set to random
/// values, as XML attributes.
fn attrs(names: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::subsequence(names, 0..=3.min(names.len()))
        .prop_flat_map(|chosen| {
            let vals: Vec<_> = chosen.iter().map(|n| value_for(n)).collect();
            (Just(chosen), vals)
        })
        .prop_map(|(chosen, vals)| {
            chosen
                .iter()
                .zip(vals)
                .map(|(n, v)| format!(r#" {n}="{}""#, xml_escape(&v)))
                .collect()
        })
}

/// One VM's metadata element: every element with random attributes, `depends_on`
/// naming the fleet's VMs (itself too), a VM that does not exist, or anything.
fn meta_xml() -> impl Strategy<Value = String> {
    let dep = prop_oneof![
        3 => (0usize..4).prop_map(|i| format!("vm-{i}")),
        1 => Just("ghost".to_string()),
        1 => "[!-~]{1,8}",
    ];
    (
        attrs(PERSISTENCE),
        attrs(POLICY),
        proptest::option::weighted(0.7, attrs(AUTOSTART)),
        proptest::collection::vec(dep, 0..3),
        proptest::option::of(value_for("restart_count")),
    )
        .prop_map(|(p, pol, auto, deps, restarts)| {
            let mut x = format!(
                r#"<vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:1"><vmlife:persistence{p}/><vmlife:policy{pol}/>"#
            );
            if let Some(a) = auto {
                x.push_str(&format!("<vmlife:autostart{a}>"));
                for d in deps {
                    x.push_str(&format!(
                        "<vmlife:depends_on>{}</vmlife:depends_on>",
                        xml_escape(&d)
                    ));
                }
                x.push_str("</vmlife:autostart>");
            }
            if let Some(r) = restarts {
                x.push_str(&format!(
                    r#"<vmlife:state restart_count="{}"/>"#,
                    xml_escape(&r)
                ));
            }
            x.push_str("</vmlife:lifecycle>");
            x
        })
}

/// Every config key as `section.key`.
fn config_keys() -> Vec<(&'static str, &'static str)> {
    CONFIG_KEYS
        .iter()
        .flat_map(|(section, keys)| keys.iter().map(move |k| (*section, *k)))
        .collect()
}

/// A config file: up to three keys set to random values (as a TOML number or boolean
/// when it reads as one, else as a string).
fn config_toml() -> impl Strategy<Value = String> {
    proptest::sample::subsequence(config_keys(), 0..=3)
        .prop_flat_map(|chosen| {
            let vals: Vec<_> = chosen.iter().map(|(_, k)| value_for(k)).collect();
            (Just(chosen), vals)
        })
        .prop_map(|(chosen, vals)| {
            let mut sections: std::collections::BTreeMap<&str, String> = Default::default();
            for ((section, k), v) in chosen.iter().zip(vals) {
                let toml_value = match v.as_str() {
                    "true" | "false" => v.clone(),
                    _ if v.parse::<f64>().is_ok_and(f64::is_finite)
                        && !v.contains(['i', 'n', 'N']) =>
                    {
                        v.clone()
                    }
                    _ => toml::Value::String(v.clone()).to_string(),
                };
                sections
                    .entry(section)
                    .or_default()
                    .push_str(&format!("{k} = {toml_value}\n"));
            }
            sections
                .iter()
                .map(|(section, body)| format!("[{section}]\n{body}"))
                .collect()
        })
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn view_of(i: usize, xml: &str, active: bool, at: DateTime<Utc>) -> Vm {
    let name = format!("vm-{i}");
    let uuid = format!("00000000-0000-4000-8000-{i:012}");
    let meta = vmlife::metadata::parse(xml);
    let state = if active {
        VmState::Running
    } else {
        VmState::Stopped
    };
    let mut snapshot = VmStateSnapshot::empty(&name, at, state);
    snapshot.restart_count = meta.as_ref().map_or(0, |m| m.state.restart_count);
    Vm {
        uuid: uuid.clone().into(),
        host: 0,
        key: uuid.into(),
        state: Some(if active {
            RunState::Running
        } else {
            RunState::Shutoff
        }),
        reason: StateReason::default(),
        persistent: true,
        libvirt_autostart: false,
        snapshot,
        meta,
        first_seen_unix: at.timestamp() - 600,
        details: None,
        pending: false,
        freshness: Default::default(),
    }
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_value_panics_from_parse_to_screen(
        metas in proptest::collection::vec((meta_xml(), any::<bool>()), 1..5),
        toml in config_toml(),
        later in 0i64..400_000_000,
        outcomes in proptest::collection::vec(0u8..4, 16),
    ) {
        run_case(&metas, &toml, later, &outcomes)?;
    }

    /// Only an autostart record, every attribute at an edge: the ordered start with
    /// absurd delays, timeouts and retries.
    #[test]
    fn edge_autostart_records_do_not_panic(
        records in proptest::collection::vec(
            (proptest::collection::vec(proptest::sample::select(EDGES), AUTOSTART.len()), any::<bool>()),
            1..4,
        ),
        outcomes in proptest::collection::vec(0u8..4, 16),
    ) {
        let metas: Vec<(String, bool)> = records
            .into_iter()
            .map(|(vals, active)| {
                let a: String = AUTOSTART
                    .iter()
                    .zip(vals)
                    .filter(|(n, _)| !matches!(**n, "enabled" | "wait_for_ssh" | "on_start_failure"))
                    .map(|(n, v)| format!(r#" {n}="{v}""#))
                    .collect();
                (
                    format!(r#"<vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:1"><vmlife:autostart{a}/></vmlife:lifecycle>"#),
                    active,
                )
            })
            .collect();
        run_case(&metas, "", 0, &outcomes)?;
    }
}

/// One case through every stage; `Err` is a failed property.
fn run_case(
    metas: &[(String, bool)],
    toml: &str,
    later: i64,
    outcomes: &[u8],
) -> Result<(), TestCaseError> {
    {
        let at = now() + Duration::seconds(later);
        // Parse: a rejected config is an error naming the key, and the defaults apply.
        let config = match Config::parse(toml) {
            Ok(c) => c,
            Err(e) => {
                prop_assert!(!e.is_empty() && !e.contains('\n'), "{e:?}");
                Config::default()
            }
        };
        let views: Vec<Vm> = metas
            .iter()
            .enumerate()
            .map(|(i, (xml, active))| view_of(i, xml, *active, at))
            .collect();

        // Plan: the cleanup round the engine would run.
        let dir = tempfile::tempdir().unwrap();
        let core = EngineCore::for_planning(
            EngineStore::new(dir.path()),
            EngineSettings::from_config(&config),
            "test:///default",
        )
        .unwrap();
        let plan = core.plan(&views, &RoundRequest::default(), core.clock(at));

        // The ordered start, driven to its end with made-up outcomes.
        let facts: Vec<_> = views.iter().map(Vm::facts).collect();
        let order = autostart::plan(autostart::select(&facts, None).candidates);
        let _ = order.describe();
        let mut seq = Sequence::new(order, config.autostart.sequence(), at);
        let mut t = at;
        let mut k = 0usize;
        for _ in 0..200 {
            for a in seq.advance(t) {
                k += 1;
                let o = outcomes[k % outcomes.len()];
                match a {
                    SeqAction::Start { step, .. } => {
                        let ev = match o {
                            0 => SeqEvent::StartFailed("no".into()),
                            1 => SeqEvent::AlreadyRunning,
                            _ => SeqEvent::Started,
                        };
                        seq.on_event(step, ev, t);
                    }
                    SeqAction::Probe { step } => {
                        let ev = if o == 0 {
                            SeqEvent::SshUp {
                                target: "127.0.0.1:22".into(),
                            }
                        } else {
                            SeqEvent::SshNotYet {
                                target: None,
                                why: "refused".into(),
                            }
                        };
                        seq.on_event(step, ev, t);
                    }
                }
            }
            if seq.is_done() {
                break;
            }
            t = seq.next_wakeup().unwrap_or(t + Duration::seconds(1)).max(t);
        }
        let progress = seq.progress(t);

        // View: the dashboard with every pane, each VM's detail.
        let keymap = Keymap::build(&config.keys, false).unwrap();
        let mut s = State::new("test:///default", keymap, at);
        s.extend_step_hours = config.dashboard.extend_step_hours;
        update(
            &mut s,
            Msg::Snapshot {
                host: 0,
                rtt_ms: None,
                vms: views.clone(),
                at,
            },
        );
        let policy = &config.cleanup;
        update(
            &mut s,
            Msg::Cleanup(CleanupView {
                lines: plan.lines,
                held: plan.held,
                window: format!(
                    "{}–{}",
                    policy.cleanup_window_start, policy.cleanup_window_end
                ),
                window_only: policy.cleanup_in_window_only,
                window_opens_in_minutes: plan.window_opens_in_minutes,
                dry_run: plan.dry_run,
                next_round_at: core.next_round_at(),
                round_runs_at: core.next_round_at(),
                window_start: policy.cleanup_window_start.to_string(),
                alerts: Vec::new(),
                pressure_badge: Some("MEMORY PRESSURE (available 1.0 % < 5 %)".into()),
                pressure: views
                    .iter()
                    .take(1)
                    .map(|v| (v.uuid.clone(), "paused: disk full (vda)".to_string()))
                    .collect(),
            }),
        );
        update(&mut s, Msg::Progress(progress));
        update(&mut s, Msg::Tick(t));
        let mut term = Terminal::new(TestBackend::new(100, 30)).unwrap();
        update(&mut s, Msg::Resize(100, 30));
        for _ in 0..views.len() {
            term.draw(|f| vmlife::tui::view::view(&s, f)).unwrap();
            update(&mut s, key(KeyCode::Tab));
            term.draw(|f| vmlife::tui::view::view(&s, f)).unwrap();
            update(&mut s, key(KeyCode::Tab));
            update(&mut s, key(KeyCode::Char('t')));
            term.draw(|f| vmlife::tui::view::view(&s, f)).unwrap();
            update(&mut s, key(KeyCode::Esc));
            update(&mut s, key(KeyCode::Char('j')));
        }
    }
    Ok(())
}
