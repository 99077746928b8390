use super::*;
use crate::hypervisor::fake::{running, FakeHypervisor};

#[test]
fn ports_are_added_only_when_missing() {
    assert_eq!(with_port("10.0.0.5", 22), "10.0.0.5:22");
    assert_eq!(with_port("10.0.0.5:2222", 22), "10.0.0.5:2222");
    assert_eq!(with_port("fd00::5", 22), "[fd00::5]:22");
    assert_eq!(with_port("[fd00::5]:2222", 22), "[fd00::5]:2222");
    assert_eq!(with_port("db.lan", 2200), "db.lan:2200");
    assert_eq!(with_port("db.lan:23", 2200), "db.lan:23");
}

#[test]
fn address_choice_prefers_usable_ipv4() {
    let a = |v: &[&str]| pick_address(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(
        a(&["fe80::1", "fd00::5", "127.0.0.1", "169.254.0.3", "10.0.0.5"]),
        Some("10.0.0.5".parse().unwrap())
    );
    assert_eq!(a(&["fe80::1", "fd00::5"]), Some("fd00::5".parse().unwrap()));
    assert_eq!(a(&["::1", "garbage"]), None);
}

#[test]
fn probes_a_listener_on_loopback_through_the_override() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hv = Arc::new(FakeHypervisor::new());
    let mut vm = running("u-1", "db-1");
    // Never probed: the override wins over the reported address.
    vm.addresses = vec!["192.168.122.10".into()];
    hv.put(vm);
    let mut config = HostAutostartConfig::default();
    config
        .ssh_address_override
        .insert("db-1".into(), format!("127.0.0.1:{port}"));
    let probe = TcpProbe::new(hv.clone(), &config);
    assert_eq!(
        probe.probe("u-1", "db-1"),
        ProbeResult::Up {
            target: format!("127.0.0.1:{port}")
        }
    );
    drop(listener);
    let ProbeResult::NotYet { target, why } = probe.probe("u-1", "db-1") else {
        panic!("a closed port answered");
    };
    assert_eq!(target, Some(format!("127.0.0.1:{port}")));
    assert!(why.contains("refused"), "{why}");
    // Without an override and without addresses: no address yet (nothing probed).
    hv.put(running("u-2", "app-1"));
    assert_eq!(
        probe.probe("u-2", "app-1"),
        ProbeResult::NotYet {
            target: None,
            why: "no address yet".into()
        }
    );
}
