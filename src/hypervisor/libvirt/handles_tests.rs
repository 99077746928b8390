use crate::hypervisor::libvirt::{is_in_process_uri, LibvirtHypervisor};
use crate::hypervisor::{HvErrorKind, Hypervisor};

/// The one domain of `test:///default`.
const TEST_UUID: &str = "6695eb01-f6a4-8304-79aa-97f2502e193f";

fn kept(hv: &LibvirtHypervisor) -> usize {
    hv.lock_handles().len()
}

#[test]
fn in_process_uris_are_the_test_drivers_own() {
    assert!(is_in_process_uri("test:///default"));
    assert!(is_in_process_uri("test:///tmp/node.xml"));
    assert!(!is_in_process_uri("test://host/default"));
    assert!(!is_in_process_uri("test+unix:///default"));
    assert!(!is_in_process_uri("qemu:///system"));
    assert!(!is_in_process_uri("qemu+ssh://host/system"));
}

#[test]
fn a_handle_serves_every_call_until_the_next_poll() {
    let hv = LibvirtHypervisor::open("test:///default", false).expect("open test:///default");
    let d = hv.details(TEST_UUID).expect("details");
    assert_eq!(kept(&hv), 1);
    hv.addresses(TEST_UUID).expect("addresses");
    hv.memory_hard_limit(TEST_UUID).expect("memory parameters");
    assert_eq!(kept(&hv), 1, "one handle for every call on the domain");
    assert_eq!(hv.details(TEST_UUID).expect("details again"), d);

    hv.poll(crate::hypervisor::StatsGroups::ALL).expect("poll");
    assert_eq!(kept(&hv), 0, "a poll forgets the handles");
}

#[test]
fn a_kept_handle_of_a_domain_gone_fails_as_no_domain() {
    let hv = LibvirtHypervisor::open("test:///default", false).expect("open test:///default");
    hv.details(TEST_UUID).expect("details");
    // Gone behind the adapter's back (another client).
    let conn = hv.connection();
    let dom = conn
        .lookup_domain_by_uuid_string(TEST_UUID)
        .expect("lookup");
    dom.destroy().expect("destroy");
    dom.undefine().expect("undefine");
    let err = hv.details(TEST_UUID).expect_err("gone");
    assert_eq!(err.kind, HvErrorKind::NoDomain, "{}", err.message);
    assert!(err.message.starts_with("details "), "{}", err.message);

    hv.poll(crate::hypervisor::StatsGroups::ALL).expect("poll");
    let err = hv.details(TEST_UUID).expect_err("still gone");
    assert_eq!(err.kind, HvErrorKind::NoDomain, "{}", err.message);
}
