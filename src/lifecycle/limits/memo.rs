//! [`RefusalMemo`]: the tunables a driver refused, per VM and limit, so they are shown
//! once and not retried in a loop.

use std::collections::HashMap;

use super::{Declared, LimitKind};
use crate::model::Uuid;

/// Refusals per (VM, limit), each tied to the VM's declared size when it was met: a new
/// definition (another size, another set of disks) forgets it, so the limit is tried
/// again once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefusalMemo {
    map: HashMap<(Uuid, LimitKind), (Declared, String)>,
}

impl RefusalMemo {
    pub fn new() -> Self {
        Self::default()
    }

    /// Remember that `kind` was refused for `uuid` with `message`. True when this is
    /// news (not already remembered for this definition): the caller shows it then,
    /// and only then.
    pub fn remember(
        &mut self,
        uuid: &Uuid,
        kind: LimitKind,
        declared: &Declared,
        message: &str,
    ) -> bool {
        let key = (uuid.clone(), kind);
        if let Some((d, _)) = self.map.get(&key) {
            if d == declared {
                return false;
            }
        }
        self.map
            .insert(key, (declared.clone(), message.to_string()));
        true
    }

    /// The refusal remembered for `uuid`'s `kind` under this definition.
    pub fn get(&self, uuid: &Uuid, kind: LimitKind, declared: &Declared) -> Option<&str> {
        match self.map.get(&(uuid.clone(), kind)) {
            Some((d, msg)) if d == declared => Some(msg),
            _ => None,
        }
    }

    /// Forget what no longer holds: VMs not in `alive`, and refusals met under another
    /// definition than the VM's current one.
    pub fn prune<'a>(&mut self, alive: impl IntoIterator<Item = (&'a Uuid, &'a Declared)>) {
        let now: HashMap<&Uuid, &Declared> = alive.into_iter().collect();
        self.map
            .retain(|(uuid, _), (d, _)| now.get(uuid).is_some_and(|cur| *cur == d));
    }

    /// How many refusals are remembered.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when none is.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
#[path = "memo_tests.rs"]
mod tests;
