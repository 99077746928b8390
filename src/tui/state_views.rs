//! Views of the dashboard's state that several places read: the marked VMs, the
//! alerts shown (kept out of `state.rs`, which holds the fields).

use std::collections::BTreeSet;

use super::state::State;
use crate::poll::Vm;

impl State {
    /// The marked VMs that still exist: in the table's order, then those a filter
    /// hides.
    pub fn marked(&self) -> Vec<&Vm> {
        if self.marks.is_empty() {
            return Vec::new();
        }
        let shown: BTreeSet<usize> = self.rows.iter().copied().collect();
        let marked = |v: &&Vm| self.marks.contains(&v.key);
        let mut out: Vec<&Vm> = self
            .rows
            .iter()
            .filter_map(|&i| self.vms.get(i))
            .filter(marked)
            .collect();
        out.extend(
            self.vms
                .iter()
                .enumerate()
                .filter(|(i, _)| !shown.contains(i))
                .map(|(_, v)| v)
                .filter(marked),
        );
        out
    }

    /// The alerts the alerts view shows, newest first: every VM's, or the one
    /// `alerts_of_vm` names.
    pub fn alerts_shown(&self) -> Vec<&crate::engine::state_files::Alert> {
        self.cleanup
            .iter()
            .flat_map(|c| c.alerts.iter())
            .filter(|a| self.alerts_of_vm.as_ref().is_none_or(|u| *u == a.vm_id))
            .collect()
    }
}
