//! Which VMs the engine acts on by itself (docs/ARCHITECTURE.md §1): the poller's facts for the
//! pure [`is_managed`] rule, shared by the engine, `plan`, `show` and the dashboard.

use crate::lifecycle::restart::is_managed;
use crate::poll::Vm;

/// True when the domain's XML carries a vmlife element (valid or not). `false` while its
/// XML has not been read: nothing is known to be vmlife's yet.
pub fn has_vmlife_element(v: &Vm) -> bool {
    v.meta.is_err()
        || v.details
            .as_ref()
            .is_some_and(|d| d.lifecycle_present || d.lifecycle_xml.is_some())
}

/// True when the engine's own initiatives (the restart policy) reach `v`.
pub fn vm_is_managed(v: &Vm, manage_all_vms: bool) -> bool {
    is_managed(has_vmlife_element(v), manage_all_vms)
}
