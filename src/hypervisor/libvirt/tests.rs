use super::bulk::stats_mask;
use super::*;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn hypervisor_is_send_sync() {
    assert_send_sync::<LibvirtHypervisor>();
}

#[test]
fn test_driver_file_only_for_local_node_files() {
    assert_eq!(
        test_driver_file("test:///tmp/node.xml"),
        Some("/tmp/node.xml")
    );
    assert_eq!(
        test_driver_file("test:///tmp/node.xml?x=1"),
        Some("/tmp/node.xml")
    );
    assert_eq!(test_driver_file("test:///default"), None);
    assert_eq!(test_driver_file("test+unix:///default"), None);
    assert_eq!(test_driver_file("qemu:///system"), None);
    assert_eq!(test_driver_file("test://host/x"), None);
}

#[test]
fn stats_mask_per_group() {
    assert_eq!(stats_mask(StatsGroups::STATE), 0);
    assert_eq!(
        stats_mask(StatsGroups::ALL),
        sys::VIR_DOMAIN_STATS_CPU_TOTAL
            | sys::VIR_DOMAIN_STATS_BALLOON
            | sys::VIR_DOMAIN_STATS_BLOCK
            | sys::VIR_DOMAIN_STATS_VCPU
    );
    assert_eq!(
        stats_mask(StatsGroups {
            balloon: true,
            ..StatsGroups::STATE
        }),
        sys::VIR_DOMAIN_STATS_BALLOON
    );
}

#[test]
fn undefine_ladder_always_keeps_managed_save_and_snapshots() {
    for flags in UNDEFINE_LADDER {
        assert_ne!(flags & sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE, 0);
        assert_ne!(flags & sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA, 0);
        assert_eq!(flags & sys::VIR_DOMAIN_UNDEFINE_KEEP_NVRAM, 0);
    }
}
