use crate::hypervisor::libvirt::{is_in_process_uri, LibvirtHypervisor};
use crate::hypervisor::{HvErrorKind, Hypervisor};

/// The one domain of `test:///default`.
const TEST_UUID: &str = "6695eb01-f6a4-8304-79aa-97f2502e193f";

fn kept(hv: &LibvirtHypervisor) -> usize {
    hv.lock_handles().len()
}

fn has(hv: &LibvirtHypervisor, uuid: &str) -> bool {
    hv.lock_handles().has(uuid)
}

/// A running domain of its own on `test:///default` (whose state every test of this
/// process shares), to be made to vanish.
fn own_domain(hv: &LibvirtHypervisor, uuid: &str) -> virt::domain::Domain {
    let xml = format!(
        "<domain type='test'><name>handles-{uuid}</name><uuid>{uuid}</uuid>\
         <memory>65536</memory><os><type>hvm</type></os></domain>"
    );
    let dom = hv.connection().define_domain_xml(&xml).expect("define");
    dom.create().expect("start");
    dom
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
    // (Other tests' domains of test:///default may be listed too.)
    assert!(
        has(&hv, TEST_UUID),
        "a poll keeps the handles of the domains it saw"
    );
    hv.stats_of(&[TEST_UUID.into()], crate::hypervisor::StatsGroups::CPU)
        .expect("stats_of");
    assert_eq!(
        hv.last_listed_stats().lookups,
        0,
        "stats_of uses the kept handle"
    );
}

#[test]
fn a_poll_drops_the_handles_of_domains_gone() {
    let hv = LibvirtHypervisor::open("test:///default", false).expect("open test:///default");
    const GONE: &str = "6695eb01-0000-4000-8000-00000000aa02";
    let dom = own_domain(&hv, GONE);
    hv.details(GONE).expect("details");
    hv.details(TEST_UUID).expect("details");
    assert_eq!(kept(&hv), 2);
    dom.destroy().expect("destroy");
    dom.undefine().expect("undefine");
    hv.poll(crate::hypervisor::StatsGroups::ALL).expect("poll");
    assert!(!has(&hv, GONE), "the handle of the domain gone is dropped");
    assert!(has(&hv, TEST_UUID));
}

#[test]
fn a_poll_keeps_the_handles_its_list_gave() {
    let hv = LibvirtHypervisor::open("test:///default", false).expect("open test:///default");
    for groups in [
        crate::hypervisor::StatsGroups::STATE,
        crate::hypervisor::StatsGroups::ALL,
    ] {
        hv.lock_handles().clear();
        hv.poll(groups).expect("poll");
        assert!(has(&hv, TEST_UUID), "{groups:?}: kept without a lookup");
        hv.stats_of(&[TEST_UUID.into()], crate::hypervisor::StatsGroups::CPU)
            .expect("stats_of");
        assert_eq!(hv.last_listed_stats().lookups, 0, "{groups:?}");
        // The handle from the list serves the per-domain calls.
        hv.details(TEST_UUID).expect("details");
        hv.memory_hard_limit(TEST_UUID).expect("memory parameters");
    }
}

#[test]
fn a_kept_handle_of_a_domain_gone_fails_as_no_domain() {
    let hv = LibvirtHypervisor::open("test:///default", false).expect("open test:///default");
    const TEST_UUID: &str = "6695eb01-0000-4000-8000-00000000aa01";
    let dom = own_domain(&hv, TEST_UUID);
    hv.details(TEST_UUID).expect("details");
    // Gone behind the adapter's back (another client).
    dom.destroy().expect("destroy");
    dom.undefine().expect("undefine");
    let err = hv.details(TEST_UUID).expect_err("gone");
    assert_eq!(err.kind, HvErrorKind::NoDomain, "{}", err.message);
    assert!(err.message.starts_with("details "), "{}", err.message);

    hv.poll(crate::hypervisor::StatsGroups::ALL).expect("poll");
    let err = hv.details(TEST_UUID).expect_err("still gone");
    assert_eq!(err.kind, HvErrorKind::NoDomain, "{}", err.message);
}
