//! What the planner knows about one VM: plain data, built by the poller from a snapshot.

use crate::metadata::{LifecycleMeta, MetaError};
use crate::model::{Uuid, VmState};

/// One VM as the planner sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct VmFacts {
    pub uuid: Uuid,
    pub name: String,
    pub state: VmState,
    /// Has a running process (running, paused, starting, stopping).
    pub active: bool,
    /// Its vmlife settings, or why they are invalid (then it is never acted on).
    pub meta: Result<LifecycleMeta, MetaError>,
    /// Unix seconds when vmlife first saw it (stands in for a missing `created_at_unix`).
    pub first_seen_unix: i64,
}
