use super::*;
use crate::hypervisor::fake::{running, FakeHypervisor};
use crate::hypervisor::NodeMemory;

#[test]
fn node_memory_available_is_free_buffers_and_cached() {
    let fake = FakeHypervisor::new();
    fake.set_node_memory(Some(NodeMemory {
        total_kib: 1000,
        free_kib: 100,
        buffers_kib: 20,
        cached_kib: 30,
    }));
    let n = fake.node_memory().unwrap();
    assert_eq!(n.available_kib(), 150);
}

#[test]
fn disk_errors_are_read_only_for_vms_paused_on_an_io_error() {
    let fake = FakeHypervisor::new();
    fake.put(running("a", "a"));
    fake.put(running("b", "b"));
    fake.fill_disk("b", "vdb");
    let hv: std::sync::Arc<FakeHypervisor> = std::sync::Arc::new(fake);
    let mut p = crate::poll::Poller::new(hv.clone(), crate::poll::PollerOptions::default());
    let views = p.poll(chrono::Utc::now()).unwrap();
    let r = read(hv.as_ref(), &views, &BTreeSet::new());
    assert_eq!(r.no_space("b"), Some("vdb"));
    assert_eq!(r.no_space("a"), None);
    assert!(!hv.calls().iter().any(|c| c == "disk_errors a"));
    assert!(r.memory.is_some());
}
