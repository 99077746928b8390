//! Tests of `[[connections]]` and of how a run picks its hosts.

use super::*;

fn config(text: &str) -> Config {
    Config::parse(text).unwrap()
}

const FLEET: &str = r#"
[[connections]]
name = "hv1"
uri = "qemu+ssh://root@hv1/system"

[[connections]]
name = "hv2"
uri = "qemu+tls://hv2.example.org/system"
readonly = true
engine = "dashboard"
"#;

fn names(h: &[HostSpec]) -> Vec<&str> {
    h.iter().map(|h| h.name.as_str()).collect()
}

#[test]
fn entries_parse_with_defaults() {
    let c = config(FLEET);
    assert_eq!(c.connections.len(), 2);
    assert!(!c.connections[0].readonly);
    assert_eq!(c.connections[0].engine, None);
    assert!(c.connections[1].readonly);
    assert_eq!(c.connections[1].engine, Some(EngineHome::Dashboard));
}

#[test]
fn bad_entries_name_the_key() {
    let cases = [
        (
            "[[connections]]\nname = \"\"\nuri = \"test:///default\"\n",
            "connections[1].name must be 1 to 64 characters",
        ),
        (
            "[[connections]]\nname = \"a b\"\nuri = \"test:///default\"\n",
            "connections[1].name \"a b\" has ' '",
        ),
        (
            "[[connections]]\nname = \"a\"\nuri = \" \"\n",
            "connections[1].uri is empty",
        ),
        (
            "[[connections]]\nname = \"a\"\nuri = \"test:///default\"\n[[connections]]\nname = \"a\"\nuri = \"qemu:///system\"\n",
            "connections[2].name \"a\" is also connections[1].name",
        ),
        (
            "[[connections]]\nname = \"a\"\nuri = \"test:///default\"\n[[connections]]\nname = \"b\"\nuri = \"test:///default\"\n",
            "connections[2].uri \"test:///default\" is also connections[1].uri",
        ),
    ];
    for (text, want) in cases {
        let err = Config::parse(text).unwrap_err();
        assert!(err.starts_with(want), "{text:?}: {err}");
    }
    let err = Config::parse("[[connections]]\nname = \"a\"\nuri = \"x\"\nengine = \"both\"\n")
        .unwrap_err();
    assert!(err.contains("engine") || err.contains("both"), "{err}");
    let err = Config::parse("[[connections]]\nname = \"a\"\nuri = \"x\"\nport = 1\n").unwrap_err();
    assert!(err.contains("port"), "{err}");
}

#[test]
fn uri_host_parts() {
    let cases = [
        ("qemu:///system", None),
        ("qemu+ssh://root@hv2/system", Some("hv2")),
        ("qemu+ssh://root@hv2:2222/system?keyfile=/k", Some("hv2")),
        ("qemu+tcp://[fe80::1]:16509/system", Some("fe80::1")),
        ("qemu+unix:///session?socket=/tmp/s", None),
        ("test:///tmp/node.xml", None),
        ("not a uri", None),
    ];
    for (uri, want) in cases {
        assert_eq!(uri_host(uri).as_deref(), want, "{uri}");
    }
    assert!(is_local_uri("qemu:///system"));
    assert!(is_local_uri("qemu+ssh://localhost/system"));
    assert!(!is_local_uri("qemu+ssh://hv2/system"));
}

#[test]
fn one_default_host_as_before() {
    let c = Config::default();
    let h = resolve_hosts(&[], &[], None, &c).unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].name.as_str(), h[0].uri.as_str()),
        ("local", DEFAULT_URI)
    );
    let h = resolve_hosts(&[], &[], Some("test:///default"), &c).unwrap();
    assert_eq!(h[0].uri, "test:///default");
    let mut c = Config::default();
    c.connection.uri = Some("qemu+ssh://h/system".into());
    let h = resolve_hosts(&[], &[], Some(""), &c).unwrap();
    assert_eq!(
        (h[0].name.as_str(), h[0].uri.as_str()),
        ("h", "qemu+ssh://h/system")
    );
}

#[test]
fn the_list_is_every_host_unless_flags_or_env_say() {
    let c = config(FLEET);
    assert_eq!(
        names(&resolve_hosts(&[], &[], None, &c).unwrap()),
        ["hv1", "hv2"]
    );
    // LIBVIRT_DEFAULT_URI keeps its precedence over the config.
    let h = resolve_hosts(&[], &[], Some("test:///default"), &c).unwrap();
    assert_eq!(names(&h), ["local"]);
    // --host picks, in the order given.
    let h = resolve_hosts(&[], &["hv2".into()], None, &c).unwrap();
    assert_eq!(names(&h), ["hv2"]);
    assert!(h[0].readonly);
    assert!(h[0].engine_here(), "engine = dashboard");
    // -c of a listed URI takes the entry's name and settings; others get their host.
    let h = resolve_hosts(
        &[
            "qemu+tls://hv2.example.org/system".into(),
            "qemu+ssh://hv3/system".into(),
        ],
        &["hv1".into()],
        None,
        &c,
    )
    .unwrap();
    assert_eq!(names(&h), ["hv2", "hv3", "hv1"]);
    assert!(h[0].readonly);
    assert!(!h[1].engine_here(), "a remote URI: the host's daemon");
    let err = resolve_hosts(&[], &["hv9".into()], None, &c).unwrap_err();
    assert_eq!(
        err,
        "--host \"hv9\": no such connection in the config (known: hv1, hv2)"
    );
    let err = resolve_hosts(&[], &["hv9".into()], None, &Config::default()).unwrap_err();
    assert!(err.contains("no [[connections]]"), "{err}");
}

#[test]
fn derived_names_never_collide_and_a_uri_counts_once() {
    let c = Config::default();
    let s1 = "qemu+unix:///session?socket=/a/sock".to_string();
    let s2 = "qemu+unix:///session?socket=/b/sock".to_string();
    let h = resolve_hosts(&[s1.clone(), s2, s1], &[], None, &c).unwrap();
    assert_eq!(names(&h), ["local", "local-2"]);
    assert!(h.iter().all(HostSpec::engine_here));
}
