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

/// Where the image's directory cannot be read (a remote host's path, here a path that
/// does not exist on this machine), the room left comes from the storage pool that
/// holds the volume: the test driver's `default-pool`.
#[test]
fn disk_space_falls_back_to_the_volumes_storage_pool() {
    let hv = LibvirtHypervisor::open("test:///default", false).expect("open test:///default");
    let conn = hv.conn().unwrap();
    let pool = conn.lookup_storage_pool_by_name("default-pool").unwrap();
    let vol = virt::storage_vol::StorageVol::create_xml(
        &pool,
        "<volume><name>vmlife-space.img</name><capacity unit='MiB'>8</capacity></volume>",
        0,
    )
    .unwrap();
    let path = vol.path().unwrap();
    let space = hv.disk_space(&path).unwrap();
    let info = pool.info().unwrap();
    assert_eq!(space, node::pool_space_from(info.available, info.capacity));
    assert!(space.total_bytes >= space.free_bytes && space.total_bytes > 0);

    let err = hv.disk_space("/nonexistent-vmlife/none.img").unwrap_err();
    assert!(
        err.message.contains("storage pool: no volume"),
        "{}",
        err.message
    );
}

#[test]
fn pool_space_never_reports_more_free_than_total() {
    let s = node::pool_space_from(10, 4);
    assert_eq!((s.free_bytes, s.total_bytes), (10, 10));
}
