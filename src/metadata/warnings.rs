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
mod tests {
    use super::*;
    use crate::model::VmAutoStartConfig;

    #[test]
    fn warns_about_the_two_combinations_the_kcl_original_refused() {
        let mut m = LifecycleMeta::default();
        assert!(m.warnings().is_empty());
        m.persistence.mode = PersistenceMode::Temporary;
        assert!(m.warnings().is_empty());
        m.persistence.auto_start = true;
        assert_eq!(m.warnings().len(), 1);
        assert!(m.warnings()[0].starts_with("auto_start on a temporary VM"));
        // The autostart record decides when present.
        m.autostart = Some(VmAutoStartConfig {
            enabled: false,
            ..VmAutoStartConfig::default()
        });
        assert!(m.warnings().is_empty());
        m.persistence.force_cleanup = true;
        m.persistence.auto_cleanup = false;
        assert_eq!(
            m.warnings(),
            vec!["force_cleanup without auto_cleanup: no cleanup runs, so force_cleanup has no effect"]
        );
    }
}
