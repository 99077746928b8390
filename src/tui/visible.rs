//! Which VMs are on screen: the poller asks figures (and reads the XML first) of these
//! only. A pure function of the state, like the table's drawing.

use super::layout;
use super::state::State;
use crate::model::Uuid;

/// What the poller should know of the screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InView {
    /// The selected VM (its addresses are refreshed every poll).
    pub focus: Option<Uuid>,
    /// The VMs on the table's rows, top to bottom, and the selected one.
    pub rows: Vec<Uuid>,
}

/// The VMs of host 0 the table shows at this size, scroll and filter, and the
/// selected one.
pub fn in_view(s: &State) -> InView {
    in_view_of(s, 0)
}

/// [`in_view`] for host `host`: its VMs on screen (their UUIDs, as its poller knows
/// them), and the selected one when it is that host's.
pub fn in_view_of(s: &State, host: u16) -> InView {
    let viewport = layout::table_viewport(s.size, s.show_detail, s.strip_lines()) as usize;
    let start = layout::offset(s.selected_row(), viewport);
    let mut rows: Vec<Uuid> = s
        .rows
        .iter()
        .skip(start)
        .take(viewport)
        .filter_map(|&i| s.vms.get(i))
        .filter(|v| v.host == host)
        .map(|v| v.uuid.clone())
        .collect();
    let focus = s
        .selected_vm()
        .filter(|v| v.host == host)
        .map(|v| v.uuid.clone());
    if let Some(f) = &focus {
        if !rows.contains(f) {
            rows.push(f.clone());
        }
    }
    InView { focus, rows }
}
