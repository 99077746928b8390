//! Tables for every error kind and message, defaults, namespaces, the writer's exact
//! output, and a property test that every model value survives `to_xml` then `parse`.

use super::*;
use crate::model::ranges as R;
use crate::model::{
    HostRebootAction, HostShutdownAction, PersistenceMode, PressureAction, RestartPolicy,
    StartFailureAction,
};
use proptest::prelude::*;

/// `inner` inside a root element with the usual prefix.
fn wrap(inner: &str) -> String {
    format!(r#"<vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:1">{inner}</vmlife:lifecycle>"#)
}

fn parse_ok(xml: &str) -> LifecycleMeta {
    match parse(xml) {
        Ok(m) => m,
        Err(e) => panic!("{xml}: {e}"),
    }
}

fn parse_err(xml: &str) -> MetaError {
    match parse(xml) {
        Ok(m) => panic!("{xml}: parsed as {m:?}"),
        Err(e) => e,
    }
}

#[test]
fn vm_without_element_is_permanent_with_defaults() {
    let d = LifecycleMeta::default();
    assert_eq!(d.persistence.mode, PersistenceMode::Permanent);
    assert_eq!(d.autostart, None);
    assert!(d.policy.is_empty());
    assert_eq!(d.state.restart_count, 0);
    assert_eq!(parse_or_default(None), Ok(d.clone()));
    for xml in [
        "",
        "  \n\t",
        &wrap(""),
        r#"<vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:1"/>"#,
    ] {
        assert_eq!(parse_ok(xml), d, "{xml:?}");
    }
}

#[test]
fn missing_attributes_take_contract_defaults() {
    let m = parse_ok(&wrap(
        r#"<vmlife:persistence mode="temporary"/><vmlife:policy/><vmlife:autostart/><vmlife:state/>"#,
    ));
    let persistence = VmPersistence {
        mode: PersistenceMode::Temporary,
        ..Default::default()
    };
    assert_eq!(m.persistence, persistence);
    assert_eq!(m.persistence.ttl_hours, 24.0);
    assert!(m.policy.is_empty());
    assert_eq!(m.autostart, Some(VmAutoStartConfig::default()));
    assert_eq!(m.state, VmCounters::default());
}

#[test]
fn reads_every_attribute() {
    let xml = r#"<?xml version="1.0"?>
<vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:1">
  <!-- edited by hand -->
  <vmlife:persistence mode="temporary" auto_start="true" restart_policy="on_failure"
      max_retries="7" ttl_hours="0.5" auto_cleanup="false" force_cleanup="true"
      cleanup_grace_period="120" created_at_unix="5" scheduled_cleanup="1700000000"
      last_state_change="0"/>
  <vmlife:policy on_host_reboot="keep_stopped" on_host_shutdown="save_state"
      on_memory_pressure="suspend" on_disk_full="kill" enforce_memory_limit="false"
      enforce_cpu_limit="true" enforce_disk_limit="true"/>
  <vmlife:autostart enabled="false" start_order="-10" start_delay_seconds="30"
      wait_for_ssh="false" ssh_timeout_seconds="60" on_start_failure="ignore"
      max_start_retries="1">
    <vmlife:depends_on>db-1</vmlife:depends_on>
    <vmlife:depends_on>
        cache &amp; queue
    </vmlife:depends_on>
    <vmlife:depends_on><![CDATA[a<b]]></vmlife:depends_on>
  </vmlife:autostart>
  <vmlife:state restart_count="2"/>
</vmlife:lifecycle>"#;
    let expected = LifecycleMeta {
        persistence: VmPersistence {
            mode: PersistenceMode::Temporary,
            auto_start: true,
            restart_policy: RestartPolicy::OnFailure,
            max_retries: 7,
            ttl_hours: 0.5,
            auto_cleanup: false,
            force_cleanup: true,
            cleanup_grace_period: 120,
            created_at_unix: Some(5),
            scheduled_cleanup: Some(1_700_000_000),
            last_state_change: Some(0),
        },
        policy: VmLifecyclePolicyOverride {
            on_host_reboot: Some(HostRebootAction::KeepStopped),
            on_host_shutdown: Some(HostShutdownAction::SaveState),
            on_memory_pressure: Some(PressureAction::Suspend),
            on_disk_full: Some(PressureAction::Kill),
            enforce_memory_limit: Some(false),
            enforce_cpu_limit: Some(true),
            enforce_disk_limit: Some(true),
        },
        autostart: Some(VmAutoStartConfig {
            vm_name: String::new(),
            enabled: false,
            start_order: -10,
            start_delay_seconds: 30,
            wait_for_ssh: false,
            ssh_timeout_seconds: 60,
            on_start_failure: StartFailureAction::Ignore,
            max_start_retries: 1,
            depends_on: vec!["db-1".into(), "cache & queue".into(), "a<b".into()],
        }),
        state: VmCounters { restart_count: 2 },
    };
    assert_eq!(parse_ok(xml), expected);
}

#[test]
fn matches_namespace_not_prefix() {
    let expected = LifecycleMeta {
        persistence: VmPersistence {
            mode: PersistenceMode::Temporary,
            ..Default::default()
        },
        state: VmCounters { restart_count: 3 },
        ..Default::default()
    };
    for xml in [
        r#"<x:lifecycle xmlns:x="urn:vmlife:lifecycle:1"><x:persistence mode="temporary"/><x:state restart_count="3"/></x:lifecycle>"#,
        r#"<lifecycle xmlns="urn:vmlife:lifecycle:1"><persistence mode="temporary"/><state restart_count="3"/></lifecycle>"#,
        r#"<a:lifecycle xmlns:a="urn:vmlife:lifecycle:1" xmlns:b="urn:vmlife:lifecycle:1"><b:persistence mode="temporary"/><a:state restart_count="3"/></a:lifecycle>"#,
    ] {
        assert_eq!(parse_ok(xml), expected, "{xml}");
    }
}

#[test]
fn accepted_values() {
    /// An attribute of `persistence` and a check of what it reads as.
    type Case = (&'static str, fn(&LifecycleMeta) -> bool);
    let cases: &[Case] = &[
        (r#"ttl_hours="8760""#, |m| m.persistence.ttl_hours == 8760.0),
        (r#"ttl_hours="0.001""#, |m| m.persistence.ttl_hours == 0.001),
        (r#"ttl_hours="1e2""#, |m| m.persistence.ttl_hours == 100.0),
        (r#"ttl_hours=".25""#, |m| m.persistence.ttl_hours == 0.25),
        (r#"max_retries="1000""#, |m| {
            m.persistence.max_retries == 1000
        }),
        (r#"max_retries="007""#, |m| m.persistence.max_retries == 7),
        (r#"max_retries="-0""#, |m| m.persistence.max_retries == 0),
        (r#"cleanup_grace_period="300""#, |m| {
            m.persistence.cleanup_grace_period == 300
        }),
        (r#"created_at_unix="253402300799""#, |m| {
            m.persistence.created_at_unix == Some(253_402_300_799)
        }),
    ];
    for (attr, check) in cases {
        let m = parse_ok(&wrap(&format!("<vmlife:persistence {attr}/>")));
        assert!(check(&m), "{attr}: {m:?}");
    }
}

#[test]
fn error_messages() {
    let p = |attrs: &str| wrap(&format!("<vmlife:persistence {attrs}/>"));
    let cases: Vec<(String, &str)> = vec![
        // Values.
        (p(r#"ttl_hours="abc""#), r#"persistence/@ttl_hours: "abc" is not a number"#),
        (p(r#"ttl_hours="NaN""#), r#"persistence/@ttl_hours: "NaN" is not a number"#),
        (p(r#"ttl_hours="inf""#), r#"persistence/@ttl_hours: "inf" is not a finite number"#),
        (p(r#"ttl_hours="1e999""#), r#"persistence/@ttl_hours: "1e999" is not a finite number"#),
        (p(r#"ttl_hours="-1""#), r#"persistence/@ttl_hours: "-1" is negative"#),
        (p(r#"ttl_hours="""#), r#"persistence/@ttl_hours: "" is not a number"#),
        (p(r#"ttl_hours="0""#), r#"persistence/@ttl_hours: "0" is out of range more than 0 to 8760"#),
        (p(r#"ttl_hours="-0""#), r#"persistence/@ttl_hours: "-0" is out of range more than 0 to 8760"#),
        (p(r#"ttl_hours="8760.5""#), r#"persistence/@ttl_hours: "8760.5" is out of range more than 0 to 8760"#),
        (p(r#"max_retries="-1""#), r#"persistence/@max_retries: "-1" is out of range 0 to 1000"#),
        (p(r#"max_retries="4294967296""#), r#"persistence/@max_retries: "4294967296" is out of range 0 to 1000"#),
        (p(r#"max_retries="1.5""#), r#"persistence/@max_retries: "1.5" is not an integer"#),
        (p(r#"max_retries="abc""#), r#"persistence/@max_retries: "abc" is not an integer"#),
        (p(r#"max_retries="+5""#), r#"persistence/@max_retries: "+5" is not an integer"#),
        (p(r#"max_retries=" 5""#), r#"persistence/@max_retries: " 5" is not an integer"#),
        (p(r#"max_retries="""#), r#"persistence/@max_retries: "" is not an integer"#),
        (p(r#"max_retries="-""#), r#"persistence/@max_retries: "-" is not an integer"#),
        (p(r#"cleanup_grace_period="-60""#), r#"persistence/@cleanup_grace_period: "-60" is out of range 0 to 300"#),
        (p(r#"cleanup_grace_period="301""#), r#"persistence/@cleanup_grace_period: "301" is out of range 0 to 300"#),
        (p(r#"created_at_unix="99999999999999999999999999999999999999999999""#), r#"persistence/@created_at_unix: "99999999999999999999999999999999999999999999" is out of range 0 to 253402300799"#),
        (p(r#"scheduled_cleanup="9223372036854775808""#), r#"persistence/@scheduled_cleanup: "9223372036854775808" is out of range 0 to 253402300799"#),
        (p(r#"last_state_change="-1""#), r#"persistence/@last_state_change: "-1" is out of range 0 to 253402300799"#),
        (wrap(r#"<vmlife:autostart start_delay_seconds="10000000000000"/>"#), r#"autostart/@start_delay_seconds: "10000000000000" is out of range 0 to 3600"#),
        (wrap(r#"<vmlife:autostart ssh_timeout_seconds="0"/>"#), r#"autostart/@ssh_timeout_seconds: "0" is out of range 1 to 86400"#),
        (wrap(r#"<vmlife:autostart ssh_timeout_seconds="10000000000000"/>"#), r#"autostart/@ssh_timeout_seconds: "10000000000000" is out of range 1 to 86400"#),
        (wrap(r#"<vmlife:autostart max_start_retries="101"/>"#), r#"autostart/@max_start_retries: "101" is out of range 0 to 100"#),
        (wrap(r#"<vmlife:autostart start_order="1000001"/>"#), r#"autostart/@start_order: "1000001" is out of range -1000000 to 1000000"#),
        (p(r#"auto_cleanup="yes""#), r#"persistence/@auto_cleanup: "yes" is not true or false"#),
        (p(r#"auto_cleanup="1""#), r#"persistence/@auto_cleanup: "1" is not true or false"#),
        (p(r#"auto_cleanup="True""#), r#"persistence/@auto_cleanup: "True" is not true or false"#),
        (p(r#"restart_policy="sometimes""#), r#"persistence/@restart_policy: "sometimes" is not one of no, always, on_failure"#),
        (p(r#"mode="Temporary""#), r#"persistence/@mode: "Temporary" is not one of permanent, temporary"#),
        (wrap(r#"<vmlife:policy on_host_shutdown="hibernate"/>"#), r#"policy/@on_host_shutdown: "hibernate" is not one of shutdown, save_state, destroy"#),
        (wrap(r#"<vmlife:policy enforce_cpu_limit="no"/>"#), r#"policy/@enforce_cpu_limit: "no" is not true or false"#),
        (wrap(r#"<vmlife:autostart start_order="first"/>"#), r#"autostart/@start_order: "first" is not an integer"#),
        (wrap(r#"<vmlife:autostart on_start_failure="panic"/>"#), r#"autostart/@on_start_failure: "panic" is not one of stop, retry, ignore"#),
        (wrap(r#"<vmlife:state restart_count="-2"/>"#), r#"state/@restart_count: "-2" is out of range 0 to 4294967295"#),
        (p("mode=\"a\nb\""), r#"persistence/@mode: "a b" is not one of permanent, temporary"#),
        (p("mode=\"a&#10;b\""), r#"persistence/@mode: "a\nb" is not one of permanent, temporary"#),
        // Unknown and misplaced things.
        (p(r#"ttl_hour="5""#), "unknown attribute persistence/@ttl_hour"),
        (p(r#"mode="temporary" vmlife:ttl_hours="5""#), "unknown attribute persistence/@{urn:vmlife:lifecycle:1}ttl_hours"),
        (wrap(r#"<vmlife:policy on_host_reboot="start" restart_policy="no"/>"#), "unknown attribute policy/@restart_policy"),
        (wrap(r#"<vmlife:autostart vm_name="web-1"/>"#), "unknown attribute autostart/@vm_name"),
        (wrap(r#"<vmlife:state restarts="1"/>"#), "unknown attribute state/@restarts"),
        (wrap(r#"<vmlife:autostart><vmlife:depends_on name="x">db</vmlife:depends_on></vmlife:autostart>"#), "unknown attribute autostart/depends_on/@name"),
        (r#"<vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:1" version="2"/>"#.into(), "unknown attribute lifecycle/@version"),
        (wrap("<vmlife:persistance/>"), "unknown element persistance"),
        (wrap("<vmlife:persistence><vmlife:mode/></vmlife:persistence>"), "unknown element persistence/mode"),
        (wrap("<vmlife:autostart><vmlife:depends/></vmlife:autostart>"), "unknown element autostart/depends"),
        (wrap("<vmlife:autostart><vmlife:depends_on>a<vmlife:b/></vmlife:depends_on></vmlife:autostart>"), "unknown element autostart/depends_on/b"),
        (wrap("<persistence/>"), "persistence: not in namespace urn:vmlife:lifecycle:1"),
        (wrap(r#"<o:persistence xmlns:o="urn:other"/>"#), "persistence: not in namespace urn:vmlife:lifecycle:1"),
        (wrap(r#"<vmlife:autostart><depends_on>db</depends_on></vmlife:autostart>"#), "autostart/depends_on: not in namespace urn:vmlife:lifecycle:1"),
        (r#"<lifecycle mode="temporary"/>"#.into(), "unknown attribute lifecycle/@mode"),
        (r#"<lifecycle><vmlife:state xmlns:vmlife="urn:vmlife:lifecycle:1"/></lifecycle>"#.into(), "state: not in namespace urn:vmlife:lifecycle:1"),
        (r#"<vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:2"/>"#.into(), "lifecycle: not in namespace urn:vmlife:lifecycle:1"),
        (r#"<vmlife:persistence xmlns:vmlife="urn:vmlife:lifecycle:1"/>"#.into(), "root element is persistence, expected lifecycle in namespace urn:vmlife:lifecycle:1"),
        (wrap("<vmlife:state/><vmlife:state/>"), "duplicate element state"),
        (wrap("<vmlife:autostart/><vmlife:autostart/>"), "duplicate element autostart"),
        (wrap("hello"), r#"lifecycle: unexpected text "hello""#),
        (wrap("<vmlife:persistence> temporary </vmlife:persistence>"), r#"persistence: unexpected text "temporary""#),
        (wrap("<vmlife:autostart>db-1</vmlife:autostart>"), r#"autostart: unexpected text "db-1""#),
        (wrap("<vmlife:autostart><vmlife:depends_on> \n </vmlife:depends_on></vmlife:autostart>"), "autostart/depends_on: empty VM name"),
        (wrap("<vmlife:autostart><vmlife:depends_on/></vmlife:autostart>"), "autostart/depends_on: empty VM name"),
        // Not XML.
        ("<vmlife:lifecycle".into(), "malformed XML: the document does not have a root node"),
        (r#"<vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:1">"#.into(), "malformed XML: the root node was opened but never closed"),
        ("<x:lifecycle/>".into(), "malformed XML: an unknown namespace prefix 'x' at 1:2"),
        (p(r#"mode="a" mode="b""#), "malformed XML: attribute 'mode' at 1:86 is already defined"),
        (wrap("&bogus;"), "malformed XML: unknown entity reference 'bogus' at 1:57"),
        ("not xml".into(), "malformed XML: unknown token at 1:1"),
        (r#"<!DOCTYPE x [<!ENTITY a "b">]><x/>"#.into(), "malformed XML: XML with DTD detected"),
    ];
    let mut failures = Vec::new();
    for (xml, message) in &cases {
        match parse(xml) {
            Ok(m) => failures.push(format!("{xml}\n  parsed as {m:?}")),
            Err(e) if e.to_string() != *message => {
                failures.push(format!("{xml}\n  got:  {e}\n  want: {message}"))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn error_fields_name_element_attribute_value() {
    let e = parse_err(&wrap(r#"<vmlife:persistence ttl_hours="abc"/>"#));
    assert_eq!(e.element.as_deref(), Some("persistence"));
    assert_eq!(e.attribute.as_deref(), Some("ttl_hours"));
    assert_eq!(e.value.as_deref(), Some("abc"));
    assert_eq!(e.kind, MetaErrorKind::NotANumber);

    let e = parse_err(&wrap(r#"<vmlife:persistence restart_policy="x"/>"#));
    assert_eq!(e.kind, MetaErrorKind::NotOneOf(RestartPolicy::NAMES));

    let e = parse_err(&wrap(r#"<vmlife:persistence max_retries="-1"/>"#));
    assert_eq!(e.kind, MetaErrorKind::OutOfRange { min: 0, max: 1000 });

    let e = parse_err(&wrap("<vmlife:bogus/>"));
    assert_eq!(
        (e.element.as_deref(), e.attribute, e.value),
        (Some("bogus"), None, None)
    );

    let e = parse_err("<a");
    assert_eq!(e.element, None);
    assert!(matches!(e.kind, MetaErrorKind::MalformedXml(_)));
}

#[test]
fn long_values_are_cut_in_messages_but_kept_in_the_error() {
    let long = "x".repeat(100);
    let e = parse_err(&wrap(&format!(r#"<vmlife:persistence mode="{long}"/>"#)));
    assert_eq!(e.value.as_deref(), Some(long.as_str()));
    let shown = format!("\"{}…\"", "x".repeat(60));
    assert_eq!(
        e.to_string(),
        format!("persistence/@mode: {shown} is not one of permanent, temporary")
    );
}

#[test]
fn writes_the_default_exactly() {
    assert_eq!(
        to_xml(&LifecycleMeta::default()),
        r#"<vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:1">
  <vmlife:persistence mode="permanent" auto_start="false" restart_policy="always" max_retries="5" ttl_hours="24" auto_cleanup="true" force_cleanup="false" cleanup_grace_period="60"/>
  <vmlife:state restart_count="0"/>
</vmlife:lifecycle>"#
    );
}

#[test]
fn writes_everything_in_contract_order() {
    let meta = LifecycleMeta {
        persistence: VmPersistence {
            mode: PersistenceMode::Temporary,
            ttl_hours: 1.5,
            created_at_unix: Some(1_700_000_000),
            last_state_change: Some(1),
            ..Default::default()
        },
        policy: VmLifecyclePolicyOverride {
            on_host_shutdown: Some(HostShutdownAction::SaveState),
            enforce_disk_limit: Some(true),
            ..Default::default()
        },
        autostart: Some(VmAutoStartConfig {
            vm_name: "ignored".into(),
            start_order: 10,
            depends_on: vec!["db-1".into(), "a&<>\"'b".into(), "x\ty\r\nz".into()],
            ..Default::default()
        }),
        state: VmCounters { restart_count: 2 },
    };
    assert_eq!(
        to_xml(&meta),
        r#"<vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:1">
  <vmlife:persistence mode="temporary" auto_start="false" restart_policy="always" max_retries="5" ttl_hours="1.5" auto_cleanup="true" force_cleanup="false" cleanup_grace_period="60" created_at_unix="1700000000" last_state_change="1"/>
  <vmlife:policy on_host_shutdown="save_state" enforce_disk_limit="true"/>
  <vmlife:autostart enabled="true" start_order="10" start_delay_seconds="0" wait_for_ssh="true" ssh_timeout_seconds="300" on_start_failure="retry" max_start_retries="3">
    <vmlife:depends_on>db-1</vmlife:depends_on>
    <vmlife:depends_on>a&amp;&lt;&gt;&quot;&apos;b</vmlife:depends_on>
    <vmlife:depends_on>x&#9;y&#13;&#10;z</vmlife:depends_on>
  </vmlife:autostart>
  <vmlife:state restart_count="2"/>
</vmlife:lifecycle>"#
    );
    let back = parse_ok(&to_xml(&meta));
    let mut expected = meta;
    if let Some(a) = expected.autostart.as_mut() {
        // vm_name is the domain's name, never stored.
        a.vm_name.clear();
    }
    assert_eq!(back, expected);
}

#[test]
fn writer_never_emits_characters_xml_cannot_carry() {
    let meta = LifecycleMeta {
        autostart: Some(VmAutoStartConfig {
            depends_on: vec!["a\u{0}b\u{1b}c\u{FFFF}".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    let back = parse_ok(&to_xml(&meta));
    let names = back.autostart.map(|a| a.depends_on);
    assert_eq!(names, Some(vec!["a\u{FFFD}b\u{FFFD}c\u{FFFD}".to_string()]));
}

#[test]
fn serializes_to_json_with_contract_names() {
    let json = serde_json::to_value(LifecycleMeta::default()).expect("serializes");
    assert_eq!(json["persistence"]["mode"], "permanent");
    assert_eq!(json["state"]["restart_count"], 0);
    assert!(json["autostart"].is_null());
}

// ---- property test: every model value round-trips ----

fn enum_of<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

/// Finite, non-negative hours: small fractions, whole numbers, and the full range of
/// positive doubles (subnormals and huge values included).
fn ttl_hours() -> impl Strategy<Value = f64> {
    use proptest::num::f64 as f;
    prop_oneof![
        (1u32..10_000, 1u32..1_000).prop_map(|(a, b)| f64::from(a) / f64::from(b)),
        (1u32..=8760).prop_map(f64::from),
        (f::POSITIVE | f::NORMAL | f::SUBNORMAL),
    ]
    .prop_filter("in range", |h| crate::model::ranges::ttl_hours_ok(*h))
}

/// VM names as `parse` returns them: non-empty, no leading or trailing XML whitespace,
/// any character XML can carry (markup characters, tab/CR/LF inside, all of Unicode).
fn vm_name() -> impl Strategy<Value = String> {
    let chars = prop_oneof![
        3 => proptest::sample::select(vec!['&', '<', '>', '"', '\'', ' ', '\t', '\r', '\n', ';', '#']),
        3 => proptest::char::range('!', '~'),
        2 => any::<char>().prop_filter("XML 1.0 Char", |c| {
            matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
        }),
    ];
    proptest::collection::vec(chars, 1..16)
        .prop_map(|cs| {
            let s: String = cs.into_iter().collect();
            s.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
                .to_string()
        })
        .prop_filter("non-empty", |s| !s.is_empty())
}

fn persistence() -> impl Strategy<Value = VmPersistence> {
    (
        (
            enum_of(PersistenceMode::ALL),
            any::<bool>(),
            enum_of(RestartPolicy::ALL),
            0u32..=1000,
        ),
        (ttl_hours(), any::<bool>(), any::<bool>(), 0u64..=300),
        (
            proptest::option::of(R::UNIX_SECONDS),
            proptest::option::of(R::UNIX_SECONDS),
            proptest::option::of(R::UNIX_SECONDS),
        ),
    )
        .prop_map(
            |(
                (mode, auto_start, restart_policy, max_retries),
                (ttl_hours, auto_cleanup, force_cleanup, cleanup_grace_period),
                (created_at_unix, scheduled_cleanup, last_state_change),
            )| {
                VmPersistence {
                    mode,
                    auto_start,
                    restart_policy,
                    max_retries,
                    ttl_hours,
                    auto_cleanup,
                    force_cleanup,
                    cleanup_grace_period,
                    created_at_unix,
                    scheduled_cleanup,
                    last_state_change,
                }
            },
        )
}

fn policy() -> impl Strategy<Value = VmLifecyclePolicyOverride> {
    use proptest::option::of;
    (
        of(enum_of(HostRebootAction::ALL)),
        of(enum_of(HostShutdownAction::ALL)),
        of(enum_of(PressureAction::ALL)),
        of(enum_of(PressureAction::ALL)),
        any::<Option<bool>>(),
        any::<Option<bool>>(),
        any::<Option<bool>>(),
    )
        .prop_map(
            |(reboot, shutdown, memory, disk, mem_limit, cpu_limit, disk_limit)| {
                VmLifecyclePolicyOverride {
                    on_host_reboot: reboot,
                    on_host_shutdown: shutdown,
                    on_memory_pressure: memory,
                    on_disk_full: disk,
                    enforce_memory_limit: mem_limit,
                    enforce_cpu_limit: cpu_limit,
                    enforce_disk_limit: disk_limit,
                }
            },
        )
}

fn autostart() -> impl Strategy<Value = VmAutoStartConfig> {
    (
        (any::<bool>(), R::START_ORDER, 0u64..=3600, any::<bool>()),
        (1u64..=86_400, enum_of(StartFailureAction::ALL), 0u32..=100),
        proptest::collection::vec(vm_name(), 0..4),
    )
        .prop_map(
            |(
                (enabled, start_order, start_delay_seconds, wait_for_ssh),
                (ssh_timeout_seconds, on_start_failure, max_start_retries),
                depends_on,
            )| {
                VmAutoStartConfig {
                    vm_name: String::new(),
                    enabled,
                    start_order,
                    start_delay_seconds,
                    wait_for_ssh,
                    ssh_timeout_seconds,
                    on_start_failure,
                    max_start_retries,
                    depends_on,
                }
            },
        )
}

fn meta() -> impl Strategy<Value = LifecycleMeta> {
    (
        persistence(),
        policy(),
        proptest::option::of(autostart()),
        any::<u32>(),
    )
        .prop_map(
            |(persistence, policy, autostart, restart_count)| LifecycleMeta {
                persistence,
                policy,
                autostart,
                state: VmCounters { restart_count },
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_model_value_round_trips(m in meta()) {
        let xml = to_xml(&m);
        prop_assert_eq!(parse(&xml), Ok(m), "{}", xml);
    }

    #[test]
    fn parse_never_panics(s in ".{0,200}") {
        let _ = parse(&s);
    }

    #[test]
    fn parse_never_panics_on_near_misses(
        name in "[a-z_]{1,20}",
        value in "[-+0-9a-z.eE &;<\"]{0,24}",
    ) {
        let xml = wrap(&format!(r#"<vmlife:persistence {name}="{}"/>"#, value.replace('<', "&lt;").replace('"', "&quot;")));
        if let Err(e) = parse(&xml) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}

/// virDomainGetMetadata returns the element with every namespace stripped.
#[test]
fn reads_the_form_get_metadata_returns() {
    let xml = "<lifecycle>\n  <persistence mode=\"temporary\" ttl_hours=\"2\"/>\n  <autostart start_order=\"3\">\n    <depends_on>db-1</depends_on>\n  </autostart>\n  <state restart_count=\"4\"/>\n</lifecycle>";
    let m = parse(xml).unwrap();
    assert_eq!(m.persistence.mode, crate::model::PersistenceMode::Temporary);
    assert_eq!(m.persistence.ttl_hours, 2.0);
    assert_eq!(m.autostart.unwrap().depends_on, vec!["db-1".to_string()]);
    assert_eq!(m.state.restart_count, 4);
}
