//! Combinations of settings that are valid but probably not meant: shown as warnings
//! (`show`, `plan`, the detail pane), never refused. The contracts' KCL original
//! refused both; the Nickel contract, which the project follows, accepts them.

use super::LifecycleMeta;
use crate::model::PersistenceMode;

impl LifecycleMeta {
    /// One line per questionable combination, in a fixed order; empty when none.
    pub fn warnings(&self) -> Vec<String> {
        let p = &self.persistence;
        let mut out = Vec::new();
        let autostart = self.autostart.as_ref().map_or(p.auto_start, |a| a.enabled);
        if p.mode == PersistenceMode::Temporary && autostart {
            out.push(
                "auto_start on a temporary VM: it is started at host boot until its TTL ends"
                    .to_string(),
            );
        }
        if p.force_cleanup && !p.auto_cleanup {
            out.push(
                "force_cleanup without auto_cleanup: no cleanup runs, so force_cleanup has no \
                 effect"
                    .to_string(),
            );
        }
        out
    }
}

#[cfg(test)]
#[path = "warnings_tests.rs"]
mod tests;
